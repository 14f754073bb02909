// Errors of Customer.io's App API edge itself (the domains' own codes come through as they are).
// Mapped by src/api/customerio/customerio.errors.ts.
import { defineError } from "../../shared/errors.js";

export const AppKeyInvalid = defineError("APP_CREDENTIALS_INVALID", "The App API's Bearer key is missing or unknown.");
export const AppCustomerNotFound = defineError("APP_CUSTOMER_NOT_FOUND", "No person of the workspace has the identifier in the path (id, email or cio_id per id_type).");
export const AppRequestInvalid = defineError("APP_REQUEST_INVALID", "An App API request's body or query is malformed (a missing segment object, a bad id_type, limit or filter); the message names the field.");
