// Operating the delivery queue: what is waiting where, retrying deferred mail now, and purging
// a destination's mail. Used by the `posthorn queue` command and the app API.
import type { Store } from "../../store/store.js";
import type { Clock } from "../../shared/clock.js";
import type { BouncesService } from "../../bounces/bounces.service.js";
import type { MessagesRepository } from "../../messages/messages.repository.js";
import { QueueDomainRequired } from "./queue.errors.js";

export interface QueueSummary {
  /** Deliveries by state (queued, deferred, delivered, bounced, suppressed, expired). */
  states: Record<string, number>;
  /** Recipient domains with the most deliveries waiting, largest first. */
  destinations: Array<{ domain: string; queued: number; deferred: number; oldestCreatedAt: number }>;
}

const TOP_DESTINATIONS = 10;

export class QueueService {
  constructor(private readonly deps: { store: Store; clock: Clock; bounces: BouncesService; messages: MessagesRepository }) {}

  async summary(): Promise<QueueSummary> {
    const db = this.deps.store.db;
    const states = await db
      .selectFrom("deliveries")
      .select(["state", (eb) => eb.fn.countAll<number>().as("n")])
      .groupBy("state")
      .execute();
    const destinations = await db
      .selectFrom("deliveries")
      .select((eb) => [
        "domain",
        eb.fn.sum<number>(eb.case().when("state", "=", "queued").then(1).else(0).end()).as("queued"),
        eb.fn.sum<number>(eb.case().when("state", "=", "deferred").then(1).else(0).end()).as("deferred"),
        eb.fn.min<number>("created_at").as("oldest"),
        eb.fn.countAll<number>().as("total"),
      ])
      .where("state", "in", ["queued", "deferred"])
      .groupBy("domain")
      .orderBy("total", "desc")
      .orderBy("domain")
      .limit(TOP_DESTINATIONS)
      .execute();
    return {
      states: Object.fromEntries(states.map((r) => [r.state, Number(r.n)])),
      destinations: destinations.map((d) => ({
        domain: d.domain,
        queued: Number(d.queued),
        deferred: Number(d.deferred),
        oldestCreatedAt: Number(d.oldest),
      })),
    };
  }

  /** Makes deferred deliveries (of one domain, or all) due now. Returns how many. */
  async retryNow(options: { domain?: string } = {}): Promise<number> {
    const now = this.deps.clock.now();
    return this.deps.store.write(async (trx) => {
      let query = trx
        .updateTable("deliveries")
        .set({ next_attempt_at: now, updated_at: now })
        .where("state", "=", "deferred")
        // Rows held by a worker are mid-attempt; their outcome decides what comes next.
        .where("lease_owner", "is", null);
      if (options.domain) query = query.where("domain", "=", options.domain.toLowerCase());
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows);
    });
  }

  /**
   * Ends every waiting delivery to a domain as bounced, recording the reason on each. Rows in
   * the middle of an attempt are left to finish. The recipients are not suppressed: a purge is
   * the operator's decision about a destination, not a verdict on the addresses.
   */
  async purge(options: { domain: string; reason?: string }): Promise<number> {
    const domain = options.domain?.trim().toLowerCase();
    if (!domain) throw QueueDomainRequired();
    const reason = `Purged from the queue by an operator${options.reason ? `: ${options.reason}` : ""}`;
    return this.deps.store.write(async (trx) => {
      const now = this.deps.clock.now();
      const rows = await trx
        .selectFrom("deliveries")
        .innerJoin("messages", "messages.id", "deliveries.message_id")
        .select([
          "deliveries.id",
          "deliveries.recipient",
          "deliveries.workspace_id",
          "messages.id as message_id",
          "messages.stream",
          "messages.from_header",
          "messages.subject",
          "messages.tag",
        ])
        .where("deliveries.domain", "=", domain)
        .where("deliveries.state", "in", ["queued", "deferred"])
        .where("deliveries.lease_owner", "is", null)
        .execute();
      const events = [];
      for (const row of rows) {
        await trx
          .updateTable("deliveries")
          .set({ state: "bounced", last_reply: reason, updated_at: now })
          .where("id", "=", row.id)
          .execute();
        const bounceId = await this.deps.bounces.record(trx, {
          workspaceId: row.workspace_id,
          messageId: row.message_id,
          stream: row.stream,
          type: "Unknown",
          email: row.recipient,
          fromHeader: row.from_header,
          subject: row.subject,
          tag: row.tag,
          details: reason,
        });
        events.push({
          message_id: row.message_id,
          workspace_id: row.workspace_id,
          recipient: row.recipient,
          type: "Bounced",
          details_json: JSON.stringify({ Summary: reason, BounceID: String(bounceId) }),
          created_at: now,
        });
      }
      await this.deps.messages.appendEvents(trx, events);
      await this.deps.messages.markSentWhereDone(trx, [...new Set(rows.map((r) => r.message_id))]);
      return rows.length;
    });
  }
}
