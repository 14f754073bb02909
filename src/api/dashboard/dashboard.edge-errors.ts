// The dashboard API's error form: `{"error": {"code", "message"}}` with the HTTP status below. The
// dashboard is our own client, so the form is ours (not Postmark's or Customer.io's).
import { defineError, type PosthornError } from "../../shared/errors.js";

export const DashboardRequestInvalid = defineError("DASHBOARD_REQUEST_INVALID", "The dashboard API request is malformed (its body, a parameter, or a field's type).");
export const DashboardNotFound = defineError("DASHBOARD_NOT_FOUND", "There is no dashboard API call with that method and path.");

export const DASHBOARD_STATUS: Readonly<Record<string, number>> = {
  SESSION_REQUIRED: 401,
  SIGN_IN_FAILED: 401,
  CSRF_FAILED: 403,
  NOT_PERMITTED: 403,
  SIGN_IN_THROTTLED: 429,
  USER_INVALID: 400,
  USER_EXISTS: 409,
  USER_NOT_FOUND: 404,
  WORKSPACE_NOT_FOUND: 404,
  MESSAGE_NOT_FOUND: 404,
  DASHBOARD_REQUEST_INVALID: 400,
  DASHBOARD_NOT_FOUND: 404,
  // Templates and streams (templates.routes.ts, settings.routes.ts); their other codes are 400s.
  TEMPLATE_NOT_FOUND: 404,
  TEMPLATE_LIMIT_REACHED: 409,
  LAYOUT_IN_USE: 409,
  STREAM_NOT_FOUND: 404,
  STREAM_EXISTS: 409,
  STREAM_LIMIT_REACHED: 409,
  INBOUND_STREAM_EXISTS: 409,
  STREAM_NOT_ARCHIVABLE: 409,
  STREAM_ARCHIVED: 409,
  TOKEN_NOT_FOUND: 404,
  TOKEN_LAST_SERVER: 409,
  // People, segments, journeys (people.routes.ts, segments.routes.ts, journeys.routes.ts); their
  // _INVALID and _LIMIT codes answer the default 400.
  PEOPLE_NOT_FOUND: 404,
  SEGMENT_NOT_FOUND: 404,
  JOURNEY_NOT_FOUND: 404,
  JOURNEY_STATE_CONFLICT: 409,
  // Email area (stats, suppressions, queue, domains): the domain errors its calls can raise.
  STREAM_NOT_SENDABLE: 400,
  SUPPRESSIONS_REQUEST_INVALID: 400,
  BOUNCE_NOT_FOUND: 404,
  BOUNCE_NOT_ACTIVATABLE: 409,
  DOMAIN_NOT_FOUND: 404,
};

export function toDashboardError(err: PosthornError): { status: number; body: { error: { code: string; message: string } } } {
  return { status: DASHBOARD_STATUS[err.code] ?? 400, body: { error: { code: err.code, message: err.message } } };
}
