// Postmark's Sender Signatures API (account token): /senders and its resend, verifySpf and
// requestNewDkim calls, in the shapes of the official client 5.1.0 (models/senders/Signature.d.ts).
// A signature's details carry its domain's DNS fields (SignatureDetails extends DomainDetails),
// taken from the sending domain of the same name (see src/senders/README.md).
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { SenderSignature, SenderSignatureDetails, SendersService } from "../../senders/senders.service.js";
import { SenderInvalid } from "../../senders/senders.errors.js";
import { toDomainDetails } from "./domains.routes.js";

export interface SendersRoutesDeps {
  senders: SendersService;
}

/** Postmark: "count … Max 500". */
const MAX_COUNT = 500;
const DEFAULT_COUNT = 100;
/** Offsets past this are refused rather than scanned (no account holds this many signatures). */
const MAX_OFFSET = 1_000_000;

/** The plugin for accountPlugin's `routes` (HttpServerDeps.accountRoutes). */
export function sendersRoutes(deps: SendersRoutesDeps): (app: FastifyInstance) => Promise<void> {
  const { senders } = deps;
  return async (app) => {
    app.get("/senders", async (request) => {
      const q = request.query as Record<string, unknown>;
      const count = intParam(q, "count", DEFAULT_COUNT);
      const offset = intParam(q, "offset", 0);
      if (count < 1 || count > MAX_COUNT) throw SenderInvalid(`'count' must be between 1 and ${MAX_COUNT}.`);
      if (offset > MAX_OFFSET) throw SenderInvalid(`'offset' must be at most ${MAX_OFFSET}.`);
      const page = await senders.list({ count, offset });
      return { TotalCount: page.total, SenderSignatures: page.signatures.map(toSignature) };
    });

    app.get("/senders/:id", async (request) => toSignatureDetails(await senders.get(senderId(request))));

    app.post("/senders", async (request) => {
      const body = objectBody(request);
      return toSignatureDetails(
        await senders.create({ fromEmail: body.FromEmail, name: body.Name, replyTo: body.ReplyToEmail, returnPathDomain: body.ReturnPathDomain, note: body.ConfirmationPersonalNote }, { requestId: request.id }),
      );
    });

    app.put("/senders/:id", async (request) => {
      const id = senderId(request);
      const body = objectBody(request);
      return toSignatureDetails(await senders.update(id, { name: body.Name, replyTo: body.ReplyToEmail, returnPathDomain: body.ReturnPathDomain, note: body.ConfirmationPersonalNote }));
    });

    app.delete("/senders/:id", async (request) => {
      const email = await senders.delete(senderId(request), { requestId: request.id });
      return { ErrorCode: 0, Message: `Signature ${email} removed.` };
    });

    // The client sends these three with an empty JSON body (reference §1.1); json-body.ts parses it as {}.
    app.post("/senders/:id/resend", async (request) => {
      const signature = await senders.resend(senderId(request));
      return { ErrorCode: 0, Message: `Confirmation email for Sender Signature ${signature.email} was re-sent.` };
    });
    app.post("/senders/:id/verifySpf", async (request) => toSignatureDetails(await senders.verifySpf(senderId(request))));
    app.post("/senders/:id/requestNewDkim", async (request) => toSignatureDetails(await senders.requestNewDkim(senderId(request))));
  };
}

function toSignature(s: SenderSignature) {
  return { ID: s.id, Name: s.name, Confirmed: s.confirmed, Domain: s.domain, EmailAddress: s.email, ReplyToEmailAddress: s.replyTo };
}

function toSignatureDetails(s: SenderSignatureDetails) {
  // Without a sending domain (deleted since) the DNS fields are empty and nothing is verified.
  const dns = s.sendingDomain ? toDomainDetails(s.sendingDomain) : EMPTY_DNS;
  return { ...dns, ...toSignature(s), ConfirmationPersonalNote: s.confirmationNote, ConfirmedAt: s.confirmedAt === null ? null : new Date(s.confirmedAt).toISOString() };
}

const EMPTY_DNS = {
  SPFVerified: false,
  DKIMVerified: false,
  WeakDKIM: false,
  ReturnPathDomainVerified: false,
  SPFHost: "",
  SPFTextValue: "",
  DKIMHost: "",
  DKIMTextValue: "",
  DKIMPendingHost: "",
  DKIMPendingTextValue: "",
  DKIMRevokedHost: "",
  DKIMRevokedTextValue: "",
  SafeToRemoveRevokedKeyFromDNS: false,
  DKIMUpdateStatus: "Pending",
  ReturnPathDomain: "",
  ReturnPathDomainCNAMEValue: "",
};

/** IDs are positive whole numbers; anything else is a bad request, not an unknown signature. */
function senderId(request: FastifyRequest): number {
  const { id } = request.params as { id: string };
  if (!/^\d{1,15}$/.test(id) || Number(id) < 1) throw SenderInvalid(`The sender signature ID must be a positive whole number; got '${id.slice(0, 30)}'.`);
  return Number(id);
}

function objectBody(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw SenderInvalid("The request body must be a JSON object.");
  return body as Record<string, unknown>;
}

function intParam(q: Record<string, unknown>, key: string, fallback: number): number {
  const raw = Array.isArray(q[key]) ? (q[key] as unknown[])[0] : q[key];
  if (raw === undefined || raw === "") return fallback;
  if (typeof raw !== "string" || !/^\d{1,9}$/.test(raw)) throw SenderInvalid(`'${key}' must be a whole number.`);
  return Number(raw);
}
