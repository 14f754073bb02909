// Errors that only the Postmark HTTP edge raises (request shape, not domain rules).
import { defineError } from "../../shared/errors.js";

export const InvalidJson = defineError("POSTMARK_INVALID_JSON", "The request body is not valid JSON.");
export const JsonRequired = defineError("POSTMARK_JSON_REQUIRED", "Requests must be JSON: send Content-Type: application/json.");
export const TooManyBatchMessages = defineError("POSTMARK_TOO_MANY_BATCH_MESSAGES", "Too many messages in one batch; the limit is 500.");
export const InvalidRequest = defineError("POSTMARK_INVALID_REQUEST", "The request is not valid.");
export const BodyTooLarge = defineError("POSTMARK_BODY_TOO_LARGE", "The request body is larger than this call accepts.");
export const TooBusy = defineError("POSTMARK_TOO_BUSY", "Too many large requests are being received at once; retry shortly.");
export const NoSuchCall = defineError("POSTMARK_NO_SUCH_CALL", "There is no API call at this method and path.");
export const RequestTimeout = defineError("POSTMARK_REQUEST_TIMEOUT", "The request did not arrive in time.");
