// Acceptance of raw RFC 5322 messages (SMTP submission). The message goes out as the client
// wrote it; Posthorn reads Postmark's X-PM-* instruction headers and removes them (they are for
// us, not for recipients), sets its own Message-ID unless X-PM-KeepID: true, and adds a Date
// when missing (RFC 6409 §8.2–8.3 let a submission server add both). The same rules as the API
// then apply: stream, recipient limit, suppressions (inactive recipients are recorded as
// suppressed deliveries, not dropped), sandbox mode, and a durable commit before the caller may
// answer 250.
import addressparser, { type Address as ParsedAddress } from "nodemailer/lib/addressparser/index.js";
import libmime from "libmime";
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import { newMessageId } from "../shared/ids.js";
import type { SuppressionsService } from "../suppressions/suppressions.service.js";
import type { Workspace, WorkspacesService } from "../workspaces/workspaces.service.js";
import type { Accepted } from "./accept.service.js";
import type { Address } from "./message.types.js";
import type { RawSubmission } from "./raw-submission.types.js";
import type { MessagesRepository } from "./messages.repository.js";
import { checkAddrSpec, isValidEmail } from "./addresses.js";
import { addressKey } from "../shared/email-address.js";
import { MESSAGE_INVALID } from "./messages.errors.js";
import { MessageTooLarge } from "./accept.errors.js";
import { DEFAULT_MESSAGE_LIMITS, DEFAULT_STREAM } from "./message.validation.js";
import { recipientRows } from "./recipient-rows.js";
import { encodeDsnRequest } from "./dsn-request.js";
import { StreamNotSendable } from "../workspaces/workspaces.errors.js";
import { fieldValue, findField, joinMessage, splitMessage, type HeaderField } from "./raw-headers.js";
import type { TrackLinks } from "./message.types.js";

export interface RawAcceptDeps {
  store: Store;
  clock: Clock;
  hostname: string;
  workspaces: WorkspacesService;
  suppressions: SuppressionsService;
  messages: MessagesRepository;
  maxMessageBytes?: number;
  onQueued?: () => void;
}

const TRACK_LINKS: Record<string, TrackLinks> = { none: "None", htmlandtext: "HtmlAndText", htmlonly: "HtmlOnly", textonly: "TextOnly" };
const METADATA_PREFIX = "x-pm-metadata-";

export class RawAcceptService {
  constructor(private readonly deps: RawAcceptDeps) {}

  async acceptRaw(workspace: Workspace, submission: RawSubmission): Promise<Accepted> {
    const limit = this.deps.maxMessageBytes ?? DEFAULT_MESSAGE_LIMITS.maxMessageBytes;
    if (submission.raw.length > limit) throw MessageTooLarge(`The message is ${submission.raw.length} bytes; the limit is ${limit}.`);
    if (!isValidEmail(submission.envelopeFrom)) throw MESSAGE_INVALID(`Invalid envelope sender: '${submission.envelopeFrom}'.`);

    const recipients = uniqueRecipients(submission.recipients);
    if (recipients.length === 0) throw MESSAGE_INVALID("Zero recipients specified");
    if (recipients.length > DEFAULT_MESSAGE_LIMITS.maxRecipients) {
      throw MESSAGE_INVALID(`Too many recipients: ${recipients.length}; the limit is ${DEFAULT_MESSAGE_LIMITS.maxRecipients}.`);
    }

    const { fields, body } = splitMessage(submission.raw);
    const instructions = readInstructions(fields);
    const from = findField(fields, "from");
    if (!from) throw MESSAGE_INVALID("The message has no From header (RFC 5322 §3.6 requires one).");
    const bound = submission.stream ?? null;
    if (bound && instructions.stream && instructions.stream !== bound) {
      throw StreamNotSendable(`These SMTP credentials send to the message stream '${bound}' only, not '${instructions.stream}'.`);
    }
    const stream = bound ?? instructions.stream ?? DEFAULT_STREAM;
    await this.deps.workspaces.assertSendableStream(workspace.id, stream);

    const now = this.deps.clock.now();
    const id = newMessageId(now);
    let kept = fields.filter((f) => !f.name.toLowerCase().startsWith("x-pm-"));
    const existingId = findField(kept, "message-id");
    if (!(instructions.keepId && existingId)) {
      kept = kept.filter((f) => f.name.toLowerCase() !== "message-id");
      kept.unshift({ name: "Message-ID", text: `Message-ID: <${id}@${this.deps.hostname}>` });
    }
    if (!findField(kept, "date")) kept.unshift({ name: "Date", text: `Date: ${new Date(now).toUTCString().replace("GMT", "+0000")}` });
    const mime = joinMessage(kept, body);

    const suppressed = await this.deps.suppressions.findSuppressed(
      this.deps.store.db,
      workspace.id,
      stream,
      recipients.map((r) => r.key),
    );
    const to = addressesOf(findField(fields, "to"));
    const cc = addressesOf(findField(fields, "cc"));
    const visible = new Set([...to, ...cc].map((a) => addressKey(a.email)));
    const bcc = recipients.filter((r) => !visible.has(r.key)).map((r) => ({ email: r.email, name: "" }));
    const fromAddress = addressesOf(from)[0];
    const rows = workspace.sandbox ? { deliveries: [], events: [] } : recipientRows({ messageId: id, workspaceId: workspace.id, recipients, suppressed, now });
    const allSuppressed = rows.deliveries.length > 0 && rows.deliveries.every((d) => d.state === "suppressed");

    await this.deps.store.writeGrouped((trx) =>
      this.deps.messages.insertAccepted(
        trx,
        [
          {
            id,
            workspace_id: workspace.id,
            stream,
            envelope_from: submission.envelopeFrom,
            from_header: fromAddress ? formatDisplay(fromAddress) : decode(fieldValue(from)),
            to_json: JSON.stringify(to.map(toPostmark)),
            cc_json: JSON.stringify(cc.map(toPostmark)),
            bcc_json: JSON.stringify(bcc.map(toPostmark)),
            subject: decode(fieldValue(findField(fields, "subject") ?? { name: "", text: "" })),
            tag: instructions.tag,
            metadata_json: JSON.stringify(instructions.metadata),
            track_opens: instructions.trackOpens ? 1 : 0,
            track_links: instructions.trackLinks,
            attachments_json: "[]",
            text_body: null,
            html_body: null,
            mime,
            sandboxed: workspace.sandbox ? 1 : 0,
            status: workspace.sandbox ? "Processed" : allSuppressed ? "Sent" : "Queued",
            dsn_notify: submission.notifyFailure ? 1 : 0,
            dsn_json: submission.dsn ? encodeDsnRequest(submission.dsn) : null,
            created_at: now,
          },
        ],
        rows.deliveries,
        rows.events,
      ),
    );
    if (rows.deliveries.some((d) => d.state === "queued")) this.deps.onQueued?.();
    return {
      ok: true,
      messageId: id,
      submittedAt: now,
      to,
      cc,
      bcc,
      suppressed: recipients.filter((r) => suppressed.has(r.key)).map((r) => r.email),
    };
  }
}

interface Instructions {
  stream: string | null;
  tag: string | null;
  metadata: Record<string, string>;
  trackOpens: boolean;
  trackLinks: TrackLinks;
  keepId: boolean;
}

/** Postmark's X-PM-* headers: what the client asks of us for this message. */
function readInstructions(fields: HeaderField[]): Instructions {
  const result: Instructions = { stream: null, tag: null, metadata: {}, trackOpens: false, trackLinks: "None", keepId: false };
  for (const field of fields) {
    const name = field.name.toLowerCase();
    if (!name.startsWith("x-pm-")) continue;
    const value = decode(fieldValue(field));
    if (name === "x-pm-message-stream") result.stream = value || null;
    else if (name === "x-pm-tag") result.tag = value.slice(0, DEFAULT_MESSAGE_LIMITS.maxTagChars) || null;
    else if (name === "x-pm-trackopens") result.trackOpens = value.toLowerCase() === "true";
    else if (name === "x-pm-keepid") result.keepId = value.toLowerCase() === "true";
    else if (name === "x-pm-tracklinks") {
      const mode = TRACK_LINKS[value.toLowerCase()];
      if (!mode) throw MESSAGE_INVALID(`Invalid X-PM-TrackLinks value '${value}': use None, HtmlAndText, HtmlOnly or TextOnly.`);
      result.trackLinks = mode;
    } else if (name.startsWith(METADATA_PREFIX)) {
      result.metadata[field.name.slice(METADATA_PREFIX.length)] = value;
    }
  }
  return result;
}

function uniqueRecipients(list: string[]): Array<{ email: string; key: string }> {
  const seen = new Map<string, string>();
  for (const given of list) {
    // Stored and sent with the domain as its A-label, as API mail is.
    const email = checkAddrSpec(given.trim());
    if (email === null) throw MESSAGE_INVALID(`Invalid recipient: '${given}'.`);
    const key = addressKey(email);
    if (!seen.has(key)) seen.set(key, email);
  }
  return [...seen].map(([key, email]) => ({ email, key }));
}

function addressesOf(field: HeaderField | undefined): Address[] {
  if (!field) return [];
  const parsed = addressparser(fieldValue(field), { flatten: true }) as ParsedAddress[];
  return parsed.filter((a) => a.address).map((a) => ({ email: a.address!, name: decode(a.name ?? "") }));
}

/** Decodes RFC 2047 encoded words for display and search; the stored MIME keeps the original. */
function decode(text: string): string {
  try {
    return libmime.decodeWords(text);
  } catch {
    return text;
  }
}

function formatDisplay(a: Address): string {
  return a.name ? `${a.name} <${a.email}>` : a.email;
}

function toPostmark(a: Address) {
  return { Email: a.email, Name: a.name };
}
