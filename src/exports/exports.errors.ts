// Errors of exports. The Customer.io edge maps them (src/api/customerio/customerio.errors.ts):
// _INVALID and _LIMIT answer 400, _NOT_FOUND 404, _NOT_READY 409, _TOO_BUSY 429.
import { defineError } from "../shared/errors.js";

export const ExportInvalid = defineError("EXPORT_INVALID", "An export request is not valid (filters, newsletter_id, start, end, attributes, metric, drafts); the message and `field` name the bad field.");
export const ExportNotFound = defineError("EXPORT_NOT_FOUND", "No export of this workspace has this id (or it was removed after its retention).");
export const ExportNewsletterNotFound = defineError("EXPORT_NEWSLETTER_NOT_FOUND", "A deliveries export names a newsletter (broadcast) this workspace does not have.");
export const ExportNotReady = defineError("EXPORT_NOT_READY", "A download was asked for an export that is not done (still building, or failed).");
export const ExportTooBusy = defineError("EXPORT_TOO_BUSY", "The workspace already has the most exports building at once (3); retry when one is done.");
