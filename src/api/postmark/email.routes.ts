// POST /email and POST /email/batch: Postmark's sending calls.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { randomUUID } from "node:crypto";
import { PosthornError } from "../../shared/errors.js";
import type { Accepted, AcceptOutcome } from "../../messages/accept/accept.service.js";
import { structuredSubmission, type Submission } from "../../messages/accept/submission.js";
import { partlyInactiveMessage } from "../../messages/accept.errors.js";
import type { Address } from "../../messages/message.types.js";
import { formatMailbox } from "../../messages/addresses.js";
import { validateMessage } from "../../messages/message.validation.js";
import { parsePostmarkMessage } from "./message.parser.js";
import { InvalidRequest, TooManyBatchMessages } from "./postmark.edge-errors.js";
import { postmarkErrorCode } from "./postmark.errors.js";
import type { PostmarkApiDeps } from "./postmark.plugin.js";
import { BATCH_BODY_BYTES, MESSAGE_BODY_BYTES } from "./request-limits.js";

const MAX_BATCH_MESSAGES = 500;

export type SendResult = Record<string, unknown> & { ErrorCode: number; Message: string };

export async function emailRoutes(app: FastifyInstance, deps: PostmarkApiDeps): Promise<void> {
  app.post("/email", { bodyLimit: MESSAGE_BODY_BYTES }, async (request) => {
    const submission = structuredSubmission(validateMessage(parsePostmarkMessage(request.body)));
    const workspace = request.workspace;
    if (!workspace) return testModeResult(deps, submission);
    return sendResult(await deps.accept.acceptOne(workspace, submission));
  });

  app.post("/email/batch", { bodyLimit: BATCH_BODY_BYTES }, async (request: FastifyRequest) => {
    const body = request.body;
    if (!Array.isArray(body)) throw InvalidRequest("The request body must be a JSON array of messages.");
    if (body.length > MAX_BATCH_MESSAGES) {
      throw TooManyBatchMessages(`Too many messages in one batch: ${body.length}; the limit is ${MAX_BATCH_MESSAGES}.`);
    }
    const results: SendResult[] = new Array(body.length);
    const valid: Array<{ index: number; submission: Submission }> = [];
    for (const [index, item] of body.entries()) {
      try {
        valid.push({ index, submission: structuredSubmission(validateMessage(parsePostmarkMessage(item))) });
      } catch (err) {
        results[index] = failureResult(err);
      }
    }
    const workspace = request.workspace;
    if (!workspace) {
      for (const { index, submission } of valid) {
        try {
          results[index] = testModeResult(deps, submission);
        } catch (err) {
          results[index] = failureResult(err);
        }
      }
      return results;
    }
    const outcomes: AcceptOutcome[] = await deps.accept.acceptMany(workspace, valid.map((v) => v.submission));
    outcomes.forEach((outcome, i) => {
      results[valid[i]!.index] = outcome.ok ? sendResult(outcome) : failureResult(outcome.error);
    });
    return results;
  });
}

export function sendResult(accepted: Accepted): SendResult {
  return {
    To: joinAddresses(accepted.to),
    ...(accepted.cc.length > 0 ? { Cc: joinAddresses(accepted.cc) } : {}),
    ...(accepted.bcc.length > 0 ? { Bcc: joinAddresses(accepted.bcc) } : {}),
    SubmittedAt: new Date(accepted.submittedAt).toISOString(),
    MessageID: accepted.messageId,
    ErrorCode: 0,
    Message: accepted.suppressed.length > 0 ? partlyInactiveMessage(accepted.suppressed) : "OK",
  };
}

/** The test token validates the message (acceptance's content rules included) and answers as if accepted, storing nothing. */
function testModeResult(deps: PostmarkApiDeps, submission: Submission): SendResult {
  const view = deps.accept.check(submission);
  // Postmark's own answer to its test token says what happened: nothing was sent.
  return { ...sendResult({ ok: true, messageId: randomUUID(), submittedAt: Date.now(), to: view.to, cc: view.cc, bcc: view.bcc, suppressed: [] }), Message: "Test job accepted" };
}

export function failureResult(err: unknown): SendResult {
  if (err instanceof PosthornError) return { ErrorCode: postmarkErrorCode(err), Message: err.message };
  throw err;
}

/** The recipients as the request gave them, display names included ("Doe, John" <john@example.org>), as Postmark echoes them. */
function joinAddresses(list: Address[]): string {
  return list.map(formatMailbox).join(", ");
}
