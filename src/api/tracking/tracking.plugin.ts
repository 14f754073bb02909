// The tracking edge, on the API listener without Postmark's authentication (a mail client or a
// browser fetches these, not an application):
//
//   GET  /t/o/<token>  the open pixel: a 1×1 transparent GIF, never cached; for a person's open
//                      (not a proxy's) one that keeps loading to measure read time (read-timer.ts)
//   GET  /t/c/<token>  a tracked link: 302 to the original URL the token carries, signed
//   GET  /t/u/<token>  an unsubscribe link opened in a browser: a page whose button POSTs
//   POST /t/u/<token>  RFC 8058 one-click unsubscribe (or that button): done at once, 200
//
// A token that is not ours exactly — forged, altered, cut, or for a message no longer stored —
// gets the same plain 404 page, which repeats nothing of the request: there is no open redirect
// and no reflected input. Each answer says not to cache it, so every open reaches us.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { TrackingService } from "../../tracking/tracking.service.js";
import { MAX_TOKEN_CHARS } from "../../tracking/tracking-tokens.js";
import { ReadTimer } from "./read-timer.js";

export interface TrackingEdgeDeps {
  tracking: TrackingService;
  readTime: { seconds: number; holdMax: number };
}

/** A transparent 1×1 GIF (42 bytes). */
const PIXEL = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");
const NOT_FOUND_PAGE = page("Not found", "<p>This link is not valid.</p>");
const UNSUBSCRIBED_PAGE = page("Unsubscribed", "<p>You have been unsubscribed. You will receive no more of these messages.</p>");
/** Bodies of a one-click POST are "List-Unsubscribe=One-Click" (RFC 8058 §3.1), form-encoded or multipart. */
const MAX_POST_BODY_BYTES = 4096;

export async function trackingPlugin(app: FastifyInstance, deps: TrackingEdgeDeps): Promise<void> {
  // The POST's body says nothing we need; whatever form it takes is read (within a small limit) and ignored.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: MAX_POST_BODY_BYTES }, (_request, _body, done) => done(null, null));
  app.setErrorHandler((err, _request, reply) => {
    const status = (err as { statusCode?: number }).statusCode;
    const client = status !== undefined && status >= 400 && status < 500;
    if (!client) app.log.error({ event: "http.request.failed", err }, "tracking request failed");
    return reply.code(client ? status : 500).header("cache-control", "no-store").type("text/plain; charset=utf-8").send(client ? "Bad request.\n" : "Internal error.\n");
  });

  const reads = new ReadTimer({
    maxSeconds: deps.readTime.seconds,
    maxHeld: deps.readTime.holdMax,
    record: (openId, seconds, capped) => deps.tracking.recordReadTime(openId, seconds, capped),
    onError: (err) => app.log.error({ event: "tracking.read-time.failed", err }, "recording a read time failed"),
  });
  // Held pixels end before the listener closes, each with the time it had.
  app.addHook("preClose", async () => reads.stopAll());

  // Fastify answers HEAD with the GET route; a HEAD (a link checker, a prefetcher asking for
  // headers) is answered alike but records nothing: it is nobody reading.
  app.get("/t/o/*", async (request, reply) => {
    const token = tokenOf(request);
    if (request.method === "HEAD") {
      if (deps.tracking.inspect(token ?? "")?.kind !== "open") return notFound(reply);
      return noCache(reply).type("image/gif").send(PIXEL);
    }
    const open = token === null ? null : await deps.tracking.recordOpenRead(token, fetcher(request));
    if (!open) return notFound(reply);
    if (open.proxied || !reads.canHold()) return noCache(reply).type("image/gif").send(PIXEL);
    reads.hold(reply, open.openId, NO_CACHE_HEADERS);
    return reply;
  });

  app.get("/t/c/*", async (request, reply) => {
    const token = tokenOf(request);
    const url = request.method === "HEAD" ? clickTarget(deps.tracking, token) : token ? await deps.tracking.recordClick(token, fetcher(request)) : null;
    if (!url) return notFound(reply);
    return noCache(reply).header("referrer-policy", "no-referrer").redirect(url, 302);
  });

  app.get("/t/u/*", async (request, reply) => {
    const token = tokenOf(request);
    if (!token || !(await deps.tracking.unsubscribeTarget(token))) return notFound(reply);
    // The form posts back to this very URL; the page names no address (whoever holds the link
    // could read it) and loads nothing from elsewhere.
    const body = page("Unsubscribe", `<p>Unsubscribe from these messages?</p><form method="post"><button type="submit">Unsubscribe</button></form>`);
    return noCache(reply).header("content-security-policy", "default-src 'none'; form-action 'self'; style-src 'unsafe-inline'").type("text/html; charset=utf-8").send(body);
  });

  // Any other path under /t/ (an empty token, an unknown kind) is the same plain 404, not an API error.
  app.get("/t/*", async (_request, reply) => notFound(reply));
  app.post("/t/*", async (_request, reply) => notFound(reply));

  app.post("/t/u/*", async (request, reply) => {
    const token = tokenOf(request);
    if (!token || !(await deps.tracking.unsubscribe(token))) return notFound(reply);
    return noCache(reply).header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'").type("text/html; charset=utf-8").send(UNSUBSCRIBED_PAGE);
  });
}

function clickTarget(tracking: TrackingService, token: string | null): string | null {
  const claim = token ? tracking.inspect(token) : null;
  return claim?.kind === "click" ? claim.url : null;
}

function tokenOf(request: FastifyRequest): string | null {
  const token = (request.params as { "*": string })["*"];
  return token && token.length <= MAX_TOKEN_CHARS ? token : null;
}

function fetcher(request: FastifyRequest) {
  return { userAgent: request.headers["user-agent"], ip: request.ip ?? null };
}

const NO_CACHE_HEADERS: Record<string, string> = { "cache-control": "no-cache, no-store, must-revalidate, private, max-age=0", pragma: "no-cache", expires: "0" };

function noCache(reply: FastifyReply): FastifyReply {
  return reply.headers(NO_CACHE_HEADERS);
}

function notFound(reply: FastifyReply): FastifyReply {
  return noCache(reply).code(404).type("text/html; charset=utf-8").send(NOT_FOUND_PAGE);
}

function page(title: string, content: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><meta name="robots" content="noindex"><title>${title}</title><style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}</style></head><body><h1>${title}</h1>${content}</body></html>\n`;
}
