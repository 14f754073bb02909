// The Postmark edge's one table from domain error codes to HTTP status and Postmark ErrorCode.
// Codes Postmark documents are used as documented; 1235 (stream not found) and 701 (message not
// found) follow Postmark's numbering for those cases. Inbound: 701 also for a retry or bypass in
// the wrong state (Postmark's 701 covers a message that "cannot be bypassed or retried"; 702/703
// are its internal failures), 810/812/813 for inbound rules, 606 for the inbound webhook URL,
// 608 for an unusable inbound domain (Postmark's code for an inbound domain on its own domain).
// HTTP-level refusals Postmark has no code for (no such call, a request that timed out) carry ErrorCode 0, which is what Postmark's clients assume when a
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
  INBOUND_CONTENT_REMOVED: { status: 422, errorCode: 701 },
  INBOUND_RULE_INVALID: { status: 422, errorCode: 813 },
  INBOUND_RULE_EXISTS: { status: 422, errorCode: 810 },
  INBOUND_RULE_NOT_FOUND: { status: 422, errorCode: 812 },
  INBOUND_HOOK_URL_INVALID: { status: 422, errorCode: 606 },
  INBOUND_DOMAIN_INVALID: { status: 422, errorCode: 608 },
  // Message streams, suppressions, bounces: see docs/errors.md for where each code comes from.
  STREAM_INVALID: { status: 422, errorCode: 1221 },
  STREAM_EXISTS: { status: 422, errorCode: 1222 },
  STREAM_LIMIT_REACHED: { status: 422, errorCode: 1223 },
  INBOUND_STREAM_EXISTS: { status: 422, errorCode: 1224 },
  STREAM_NOT_ARCHIVABLE: { status: 422, errorCode: 1225 },
  STREAM_ARCHIVED: { status: 422, errorCode: 1226 },
  SUPPRESSIONS_REQUEST_INVALID: { status: 422, errorCode: 300 },
  BOUNCE_NOT_FOUND: { status: 422, errorCode: 701 },
  BOUNCE_NOT_ACTIVATABLE: { status: 422, errorCode: 300 },
  // Sender signatures and the From rule (Postmark's 400/401 and 501–506; 511 as for domains'
  // invalid fields; a resend too soon is a rate limit, 429).
  FROM_NOT_SIGNATURE: { status: 422, errorCode: 400 },
  FROM_NOT_CONFIRMED: { status: 422, errorCode: 401 },
  SENDER_NOT_FOUND: { status: 422, errorCode: 501 },
  SENDER_NO_CHANGES: { status: 422, errorCode: 502 },
  SENDER_PUBLIC_DOMAIN: { status: 422, errorCode: 503 },
  SENDER_EXISTS: { status: 422, errorCode: 504 },
  SENDER_ALREADY_CONFIRMED: { status: 422, errorCode: 506 },
  SENDER_INVALID: { status: 422, errorCode: 511 },
  SENDER_RESEND_TOO_SOON: { status: 429, errorCode: 429 },
  // Templates: Postmark's 11xx codes; 601 for a push naming an unknown server.
  TEMPLATE_NOT_FOUND: { status: 422, errorCode: 1101 },
  TEMPLATE_QUERY_INVALID: { status: 422, errorCode: 1100 },
  TEMPLATE_LIMIT_REACHED: { status: 422, errorCode: 1105 },
  TEMPLATE_FIELD_MISSING: { status: 422, errorCode: 1120 },
  TEMPLATE_FIELD_TOO_LARGE: { status: 422, errorCode: 1121 },
  TEMPLATE_FIELD_INVALID: { status: 422, errorCode: 1122 },
  TEMPLATE_FIELD_NOT_ALLOWED: { status: 422, errorCode: 1123 },
  TEMPLATE_PUSH_EMPTY: { status: 422, errorCode: 1124 },
  TEMPLATE_PUSH_TYPE_MISMATCH: { status: 422, errorCode: 1125 },
  TEMPLATE_PUSH_SERVER_NOT_FOUND: { status: 422, errorCode: 601 },
  LAYOUT_IN_USE: { status: 422, errorCode: 1130 },
  LAYOUT_CONTENT_MISSING: { status: 422, errorCode: 1131 },
  TEMPLATE_RENDER_LIMIT: { status: 422, errorCode: 1121 },
  TEMPLATE_NO_DATA: { status: 422, errorCode: 1109 },
  // Servers (workspaces), with Postmark's 6xx server codes; a bad name or setting value is 300.
  WORKSPACE_NOT_FOUND: { status: 422, errorCode: 601 },
  WORKSPACE_EXISTS: { status: 422, errorCode: 603 },
  WORKSPACE_DELETION_DISABLED: { status: 422, errorCode: 604 },
  WORKSPACE_COLOR_INVALID: { status: 422, errorCode: 607 },
  WORKSPACE_NAME_INVALID: { status: 422, errorCode: 300 },
  WORKSPACE_SETTING_INVALID: { status: 422, errorCode: 300 },
  // Only SMTP meets it (AUTH refused); 405 is Postmark's "not allowed to send".
  SMTP_DISABLED: { status: 422, errorCode: 405 },
  // Postmark documents no codes for data removals: a bad request is 300, as any invalid request.
  DATA_REMOVAL_INVALID: { status: 422, errorCode: 300 },
  DATA_REMOVAL_NOT_FOUND: { status: 422, errorCode: 300 },
  // Outbound webhooks: 606 is Postmark's invalid webhook URL; a webhook not found answers 404
  // with 1400 (Postmark's documented "resource doesn't exist" status; the number is ours, see
  // docs/errors.md); bad settings and the cap per stream are invalid requests (300).
  WEBHOOK_URL_INVALID: { status: 422, errorCode: 606 },
  WEBHOOK_NOT_FOUND: { status: 404, errorCode: 1400 },
  WEBHOOK_INVALID: { status: 422, errorCode: 300 },
  WEBHOOK_LIMIT_REACHED: { status: 422, errorCode: 300 },
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
