import { defineError } from "../shared/errors.js";

export const DataRemovalInvalid = defineError("DATA_REMOVAL_INVALID", "A data removal request needs RequestedBy and RequestedFor, each an email address.");
export const DataRemovalNotFound = defineError("DATA_REMOVAL_NOT_FOUND", "No data removal request has that ID.");
