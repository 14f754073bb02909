// What Posthorn accepts, whichever door a message came in by: one place decides. The doors have
// already translated their input (the API checked its JSON fields, SMTP read its envelope); these
// rules apply to the MessageView of every message alike.
import { checkAddrSpec, isValidEmail } from "../addresses.js";
import { forbiddenExtension, MESSAGE_FORBIDDEN_ATTACHMENT, MESSAGE_INVALID } from "../messages.errors.js";
import { MessageTooLarge } from "../accept.errors.js";
import { DEFAULT_MESSAGE_LIMITS, DEFAULT_STREAM, type MessageLimits } from "../message.validation.js";
import { addressKey } from "../../shared/email-address.js";
import { StreamNotSendable } from "../../workspaces/workspaces.errors.js";
import type { MessageView, Recipient } from "./candidate.js";
import type { Submission } from "./submission.js";

/** Values quoted in error messages are cut: the messages are returned and logged. */
const MAX_QUOTED_CHARS = 100;

/**
 * The content rules, which need no workspace (the Postmark test token is checked against them
 * too). Returns the unique envelope recipients in order; throws a coded error otherwise.
 */
export function checkContent(view: MessageView, limits: MessageLimits = DEFAULT_MESSAGE_LIMITS): Recipient[] {
  if (view.sizeBytes > limits.maxMessageBytes) throw MessageTooLarge(`The message is ${view.sizeBytes} bytes; the limit is ${limits.maxMessageBytes}.`);
  if (view.from === null) throw MESSAGE_INVALID("The message has no From header (RFC 5322 §3.6 requires one).");
  if (!isValidEmail(view.envelopeFrom)) throw MESSAGE_INVALID(`Invalid envelope sender: '${clip(view.envelopeFrom)}'.`);
  const recipients = uniqueRecipients(view.recipients);
  if (recipients.length === 0) throw MESSAGE_INVALID("Zero recipients specified");
  if (recipients.length > limits.maxRecipients) {
    throw MESSAGE_INVALID(`Too many recipients: ${recipients.length}. A message may have at most ${limits.maxRecipients} across To, Cc and Bcc.`);
  }
  for (const name of view.attachments) {
    const ext = forbiddenExtension(name);
    if (ext !== null) {
      throw MESSAGE_FORBIDDEN_ATTACHMENT(`Forbidden attachment type: '${clip(name)}'. Files of type .${ext} may not be sent.`, { name });
    }
  }
  return recipients;
}

/** The stream a message goes to: the one its credentials are bound to, else the one it asks for. */
export function resolveStream(submission: Submission): string {
  const asked = submission.stream?.trim() || null;
  const bound = submission.boundStream;
  if (bound && asked && asked !== bound) {
    throw StreamNotSendable(`These SMTP credentials send to the message stream '${bound}' only, not '${asked}'.`);
  }
  return bound ?? asked ?? DEFAULT_STREAM;
}

/** Envelope recipients, each valid and normalized, once each (compared by addressKey). */
function uniqueRecipients(list: string[]): Recipient[] {
  const seen = new Map<string, Recipient>();
  for (const given of list) {
    const email = checkAddrSpec(given.trim());
    if (email === null) throw MESSAGE_INVALID(`Invalid recipient: '${clip(given)}'.`);
    const key = addressKey(email);
    if (!seen.has(key)) seen.set(key, { email, key, suppressed: false });
  }
  return [...seen.values()];
}

function clip(s: string): string {
  return s.length > MAX_QUOTED_CHARS ? s.slice(0, MAX_QUOTED_CHARS) + "…" : s;
}
