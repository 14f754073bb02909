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
