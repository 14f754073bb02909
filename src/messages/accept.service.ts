// Acceptance: a validated message becomes durable. The caller's success answer (HTTP 200, SMTP
// 250) may be given only after this resolves, because by then the message, its MIME and one
// delivery row per recipient are committed (fsynced on SQLite). Concurrent acceptances share one
// commit through Store.writeGrouped.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { NewDeliveryRow, NewMessageEventRow, NewMessageRow } from "../store/schema.js";
import { newMessageId } from "../shared/ids.js";
import { PosthornError } from "../shared/errors.js";
import type { SuppressionsService } from "../suppressions/suppressions.service.js";
import type { Workspace, WorkspacesService } from "../workspaces/workspaces.service.js";
import type { Address, OutgoingMessage } from "./message.types.js";
import { buildMime } from "./mime.builder.js";
import { addressKey } from "../shared/email-address.js";
import { recipientRows } from "./recipient-rows.js";
import { InactiveRecipients, inactiveRecipientsMessage } from "./accept.errors.js";
import { MessagesRepository } from "./messages.repository.js";

export interface Accepted {
  ok: true;
  messageId: string;
  submittedAt: number;
  to: Address[];
  cc: Address[];
  bcc: Address[];
  /** Recipients not attempted because they are inactive on the stream. */
  suppressed: string[];
}

export type AcceptOutcome = Accepted | { ok: false; error: PosthornError };

export interface AcceptDeps {
  store: Store;
  clock: Clock;
  hostname: string;
  workspaces: WorkspacesService;
  suppressions: SuppressionsService;
  messages: MessagesRepository;
  /** Ask for failure notices (RFC 3464 DSNs) to the sender of every message accepted here. */
  notifyFailures?: boolean;
  /** Called after a commit that created deliveries, so a local MTA can look for work at once. */
  onQueued?: () => void;
}

interface Prepared {
  index: number;
  message: OutgoingMessage;
  recipients: Array<{ email: string; key: string }>;
  suppressed: Set<string>;
}

export class AcceptService {
  constructor(private readonly deps: AcceptDeps) {}

  async acceptOne(workspace: Workspace, message: OutgoingMessage): Promise<Accepted> {
    const [outcome] = await this.acceptMany(workspace, [message]);
    if (!outcome!.ok) throw outcome!.error;
    return outcome!;
  }

  /** Accepts each message independently; the outcomes are in input order. */
  async acceptMany(workspace: Workspace, messages: OutgoingMessage[]): Promise<AcceptOutcome[]> {
    const outcomes: AcceptOutcome[] = new Array(messages.length);
    const prepared: Prepared[] = [];
    const suppressedByStream = await this.lookupSuppressions(workspace, messages);

    for (const [index, message] of messages.entries()) {
      try {
        await this.deps.workspaces.assertSendableStream(workspace.id, message.stream);
        const recipients = uniqueRecipients(message);
        const inactive = suppressedByStream.get(message.stream) ?? new Set<string>();
        const suppressed = new Set(recipients.filter((r) => inactive.has(r.key)).map((r) => r.key));
        if (suppressed.size === recipients.length) {
          throw InactiveRecipients(inactiveRecipientsMessage(recipients.map((r) => r.email)), { recipients: recipients.map((r) => r.email) });
        }
        prepared.push({ index, message, recipients, suppressed });
      } catch (err) {
        outcomes[index] = { ok: false, error: asPosthornError(err) };
      }
    }
    if (prepared.length === 0) return outcomes;

    const now = this.deps.clock.now();
    const date = new Date(now);
    const messageRows: NewMessageRow[] = [];
    const deliveryRows: NewDeliveryRow[] = [];
    const eventRows: NewMessageEventRow[] = [];
    const built = await Promise.all(
      prepared.map(async (p) => {
        const id = newMessageId();
        const mime = await buildMime(p.message, { messageId: `<${id}@${this.deps.hostname}>`, date });
        return { id, mime };
      }),
    );
    for (const [i, p] of prepared.entries()) {
      const { id, mime } = built[i]!;
      const m = p.message;
      messageRows.push({
        id,
        workspace_id: workspace.id,
        stream: m.stream,
        envelope_from: m.from.email,
        from_header: formatAddress(m.from),
        to_json: JSON.stringify(m.to.map(toPostmarkAddress)),
        cc_json: JSON.stringify(m.cc.map(toPostmarkAddress)),
        bcc_json: JSON.stringify(m.bcc.map(toPostmarkAddress)),
        subject: m.subject,
        tag: m.tag,
        metadata_json: JSON.stringify(m.metadata),
        track_opens: m.trackOpens ? 1 : 0,
        track_links: m.trackLinks,
        attachments_json: JSON.stringify(m.attachments.map((a) => a.name)),
        text_body: m.textBody,
        html_body: m.htmlBody,
        mime,
        sandboxed: workspace.sandbox ? 1 : 0,
        status: workspace.sandbox ? "Processed" : "Queued",
        dsn_notify: this.deps.notifyFailures ? 1 : 0,
        created_at: now,
      });
      // A sandboxed workspace records the message but creates no deliveries: nothing may leave.
      if (workspace.sandbox) continue;
      const rows = recipientRows({ messageId: id, workspaceId: workspace.id, recipients: p.recipients, suppressed: p.suppressed, now });
      deliveryRows.push(...rows.deliveries);
      eventRows.push(...rows.events);
      if (p.suppressed.size === p.recipients.length) messageRows[messageRows.length - 1]!.status = "Sent";
    }

    await this.deps.store.writeGrouped((trx) => this.deps.messages.insertAccepted(trx, messageRows, deliveryRows, eventRows));
    if (deliveryRows.length > 0) this.deps.onQueued?.();

    for (const [i, p] of prepared.entries()) {
      outcomes[p.index] = {
        ok: true,
        messageId: built[i]!.id,
        submittedAt: now,
        to: p.message.to,
        cc: p.message.cc,
        bcc: p.message.bcc,
        suppressed: p.recipients.filter((r) => p.suppressed.has(r.key)).map((r) => r.email),
      };
    }
    return outcomes;
  }

  /** One query per stream for all recipients of all messages, rather than one per message. */
  private async lookupSuppressions(workspace: Workspace, messages: OutgoingMessage[]): Promise<Map<string, Set<string>>> {
    const byStream = new Map<string, Set<string>>();
    for (const m of messages) {
      let keys = byStream.get(m.stream);
      if (!keys) byStream.set(m.stream, (keys = new Set()));
      for (const a of [...m.to, ...m.cc, ...m.bcc]) keys.add(addressKey(a.email));
    }
    const result = new Map<string, Set<string>>();
    for (const [stream, keys] of byStream) {
      result.set(stream, await this.deps.suppressions.findSuppressed(this.deps.store.db, workspace.id, stream, [...keys]));
    }
    return result;
  }
}

function uniqueRecipients(message: OutgoingMessage): Array<{ email: string; key: string }> {
  const seen = new Map<string, string>();
  for (const a of [...message.to, ...message.cc, ...message.bcc]) {
    const key = addressKey(a.email);
    if (!seen.has(key)) seen.set(key, a.email);
  }
  return [...seen].map(([key, email]) => ({ email, key }));
}

function toPostmarkAddress(a: Address) {
  return { Email: a.email, Name: a.name };
}

export function formatAddress(a: Address): string {
  if (!a.name) return a.email;
  const needsQuotes = /[(),.:;<>@[\\\]"]/.test(a.name);
  return needsQuotes ? `"${a.name.replace(/(["\\])/g, "\\$1")}" <${a.email}>` : `${a.name} <${a.email}>`;
}

function asPosthornError(err: unknown): PosthornError {
  if (err instanceof PosthornError) return err;
  throw err;
}
