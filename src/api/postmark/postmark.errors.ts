// The Postmark edge's one table from domain error codes to HTTP status and Postmark ErrorCode.
// Codes Postmark documents are used as documented; 1235 (stream not found) and 701 (message not
// found) follow Postmark's numbering for those cases. Inbound: 701 also for a retry or bypass in
// the wrong state (Postmark's 701 covers a message that "cannot be bypassed or retried"; 702/703
// are its internal failures), 810/812/813 for inbound rules, 606 for the inbound webhook URL,
// 608 for an unusable inbound domain (Postmark's code for an inbound domain on its own domain).
// HTTP-level refusals Postmark has no code for (no such call, a call Posthorn does not serve yet,
// a request that timed out) carry ErrorCode 0, which is what Postmark's clients assume when a
// body has none; 429 (too many large bodies at once) is Postmark's rate-limit code, which its
// clients raise as RateLimitExceededError, the error they retry.
import { PosthornError } from "../../shared/errors.js";

export interface PostmarkErrorReply {
  status: number;
  body: { ErrorCode: number; Message: string };
}

const TABLE: Record<string, { status: number; errorCode: number }> = {
  TOKEN_INVALID: { status: 401, errorCode: 10 },
  MESSAGE_INVALID: { status: 422, errorCode: 300 },
  MESSAGE_FORBIDDEN_ATTACHMENT: { status: 422, errorCode: 411 },
  INACTIVE_RECIPIENTS: { status: 422, errorCode: 406 },
  STREAM_NOT_FOUND: { status: 422, errorCode: 1235 },
  STREAM_NOT_SENDABLE: { status: 422, errorCode: 1235 },
  MESSAGE_NOT_FOUND: { status: 422, errorCode: 701 },
  BULK_NOT_FOUND: { status: 422, errorCode: 701 },
  MESSAGE_TOO_LARGE: { status: 413, errorCode: 300 },
  POSTMARK_INVALID_JSON: { status: 422, errorCode: 402 },
  POSTMARK_JSON_REQUIRED: { status: 422, errorCode: 409 },
  POSTMARK_TOO_MANY_BATCH_MESSAGES: { status: 422, errorCode: 410 },
  POSTMARK_INVALID_REQUEST: { status: 422, errorCode: 300 },
  POSTMARK_BODY_TOO_LARGE: { status: 413, errorCode: 300 },
  POSTMARK_TOO_BUSY: { status: 429, errorCode: 429 },
  POSTMARK_NO_SUCH_CALL: { status: 404, errorCode: 0 },
  POSTMARK_CALL_NOT_SUPPORTED: { status: 501, errorCode: 0 },
  POSTMARK_REQUEST_TIMEOUT: { status: 408, errorCode: 0 },
  QUEUE_DOMAIN_REQUIRED: { status: 422, errorCode: 300 },
  DOMAIN_NOT_FOUND: { status: 422, errorCode: 510 },
  DOMAIN_INVALID: { status: 422, errorCode: 511 },
  DOMAIN_EXISTS: { status: 422, errorCode: 511 },
  DKIM_ROTATION_PENDING: { status: 422, errorCode: 505 },
  INBOUND_DOMAIN_TAKEN: { status: 422, errorCode: 602 },
  INBOUND_MESSAGE_NOT_FOUND: { status: 422, errorCode: 701 },
  INBOUND_NOT_RETRYABLE: { status: 422, errorCode: 701 },
  INBOUND_NOT_BLOCKED: { status: 422, errorCode: 701 },
  INBOUND_RULE_INVALID: { status: 422, errorCode: 813 },
  INBOUND_RULE_EXISTS: { status: 422, errorCode: 810 },
  INBOUND_RULE_NOT_FOUND: { status: 422, errorCode: 812 },
  INBOUND_HOOK_URL_INVALID: { status: 422, errorCode: 606 },
  INBOUND_DOMAIN_INVALID: { status: 422, errorCode: 608 },
};

export function toPostmarkError(err: PosthornError): PostmarkErrorReply {
  const entry = TABLE[err.code];
  if (!entry) return { status: 500, body: { ErrorCode: 0, Message: "Internal server error." } };
  return { status: entry.status, body: { ErrorCode: entry.errorCode, Message: err.message } };
}

/** The ErrorCode for a per-message failure inside a batch (always HTTP 200 for the batch). */
export function postmarkErrorCode(err: PosthornError): number {
  return TABLE[err.code]?.errorCode ?? 0;
}
