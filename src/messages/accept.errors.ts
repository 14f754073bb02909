import { defineError } from "../shared/errors.js";

/** Every recipient is suppressed on the stream; the text is Postmark's, which clients parse. */
export const InactiveRecipients = defineError("INACTIVE_RECIPIENTS", "All recipients are inactive.");
export const MessageTooLarge = defineError("MESSAGE_TOO_LARGE", "The message is larger than the configured limit.");
export const MessageNotFound = defineError("MESSAGE_NOT_FOUND", "No message with that id in this workspace.");

export function inactiveRecipientsMessage(addresses: string[]): string {
  // postmark.js extracts the list with /Found inactive addresses: (.+?)\.? Inactive/; keep byte for byte.
  return (
    "You tried to send to recipient(s) that have been marked as inactive. " +
    `Found inactive addresses: ${addresses.join(", ")}. ` +
    "Inactive recipients are ones that have generated a hard bounce, a spam complaint, or a manual suppression."
  );
}

export function partlyInactiveMessage(addresses: string[]): string {
  // Matched by postmark.js with /these inactive addresses: (.+?)\.?$/.
  return `Message OK, but will not deliver to these inactive addresses: ${addresses.join(", ")}`;
}

/** The From rule (accept/sender.step.ts): the texts are Postmark's for its ErrorCodes 400 and 401. */
export const FromNotSignature = defineError("FROM_NOT_SIGNATURE", "The From address is neither a confirmed sender signature nor on a verified sending domain.");
export const FromNotConfirmed = defineError("FROM_NOT_CONFIRMED", "The From address is a sender signature that has not been confirmed yet.");

export function fromNotSignatureMessage(from: string): string {
  return (
    `The 'From' address you supplied (${from}) is not a Sender Signature on your account. ` +
    "Please add and confirm this address in order to be able to use it in the 'From' field of your messages."
  );
}

export function fromNotConfirmedMessage(from: string): string {
  return (
    `The 'From' address you supplied (${from}) is a Sender Signature that has not been confirmed yet. ` +
    "Please confirm it with the link in the confirmation email (or resend it) in order to be able to use it in the 'From' field of your messages."
  );
}
