// Coded errors of bulk sends. The Postmark edge maps them (postmark.errors.ts).
import { defineError } from "../shared/errors.js";

export const BULK_NOT_FOUND = defineError("BULK_NOT_FOUND", "No bulk send with this id in the workspace.");
