// POST /email/withTemplate and POST /email/batchWithTemplates: a TemplatedMessage is an ordinary
// Message whose Subject and bodies come from a template. Each is translated here — template
// fields read, the template rendered by the templates domain, the result validated as a Message
// — and then accepted exactly as POST /email and /email/batch accept theirs.
import type { FastifyInstance } from "fastify";
import type { PosthornError } from "../../shared/errors.js";
import { isPosthornError } from "../../shared/errors.js";
import { structuredSubmission, type Submission } from "../../messages/accept/submission.js";
import type { AcceptOutcome } from "../../messages/accept/accept.service.js";
import { validateMessage } from "../../messages/message.validation.js";
import type { MessageDraft } from "../../messages/message.types.js";
import type { SendRequest } from "../../templates/templates.service.js";
import { TemplateNotFound } from "../../templates/templates.errors.js";
import { parsePostmarkMessage } from "./message.parser.js";
import { InvalidRequest, TooManyBatchMessages } from "./postmark.edge-errors.js";
import type { PostmarkApiDeps } from "./postmark.plugin.js";
import { BATCH_BODY_BYTES, MESSAGE_BODY_BYTES } from "./request-limits.js";
import { failureResult, sendResult, type SendResult } from "./email.routes.js";
import { objectBody, templatedFields } from "./template.mapper.js";

const MAX_BATCH_MESSAGES = 500;

interface Parsed {
  draft: MessageDraft;
  request: SendRequest;
}

export async function templatedEmailRoutes(app: FastifyInstance, deps: PostmarkApiDeps): Promise<void> {
  app.post("/email/withTemplate", { bodyLimit: MESSAGE_BODY_BYTES }, async (request) => {
    const parsed = parseTemplated(request.body);
    const workspace = request.workspace;
    if (!workspace) throw noTemplatesForTestToken();
    const [content] = await deps.templates.renderForSending(workspace.id, [parsed.request]);
    return sendResult(await deps.accept.acceptOne(workspace, submissionOf(parsed.draft, content!)));
  });

  app.post("/email/batchWithTemplates", { bodyLimit: BATCH_BODY_BYTES }, async (request) => {
    const messages = objectBody(request.body).Messages;
    if (!Array.isArray(messages)) throw InvalidRequest("The request body must be a JSON object with 'Messages', an array of templated messages.");
    if (messages.length > MAX_BATCH_MESSAGES) {
      throw TooManyBatchMessages(`Too many messages in one batch: ${messages.length}; the limit is ${MAX_BATCH_MESSAGES}.`);
    }
    const workspace = request.workspace;
    const results: SendResult[] = new Array(messages.length);
    const parsed: Array<{ index: number } & Parsed> = [];
    for (const [index, item] of messages.entries()) {
      try {
        if (!workspace) throw noTemplatesForTestToken();
        parsed.push({ index, ...parseTemplated(item) });
      } catch (err) {
        results[index] = failureResult(err);
      }
    }
    if (!workspace || parsed.length === 0) return results;
    const contents = await deps.templates.renderForSending(workspace.id, parsed.map((p) => p.request));
    const valid: Array<{ index: number; submission: Submission }> = [];
    parsed.forEach((p, i) => {
      try {
        valid.push({ index: p.index, submission: submissionOf(p.draft, contents[i]!) });
      } catch (err) {
        results[p.index] = failureResult(err);
      }
    });
    const outcomes: AcceptOutcome[] = valid.length > 0 ? await deps.accept.acceptMany(workspace, valid.map((v) => v.submission)) : [];
    outcomes.forEach((outcome, i) => {
      results[valid[i]!.index] = outcome.ok ? sendResult(outcome) : failureResult(outcome.error);
    });
    return results;
  });
}

function parseTemplated(body: unknown): Parsed {
  const fields = templatedFields(body);
  return { draft: parsePostmarkMessage(body), request: { ref: fields.ref, model: fields.model, inlineCss: fields.inlineCss } };
}

/** The rendered template becomes the Message's Subject and bodies; then it is an ordinary Message. */
function submissionOf(draft: MessageDraft, content: { subject: string; htmlBody: string | null; textBody: string | null } | PosthornError): Submission {
  if (isPosthornError(content)) throw content;
  return structuredSubmission(validateMessage({ ...draft, subject: content.subject, htmlBody: content.htmlBody, textBody: content.textBody }));
}

/** The test token owns no data, so it has no templates to send with. */
function noTemplatesForTestToken(): PosthornError {
  return TemplateNotFound("The test token POSTMARK_API_TEST has no templates; send with a server token.");
}
