// Bounce records (Postmark's /bounces model), made as a reaction to the events that tell of mail
// that did not arrive or was not wanted: a bounce during our session or reported later, retries
// run out, an operator's purge, a delay report, an auto-reply, a complaint. Each record is
// announced as bounce.recorded (or complaint.recorded) with the event that caused it, in the same
// transaction; deactivating types then suppress the address (suppressions.service.ts reacts).
// An unverified report (src/bounces/README.md) becomes an Unknown record, which suppresses no one.
import type { Clock } from "../shared/clock.js";
import type { Store } from "../store/store.js";
import type { BounceRow } from "../store/schema.js";
import { addressKey } from "../shared/email-address.js";
import type { SuppressionsService } from "../suppressions/suppressions.service.js";
import { BounceNotActivatable, BounceNotFound } from "./bounces.errors.js";
import { BounceReportsRepository } from "./bounce-reports.repository.js";
import type { Reaction } from "../events/outbox.js";
import type { NewEvent, RecordedEvent } from "../events/event-map.js";
import { formatMailbox } from "../messages/addresses.js";
import type { MessagesService } from "../messages/messages.service.js";
import { BOUNCE_TYPES, isBounceType, type BounceType } from "./bounce-types.js";
import type { BounceFilter, BouncesRepository } from "./bounces.repository.js";

/** A bounce record in Posthorn's words (the Postmark edge maps it to a Bounce). */
export interface BounceRecord {
  id: number;
  workspaceId: string;
  messageId: string;
  stream: string;
  type: BounceType;
  typeCode: number;
  description: string;
  details: string;
  email: string;
  from: string;
  subject: string;
  tag: string | null;
  inactive: boolean;
  canActivate: boolean;
  bouncedAt: number;
  /** Whether the raw text of a report about the bounce was kept (bounces met during our own session have none). */
  dumpAvailable: boolean;
}

/** Bounce records by type, and how many addresses are inactive (Postmark's delivery statistics). */
export interface DeliveryStats {
  inactiveAddresses: number;
  total: number;
  byType: Array<{ type: BounceType; count: number }>;
}

const CAUSES = ["delivery.bounced", "delivery.expired", "delivery.delayed", "delivery.auto-replied", "delivery.complained", "delivery.unverified-report"] as const;

export class BouncesService {
  private readonly reports = new BounceReportsRepository();

  constructor(
    private readonly deps: {
      clock: Clock;
      repository: BouncesRepository;
      messages: Pick<MessagesService, "forBounces">;
      /** For reading and activating records through the API. */
      store?: Store;
      suppressions?: Pick<SuppressionsService, "reactivate">;
    },
  ) {}

  async search(workspaceId: string, filter: BounceFilter, page: { count: number; offset: number }): Promise<{ total: number; bounces: BounceRecord[] }> {
    const db = this.store().db;
    const { total, rows } = await this.deps.repository.search(db, workspaceId, filter, page);
    const reported = await this.reports.keysWithReports(db, workspaceId, [...new Set(rows.map((r) => r.message_id))]);
    return { total, bounces: rows.map((r) => ({ ...toRecord(r), dumpAvailable: reported.has(`${r.message_id} ${addressKey(r.email)}`) })) };
  }

  async get(workspaceId: string, id: number): Promise<BounceRecord> {
    const { record } = await this.withDump(workspaceId, id);
    return record;
  }

  /** The raw text of the report that told of the bounce; "" when none was kept (a bounce met during our own session). */
  async dump(workspaceId: string, id: number): Promise<string> {
    const { dump } = await this.withDump(workspaceId, id);
    return dump ?? "";
  }

  private async withDump(workspaceId: string, id: number): Promise<{ record: BounceRecord; dump: string | null }> {
    const db = this.store().db;
    const row = await this.deps.repository.find(db, workspaceId, id);
    if (!row) throw BounceNotFound(`No bounce with id ${id} was found.`);
    const dump = await this.reports.latest(db, workspaceId, row.message_id, addressKey(row.email));
    return { record: { ...toRecord(row), dumpAvailable: dump !== null }, dump };
  }

  async deliveryStats(workspaceId: string): Promise<DeliveryStats> {
    const db = this.store().db;
    const counts = await this.deps.repository.countByType(db, workspaceId);
    const byType = counts.filter((c): c is { type: BounceType; count: number } => isBounceType(c.type)).sort((a, b) => BOUNCE_TYPES[a.type].code - BOUNCE_TYPES[b.type].code);
    return { inactiveAddresses: await this.deps.repository.countInactiveAddresses(db, workspaceId), total: byType.reduce((n, c) => n + c.count, 0), byType };
  }

  /**
   * Reactivates the address a bounce made inactive: its suppression on the bounce's stream goes
   * (suppression.removed, whose reaction marks the address's records active). Only a record that
   * can be activated: one whose address it made inactive, and not a spam complaint's.
   */
  async activate(workspaceId: string, id: number): Promise<BounceRecord> {
    const suppressions = this.deps.suppressions;
    if (!suppressions) throw new Error("bounces: no suppressions service given for activation");
    await this.store().write(async (trx) => {
      const row = await this.deps.repository.find(trx, workspaceId, id);
      if (!row) throw BounceNotFound(`No bounce with id ${id} was found.`);
      if (row.can_activate !== 1 || row.type === "SpamComplaint") throw BounceNotActivatable(`The bounce ${id} cannot be activated.`);
      const removed = await suppressions.reactivate(trx, { workspaceId, stream: row.stream, email: row.email, origin: "Customer" });
      // Not suppressed any more (deleted by other means): the record still says inactive; clear it.
      if (removed === null) await this.deps.repository.markActive(trx, workspaceId, row.stream, addressKey(row.email));
    });
    return this.get(workspaceId, id);
  }

  /** An address active again on a stream (a suppression deleted, a bounce activated): its bounce records stop holding it inactive. */
  reactivatedReaction(): Reaction {
    return {
      name: "bounces: records active again when the suppression goes",
      types: ["suppression.removed"],
      handle: async (trx, events) => {
        for (const event of events) {
          if (event.type !== "suppression.removed" || !event.recipient) continue;
          await this.deps.repository.markActive(trx, event.workspaceId, event.data.stream, addressKey(event.recipient));
        }
      },
    };
  }

  private store(): Store {
    if (!this.deps.store) throw new Error("bounces: no store given for reading records");
    return this.deps.store;
  }

  /**
   * Bounce records by id within a workspace, in Posthorn's words (webhook payloads read them), each
   * saying whether a report was kept; with the kept report itself (`dump`, else null) for the ids
   * in `withDumps` (a webhook that includes the bounce's content).
   */
  async records(workspaceId: string, ids: number[], withDumps: ReadonlySet<number> = new Set()): Promise<Map<number, BounceRecord & { dump: string | null }>> {
    const db = this.store().db;
    const rows = await this.deps.repository.byIds(db, workspaceId, ids);
    const reported = await this.reports.keysWithReports(db, workspaceId, [...new Set(rows.map((r) => r.message_id))]);
    const records = new Map<number, BounceRecord & { dump: string | null }>();
    for (const r of rows) {
      const dumpAvailable = reported.has(`${r.message_id} ${addressKey(r.email)}`);
      const dump = dumpAvailable && withDumps.has(Number(r.id)) ? await this.reports.latest(db, workspaceId, r.message_id, addressKey(r.email)) : null;
      records.set(Number(r.id), { ...toRecord(r), dumpAvailable, dump });
    }
    return records;
  }

  /** Records a bounce for each event of mail that did not arrive, and announces it. */
  recordReaction(): Reaction {
    return {
      name: "bounces: a record per bounce, complaint and auto-reply",
      types: CAUSES,
      handle: async (trx, events, outbox) => {
        const messages = await this.deps.messages.forBounces(trx, [...new Set(events.map((e) => e.messageId!))]);
        const announced: NewEvent[] = [];
        for (const event of events) {
          const bounce = bounceOf(event);
          const message = messages.get(event.messageId!);
          if (!bounce || !message) continue;
          const type = BOUNCE_TYPES[bounce.type];
          const unverified = event.type === "delivery.unverified-report";
          const bounceId = await this.deps.repository.insert(trx, {
            workspace_id: event.workspaceId,
            message_id: event.messageId!,
            stream: bounce.stream,
            type: bounce.type,
            type_code: type.code,
            email: event.recipient!,
            from_header: formatMailbox(message.from),
            subject: message.subject,
            tag: message.tag,
            description: unverified ? "Unverified report" : type.name,
            details: bounce.details,
            inactive: type.deactivates ? 1 : 0,
            // A spam complaint makes the address inactive for good, as at Postmark: the recipient
            // asked not to get the mail, and the customer cannot overrule that.
            can_activate: type.deactivates && bounce.type !== "SpamComplaint" ? 1 : 0,
            bounced_at: this.deps.clock.now(),
          });
          const about = { workspaceId: event.workspaceId, messageId: event.messageId, recipient: event.recipient };
          announced.push(
            bounce.type === "SpamComplaint"
              ? { ...about, type: "complaint.recorded", data: { bounceId, stream: bounce.stream, cause: event.id } }
              : { ...about, type: "bounce.recorded", data: { bounceId, bounceType: bounce.type, stream: bounce.stream, cause: event.id } },
          );
        }
        await outbox.emit(trx, announced);
      },
    };
  }
}

/** The bounce an event stands for: its type and the text a bounce record keeps. */
function bounceOf(event: RecordedEvent): { type: BounceType; details: string; stream: string } | null {
  switch (event.type) {
    case "delivery.bounced":
      return { type: event.data.bounceType, details: event.data.summary, stream: event.data.stream };
    case "delivery.expired":
      return { type: "SoftBounce", details: event.data.summary, stream: event.data.stream };
    case "delivery.delayed":
      return { type: "Transient", details: event.data.summary, stream: event.data.stream };
    case "delivery.auto-replied":
      return { type: "AutoResponder", details: event.data.summary, stream: event.data.stream };
    case "delivery.complained":
      return { type: "SpamComplaint", details: event.data.summary, stream: event.data.stream };
    case "delivery.unverified-report":
      // Unknown does not deactivate: the record is there for an operator to see, and suppresses no one.
      return {
        type: "Unknown",
        details: `Unverified ${event.data.report} report, not acted on (it came to no signed return path of ours): claims ${event.data.claimed}: ${event.data.summary}`,
        stream: event.data.stream,
      };
    default:
      return null;
  }
}

function toRecord(row: BounceRow): BounceRecord {
  const type: BounceType = isBounceType(row.type) ? row.type : "Unknown";
  return {
    id: Number(row.id),
    workspaceId: row.workspace_id,
    messageId: row.message_id,
    stream: row.stream,
    type,
    typeCode: row.type_code,
    description: row.description,
    details: row.details,
    email: row.email,
    from: row.from_header,
    subject: row.subject,
    tag: row.tag,
    inactive: row.inactive === 1,
    canActivate: row.can_activate === 1 && type !== "SpamComplaint",
    bouncedAt: Number(row.bounced_at),
    dumpAvailable: false,
  };
}
