// The page a sender-signature confirmation link opens (no token: the link is the credential).
// GET only shows the address and a button; the POST the button makes confirms. Mail scanners and
// link previews fetch links with GET, so a GET that confirmed would confirm addresses nobody
// looked at. A link that was not made by us (forged, altered, of a deleted signature) gets a plain
// 404, the same as a path that does not exist, so the page tells a prober nothing. The page never
// redirects, and shows nothing the request supplied.
import type { FastifyInstance, FastifyReply } from "fastify";
import type { SendersService } from "../../senders/senders.service.js";
import { CONFIRMATION_PATH_PREFIX } from "../../senders/confirmation-link.js";
import { escapeHtml } from "../../senders/confirmation-mail.js";

export interface SenderConfirmationDeps {
  senders: Pick<SendersService, "fromLink" | "confirm">;
}

/** The form posts no fields; anything larger than this is not our form. */
const FORM_BODY_LIMIT_BYTES = 1024;

const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  // No script, no outside resources, posted only to us, never inside another site's frame (a
  // framed button could be clicked by a visitor of that site).
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
};

/** Registered at the top of the HTTP server, outside the Postmark plugins and their tokens. */
export function senderConfirmationRoutes(deps: SenderConfirmationDeps): (app: FastifyInstance) => Promise<void> {
  return async (app) => {
    app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string", bodyLimit: FORM_BODY_LIMIT_BYTES }, (_request, _body, done) => done(null, {}));
    // A request we cannot read (a body that is not our empty form) is answered like a bad link; a
    // failure of ours is a 500, logged, never a page that could be mistaken for a confirmation.
    app.setErrorHandler((err, request, reply) => {
      const status = (err as { statusCode?: number }).statusCode;
      if (status !== undefined && status >= 400 && status < 500) return notFound(reply);
      request.log.error({ event: "http.request.failed", err }, "sender confirmation page failed");
      return reply.code(500).headers({ "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }).send("Internal Server Error");
    });
    const path = `${CONFIRMATION_PATH_PREFIX}/:id/:mac`;

    app.get(path, async (request, reply) => {
      const { id, mac } = request.params as { id: string; mac: string };
      const signature = await deps.senders.fromLink(Number(id), mac.toLowerCase());
      if (!signature) return notFound(reply);
      if (signature.confirmed) return page(reply, "Sender confirmed", `<p><strong>${escapeHtml(signature.email)}</strong> is confirmed as a sender.</p>`);
      return page(
        reply,
        "Confirm sender",
        `<p>Allow mail to be sent as <strong>${escapeHtml(signature.email)}</strong>?</p>` +
          // An empty action posts back to this very URL.
          `<form method="post" action=""><button type="submit">Confirm</button></form>`,
      );
    });

    app.post(path, async (request, reply) => {
      const { id, mac } = request.params as { id: string; mac: string };
      const signature = await deps.senders.confirm(Number(id), mac.toLowerCase());
      if (!signature) return notFound(reply);
      return page(reply, "Sender confirmed", `<p><strong>${escapeHtml(signature.email)}</strong> is confirmed as a sender. You can close this page.</p>`);
    });
  };
}

function page(reply: FastifyReply, title: string, body: string): FastifyReply {
  return reply
    .code(200)
    .headers(PAGE_HEADERS)
    .send(`<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title>` +
      `<style>body{font-family:sans-serif;max-width:32em;margin:4em auto;padding:0 1em}button{font-size:1.1em;padding:.5em 1.5em}</style>` +
      `</head><body><h1>${title}</h1>${body}</body></html>`);
}

function notFound(reply: FastifyReply): FastifyReply {
  return reply.code(404).headers({ "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }).send("Not Found");
}
