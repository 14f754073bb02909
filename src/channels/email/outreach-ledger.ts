// The outreach ledger's reads (outreach.port.ts OutreachLedger): the messages sent to people, with
// statuses kept by the outreach status consumer (outreach-status.consumer.ts). "sent" is every
// accepted message; "skipped" a mail that was not sent (its reason kept).
import type { Store } from "../../store/store.js";
import type { Page } from "../../people/people.port.js";
import type { JourneyId, MessageStatus } from "../../journeys/journey.model.js";
import type { MessageCounts } from "../../journeys/journeys.port.js";
import type { OutreachLedger, OutreachMailRecord, OutreachMessage, OutreachOrigin } from "./outreach.port.js";
import type { CountRow, OutreachLedgerRepository } from "./outreach-ledger.repository.js";
import type { OutreachMessageRow } from "./outreach.schema.js";

/** Page sizes of messagesOf. */
export const MOST_MESSAGES_PER_PAGE = 1_000;

export class StoredOutreachLedger implements OutreachLedger {
  constructor(private readonly deps: { store: Store; repository: OutreachLedgerRepository }) {}

  async ofRunStep(workspaceId: string, runId: string, stepId: string): Promise<OutreachMessage | null> {
    const row = await this.deps.repository.ofRunStep(this.deps.store.db, workspaceId, runId, stepId);
    return row ? toMessage(row) : null;
  }

  async countsByStep(workspaceId: string, journeyId: JourneyId, version: number | null): Promise<Map<string, MessageCounts>> {
    const rows = await this.deps.repository.countsByStep(this.deps.store.db, workspaceId, journeyId, version);
    return new Map(rows.flatMap((r) => (r.step_id === null ? [] : [[r.step_id, counts(r)] as const])));
  }

  async countsByBroadcast(workspaceId: string, broadcastId: string): Promise<MessageCounts> {
    return counts(await this.deps.repository.countsByBroadcast(this.deps.store.db, workspaceId, broadcastId));
  }

  async messagesOf(workspaceId: string, personId: string, options: { limit: number; cursor: string | null }): Promise<Page<OutreachMessage>> {
    const limit = Math.max(1, Math.min(MOST_MESSAGES_PER_PAGE, Math.floor(options.limit) || 1));
    const before = options.cursor !== null && /^[1-9][0-9]{0,15}$/.test(options.cursor) ? Number(options.cursor) : null;
    const rows = await this.deps.repository.ofPerson(this.deps.store.db, workspaceId, personId, limit + 1, before);
    const page = rows.slice(0, limit);
    return { items: page.map(toMessage), next: rows.length > limit ? String(page[page.length - 1]!.id) : null };
  }

  async broadcastMail(workspaceId: string, broadcastId: string, options: { limit: number; cursor: string | null; from: number | null; until: number | null; status: MessageStatus | "accepted" | null }): Promise<Page<OutreachMailRecord>> {
    const limit = Math.max(1, Math.min(MOST_MESSAGES_PER_PAGE, Math.floor(options.limit) || 1));
    const after = options.cursor !== null && /^[1-9][0-9]{0,15}$/.test(options.cursor) ? Number(options.cursor) : null;
    const rows = await this.deps.repository.ofBroadcast(this.deps.store.db, workspaceId, broadcastId, { limit: limit + 1, after, from: options.from, until: options.until, status: options.status });
    const page = rows.slice(0, limit);
    const n = (v: number | null) => (v === null ? null : Number(v));
    return {
      items: page.map((r) => ({ ...toMessage(r), skipReason: r.skip_reason, times: { delivered: n(r.delivered_at), opened: n(r.opened_at), clicked: n(r.clicked_at), bounced: n(r.bounced_at), unsubscribed: n(r.unsubscribed_at) } })),
      next: rows.length > limit ? String(page[page.length - 1]!.id) : null,
    };
  }
}

function counts(r: CountRow): MessageCounts {
  return { sent: r.sent, delivered: r.delivered, opened: r.opened, clicked: r.clicked, bounced: r.bounced, unsubscribed: r.unsubscribed, skipped: r.skipped };
}

export function toMessage(r: OutreachMessageRow): OutreachMessage {
  const statuses: MessageStatus[] = [];
  if (r.skip_reason !== null) statuses.push("skipped");
  else statuses.push("sent");
  if (r.delivered_at !== null) statuses.push("delivered");
  if (r.opened_at !== null) statuses.push("opened");
  if (r.clicked_at !== null) statuses.push("clicked");
  if (r.bounced_at !== null) statuses.push("bounced");
  if (r.unsubscribed_at !== null) statuses.push("unsubscribed");
  return {
    messageId: r.message_id ?? "",
    deliveryId: r.delivery_id ?? "",
    workspaceId: r.workspace_id,
    personId: r.person_id,
    recipient: r.recipient,
    subject: r.subject,
    origin: originOf(r),
    statuses,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function originOf(r: OutreachMessageRow): OutreachOrigin {
  if (r.origin_kind === "journey") return { kind: "journey", journeyId: r.journey_id!, version: Number(r.journey_version), stepId: r.step_id!, runId: r.run_id! };
  if (r.origin_kind === "broadcast") return { kind: "broadcast", broadcastId: r.broadcast_id! };
  return { kind: "transactional", transactionalId: r.transactional_id };
}
