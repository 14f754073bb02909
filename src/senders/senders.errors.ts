import { defineError } from "../shared/errors.js";

export const SenderNotFound = defineError("SENDER_NOT_FOUND", "No sender signature has that ID.");
export const SenderInvalid = defineError("SENDER_INVALID", "A sender-signature field is invalid (address, name, reply-to, note, paging).");
export const SenderNoChanges = defineError("SENDER_NO_CHANGES", "An update of a sender signature named no field to change.");
export const SenderPublicDomain = defineError("SENDER_PUBLIC_DOMAIN", "Sender signatures cannot be on a public mailbox domain (gmail.com and such).");
export const SenderExists = defineError("SENDER_EXISTS", "A sender signature for that address already exists.");
export const SenderAlreadyConfirmed = defineError("SENDER_ALREADY_CONFIRMED", "The sender signature is already confirmed.");
export const SenderResendTooSoon = defineError("SENDER_RESEND_TOO_SOON", "A confirmation mail was sent for this signature moments ago.");
