// The Customer.io edges' one table from domain error codes to HTTP status (Track API v1/v2, the
// App API). Customer.io's clients read an error's text from `{"meta":{"error": …}}` (or
// `meta.errors[]`), and the Track API's published spec answers 400 with
// `{"errors":[{reason, field, message}]}`; both are given, so either kind of client shows the
// reason. The Segment-spec pipeline API has its own form (its edge's file).
import { PosthornError } from "../../shared/errors.js";

export interface CustomerIoErrorReply {
  status: number;
  body: { meta: { error: string }; errors?: Array<{ reason: string; field: string | null; message: string }> };
}

/** Domain codes → status; each family adds its domain's codes here. A code missing here answers 400 when its name says it was refused input, else 500. */
const TABLE: Record<string, number> = {
  TRACK_CREDENTIALS_INVALID: 401,
  TRACK_NOT_FOUND: 404,
  TRACK_TOO_LARGE: 413,
  TRACK_TOO_BUSY: 429,
  // Segments and the App API (src/segments/, src/api/cio-app/).
  APP_CREDENTIALS_INVALID: 401,
  APP_CUSTOMER_NOT_FOUND: 404,
  SEGMENT_NOT_FOUND: 404,
  // The people domain (src/people/people.errors.ts); its other codes answer 400 by their names.
  PEOPLE_NOT_FOUND: 404,
  PEOPLE_IDENTIFIER_CONFLICT: 400,
  // Journeys, broadcasts and Liquid (src/journeys/, src/broadcasts/, src/templates/liquid/).
  JOURNEY_NOT_FOUND: 404,
  JOURNEY_STATE_CONFLICT: 409,
  LIQUID_RENDER_FAILED: 400,
  // Outreach mail and transactional messages (src/channels/email/).
  TRANSACTIONAL_NOT_FOUND: 404,
  TRANSACTIONAL_TRIGGER_CONFLICT: 409,
  TRANSACTIONAL_RATE_LIMITED: 429,
  TRANSACTIONAL_RECIPIENT_INACTIVE: 422,
  OUTREACH_CONTENT_INVALID: 400,
  BROADCAST_NOT_FOUND: 404,
  BROADCAST_STATE_CONFLICT: 409,
  BROADCAST_TRIGGER_TOO_BUSY: 429,
  BROADCAST_TRIGGER_NOT_FOUND: 404,
  // Exports (src/exports/).
  EXPORT_NOT_FOUND: 404,
  EXPORT_NEWSLETTER_NOT_FOUND: 404,
  EXPORT_NOT_READY: 409,
  EXPORT_TOO_BUSY: 429,
};

export function toCustomerIoError(err: PosthornError): CustomerIoErrorReply {
  const status = TABLE[err.code] ?? (/INVALID|TOO_|REQUIRED|LIMIT/.test(err.code) ? 400 : 500);
  const field = typeof err.details.field === "string" ? err.details.field : null;
  const body: CustomerIoErrorReply["body"] = { meta: { error: err.message } };
  if (status === 400) body.errors = [{ reason: err.code.toLowerCase(), field, message: err.message }];
  return { status, body };
}
