// Errors that only the Track API edge raises (credentials, request shape, sizes). The people
// domain's own codes (limits on identifiers, attributes and events) come back from apply() and are
// mapped by the same table, src/api/customerio/customerio.errors.ts.
import { defineError } from "../../shared/errors.js";

export const TrackCredentialsInvalid = defineError("TRACK_CREDENTIALS_INVALID", "The Track API site id and API key (HTTP Basic) are missing or not valid.");
export const TrackNotFound = defineError("TRACK_NOT_FOUND", "There is no Track API call at this method and path, or no such delivery.");
export const TrackTooLarge = defineError("TRACK_TOO_LARGE", "The request body is larger than this Track API call accepts.");
export const TrackTooBusy = defineError("TRACK_TOO_BUSY", "Too many large requests are being received at once; retry shortly.");
export const TrackRequestInvalid = defineError("TRACK_REQUEST_INVALID", "The Track API request is not valid (a field is missing, of the wrong type, or not allowed).");
