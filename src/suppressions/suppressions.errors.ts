import { defineError } from "../shared/errors.js";

export const SuppressionsRequestInvalid = defineError("SUPPRESSIONS_REQUEST_INVALID", "A suppression create or delete request lists no address, or more than one request may (50).");
