// POST /email/bulk and GET /email/bulk/{id}: Postmark's bulk sends. The request is checked whole
// before it is stored (every recipient's addresses, the shared content, the template), so a 200
// means every recipient will be attempted; what can fail only per recipient later (an inactive
// address, a model the template cannot render) is counted in the send's progress.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { randomUUID } from "node:crypto";
import { isPosthornError, PosthornError } from "../../shared/errors.js";
import { MESSAGE_INVALID } from "../../messages/messages.errors.js";
import { validateMessage } from "../../messages/message.validation.js";
import type { MessageDraft } from "../../messages/message.types.js";
import { structuredSubmission, type Submission } from "../../messages/accept/submission.js";
import type { BulkRecipient, BulkRequest, BulkSend, BulkState } from "../../bulk/bulk.types.js";
import { parsePostmarkMessage } from "./message.parser.js";
import { InvalidRequest } from "./postmark.edge-errors.js";
import type { PostmarkApiDeps } from "./postmark.plugin.js";
import { requireWorkspace } from "./query-params.js";
import { BATCH_BODY_BYTES } from "./request-limits.js";

type Json = Record<string, unknown>;

const STATUS: Record<BulkState, string> = { accepted: "Accepted", processing: "Processing", completed: "Completed", failed: "Failed" };

export async function bulkRoutes(app: FastifyInstance, deps: PostmarkApiDeps): Promise<void> {
  app.post("/email/bulk", { bodyLimit: BATCH_BODY_BYTES }, async (request) => {
    const bulk = parseBulkRequest(request.body, (submission) => void deps.accept.check(submission));
    const workspace = request.workspace;
    // The test token validates and stores nothing, as with /email.
    if (!workspace) return { Id: randomUUID(), Status: "Accepted", SubmittedAt: new Date().toISOString() };
    const send = await deps.bulk.submit(workspace, bulk);
    return { Id: send.id, Status: STATUS[send.state], SubmittedAt: new Date(send.createdAt).toISOString() };
  });

  app.get("/email/bulk/:id", async (request: FastifyRequest) => {
    const workspace = requireWorkspace(request);
    const { id } = request.params as { id: string };
    return toStatus(await deps.bulk.status(workspace, id));
  });
}

function toStatus(send: BulkSend): Json {
  return {
    Id: send.id,
    SubmittedAt: new Date(send.createdAt).toISOString(),
    TotalMessages: send.total,
    // Two decimals: a client polling a large send sees it move.
    PercentageCompleted: send.total === 0 ? 100 : Math.floor((send.done / send.total) * 10_000) / 100,
    Status: STATUS[send.state],
    Subject: send.subject,
  };
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The request in our words, or the first error found (Postmark 300, naming the recipient). */
export function parseBulkRequest(body: unknown, check: (submission: Submission) => void): BulkRequest {
  if (!isObject(body)) throw InvalidRequest("The request body must be a JSON object (a Postmark bulk request).");
  const { Messages: messages, TemplateId: templateId, TemplateAlias: templateAlias, InlineCss: inlineCss, TemplateModel: _ignored, ...shared } = body;
  if (!Array.isArray(messages) || messages.length === 0) throw MESSAGE_INVALID("'Messages' must be a non-empty array of recipients.", { field: "Messages" });
  if (templateId !== undefined && templateId !== null && (typeof templateId !== "number" || !Number.isSafeInteger(templateId))) {
    throw MESSAGE_INVALID("'TemplateId' must be a whole number.", { field: "TemplateId" });
  }
  if (templateAlias !== undefined && templateAlias !== null && typeof templateAlias !== "string") {
    throw MESSAGE_INVALID("'TemplateAlias' must be a string.", { field: "TemplateAlias" });
  }
  if (inlineCss !== undefined && inlineCss !== null && typeof inlineCss !== "boolean") {
    throw MESSAGE_INVALID("'InlineCss' must be true or false.", { field: "InlineCss" });
  }
  const template = typeof templateId === "number" || typeof templateAlias === "string" ? { id: typeof templateId === "number" ? templateId : null, alias: typeof templateAlias === "string" ? templateAlias : null } : null;
  const draft: MessageDraft = { ...parsePostmarkMessage(shared), to: null, cc: null, bcc: null };
  if (template && (draft.subject !== null || draft.htmlBody !== null || draft.textBody !== null)) {
    throw MESSAGE_INVALID("A bulk request names either a template (TemplateId or TemplateAlias) or its own Subject and bodies, not both.");
  }
  if (!template && draft.htmlBody === null && draft.textBody === null) throw MESSAGE_INVALID("Provide either a TemplateId/TemplateAlias or an HtmlBody or TextBody.");
  // The shared fields alone (From, Reply-To, headers, attachments), with a stand-in recipient, so
  // an error in them is reported once rather than as every recipient's.
  check(structuredSubmission(validateMessage({ ...draft, to: "recipient@example.com", subject: template ? "-" : draft.subject, textBody: template ? "-" : draft.textBody })));
  const recipients = messages.map((m, i) => parseRecipient(m, i, draft, template !== null, check));
  return { content: { draft, template, inlineCss: inlineCss !== false }, recipients };
}

function parseRecipient(value: unknown, index: number, shared: MessageDraft, templated: boolean, check: (submission: Submission) => void): BulkRecipient {
  const at = `Messages[${index}]`;
  try {
    if (!isObject(value)) throw MESSAGE_INVALID("must be an object with To.");
    const model = value.TemplateModel ?? {};
    if (!isObject(model)) throw MESSAGE_INVALID("'TemplateModel' must be an object.");
    const own = parsePostmarkMessage({ To: value.To, Cc: value.Cc, Bcc: value.Bcc, Metadata: value.Metadata, Headers: value.Headers });
    if (own.to === null) throw MESSAGE_INVALID("'To' is required.");
    // The recipient's message as it will be built, with the shared content unrendered (or
    // stand-ins when a template brings it), checked now as acceptance will check it: addresses,
    // headers, metadata, the number of recipients.
    const message = validateMessage({
      ...shared,
      to: own.to,
      cc: own.cc,
      bcc: own.bcc,
      subject: templated ? "-" : shared.subject,
      textBody: templated ? "-" : shared.textBody,
      metadata: { ...shared.metadata, ...own.metadata },
      headers: [...shared.headers, ...own.headers],
    });
    check(structuredSubmission(message));
    return { to: own.to, cc: own.cc, bcc: own.bcc, model, metadata: own.metadata, headers: own.headers };
  } catch (err) {
    if (isPosthornError(err)) throw new PosthornError(err.code, `${at}: ${err.message}`, { ...err.details, recipient: index });
    throw err;
  }
}
