// SQL of retention (migration 043): the lease and progress row, a page of messages in id order
// and the removal of their bodies (with the bounce reports kept as their dumps), a page of the
// oldest events, the least read position of the outbox consumers, and the deletion of events.
// Retention is the one job that reaches into other domains' tables by design, as data removal
// does: it owns no data, it ages everyone's (src/retention/README.md says what, table by table).
import { sql } from "../store/kysely.js";
import type { Db, Dialect } from "../store/store.js";
import type { MessageState } from "../store/schema.js";
import type { InboundState } from "../inbound/inbound.schema.js";
import type { WebhookState } from "../webhooks/webhooks.schema.js";
import { withoutContent, type PostmarkInboundMessage } from "../inbound/inbound-message.format.js";
import "./retention.schema.js";

/** Where every outbox consumer has read up to: (transaction, id) on PostgreSQL, (0, id) on SQLite. */
export interface ReadPosition {
  tx: number;
  id: number;
}

export interface MessagePageRow {
  id: string;
  workspaceId: string;
  state: MessageState;
  createdAt: number;
  bodyRemoved: boolean;
}

/** Where the inbound pass resumes: every message at or before it in (received_at, id) order is settled. */
export interface InboundMark {
  at: number;
  id: string;
}

export interface InboundPageRow {
  id: string;
  /** Not waiting on its webhook: its content may go. */
  settled: boolean;
  receivedAt: number;
  bodyRemoved: boolean;
}

export interface WebhookPageRow {
  id: number;
  /** Posted, failed or dropped: nothing will post it again. */
  final: boolean;
  createdAt: number;
}

/** Inbound states whose webhook is still to be posted: their content is what it will post. */
const INBOUND_IN_FLIGHT: InboundState[] = ["pending", "retrying"];
/** Webhook post states after which nothing posts it again. */
const WEBHOOK_FINAL: WebhookState[] = ["posted", "failed", "dropped"];

export interface EventPageRow {
  id: number;
  tx: number;
  createdAt: number;
}

export class RetentionRepository {
  constructor(private readonly dialect: Dialect) {}

  /**
   * Takes the passes for `owner` until `until` when nobody holds them, their holder's lease ran
   * out, or `owner` holds them already: compare-and-set, so of two workers one wins. `takeOver`
   * takes it whoever holds it (SQLite at start: the holder was this file's previous process). Returns
   * where the bodies pass resumes, or null when another process holds the lease.
   */
  async claim(db: Db, owner: string, now: number, until: number, takeOver = false): Promise<{ bodiesAfter: string; inboundAfter: InboundMark } | null> {
    const row = await db
      .updateTable("retention_progress")
      .set({ lease_owner: owner, lease_until: until, updated_at: now })
      .where("id", "=", 1)
      .where((eb) => (takeOver ? eb.lit(true) : eb.or([eb("lease_owner", "is", null), eb("lease_owner", "=", owner), eb("lease_until", "<", now)])))
      .returning(["bodies_after", "inbound_after_at", "inbound_after_id"])
      .executeTakeFirst();
    return row ? { bodiesAfter: row.bodies_after, inboundAfter: { at: Number(row.inbound_after_at), id: row.inbound_after_id } } : null;
  }

  /**
   * Renews the lease (and moves the outbound or inbound mark, when given) if `owner` still holds it. Run inside
   * each batch's transaction: a batch whose worker lost the lease is rolled back whole. On
   * PostgreSQL the row's lock orders two such transactions, so the loser sees the new owner.
   */
  async renew(db: Db, owner: string, now: number, until: number, mark?: { bodiesAfter?: string | undefined; inboundAfter?: InboundMark | undefined }): Promise<boolean> {
    const result = await db
      .updateTable("retention_progress")
      .set({
        lease_until: until,
        updated_at: now,
        ...(mark?.bodiesAfter === undefined ? {} : { bodies_after: mark.bodiesAfter }),
        ...(mark?.inboundAfter === undefined ? {} : { inbound_after_at: mark.inboundAfter.at, inbound_after_id: mark.inboundAfter.id }),
      })
      .where("id", "=", 1)
      .where("lease_owner", "=", owner)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Gives the lease back (end of a pass, shutdown), so another process may run the next pass at once. */
  async release(db: Db, owner: string): Promise<void> {
    await db.updateTable("retention_progress").set({ lease_owner: null, lease_until: 0 }).where("id", "=", 1).where("lease_owner", "=", owner).execute();
  }

  /**
   * Up to `limit` messages after `after` and below `below` in id order, a walk of the primary key
   * (ids are time-ordered, so `below` bounds it by time without an index on created_at).
   */
  async messagesPage(db: Db, after: string, below: string, limit: number): Promise<MessagePageRow[]> {
    const rows = await db
      .selectFrom("messages")
      .select(["id", "workspace_id", "state", "created_at", "body_removed_at"])
      .where("id", ">", after)
      .where("id", "<", below)
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, workspaceId: r.workspace_id, state: r.state, createdAt: Number(r.created_at), bodyRemoved: r.body_removed_at !== null }));
  }

  /**
   * Removes the bodies of these messages: the MIME (and with it the attachments) becomes empty,
   * the text, HTML and per-recipient content null. The state is checked again in the statement,
   * so a message that is still queued keeps its body whatever the page said. Returns the ids
   * whose body this removed.
   */
  async removeBodies(db: Db, ids: string[], now: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await db
      .updateTable("messages")
      .set({ mime: Buffer.alloc(0), text_body: null, html_body: null, per_delivery_json: null, body_removed_at: now })
      .where("id", "in", ids)
      .where("state", "<>", "queued")
      .where("body_removed_at", "is", null)
      .returning("id")
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * Up to `limit` inbound messages after `after` and received before `before`, in receipt order
   * (the index of migration 045: inbound ids are random, not time-ordered). "Settled" there means
   * not waiting on its webhook (pending, retrying).
   */
  async inboundPage(db: Db, after: InboundMark, before: number, limit: number): Promise<InboundPageRow[]> {
    const rows = await db
      .selectFrom("inbound_messages")
      .select(["id", "state", "received_at", "body_removed_at"])
      .where(sql<boolean>`(received_at, id) > (${after.at}, ${after.id})`)
      .where("received_at", "<", before)
      .orderBy("received_at")
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, settled: !INBOUND_IN_FLIGHT.includes(r.state), receivedAt: Number(r.received_at), bodyRemoved: r.body_removed_at !== null }));
  }

  /**
   * Removes the content of these inbound messages: the MIME becomes empty and the payload loses
   * its bodies and attachment contents (withoutContent). A message whose webhook is due again
   * (pending, retrying: a retry or bypass since the page was read) keeps it, checked again in the
   * statement. Returns the ids whose content this removed.
   */
  async removeInboundContent(db: Db, ids: string[], now: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await db.selectFrom("inbound_messages").select(["id", "payload_json"]).where("id", "in", ids).where("body_removed_at", "is", null).execute();
    const removed: string[] = [];
    for (const row of rows) {
      const payload = withoutContent(JSON.parse(row.payload_json) as PostmarkInboundMessage);
      const result = await db
        .updateTable("inbound_messages")
        .set({ mime: Buffer.alloc(0), payload_json: JSON.stringify(payload), body_removed_at: now })
        .where("id", "=", row.id)
        .where("state", "not in", INBOUND_IN_FLIGHT)
        .where("body_removed_at", "is", null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) removed.push(row.id);
    }
    return removed;
  }

  /** Up to `limit` webhook posts after id `after`, oldest first (the primary key's order). */
  async webhookPage(db: Db, after: number, limit: number): Promise<WebhookPageRow[]> {
    const rows = await db.selectFrom("webhook_deliveries").select(["id", "state", "created_at"]).where("id", ">", after).orderBy("id").limit(limit).execute();
    return rows.map((r) => ({ id: Number(r.id), final: WEBHOOK_FINAL.includes(r.state), createdAt: Number(r.created_at) }));
  }

  /**
   * Deletes these webhook posts with their attempts, when final (posted, failed, dropped: checked
   * again in the statement, so a post retried since the page was read stays). Returns how many posts.
   */
  async deleteWebhookRecords(db: Db, ids: number[]): Promise<number> {
    if (ids.length === 0) return 0;
    // The posts first, each checked in the statement that deletes it; their attempts go with them
    // (the foreign key cascades on both stores), and are deleted here too so that nothing hangs on
    // the cascade being declared.
    const deleted = await db.deleteFrom("webhook_deliveries").where("id", "in", ids).where("state", "in", WEBHOOK_FINAL).returning("id").execute();
    const gone = deleted.map((r) => r.id);
    if (gone.length > 0) await db.deleteFrom("webhook_attempts").where("delivery_id", "in", gone).execute();
    return gone.length;
  }

  /** Deletes the raw bounce reports kept as dumps of these messages' bounces (a copy of the message, often whole). */
  async removeBounceDumps(db: Db, workspaceId: string, messageIds: string[]): Promise<number> {
    if (messageIds.length === 0) return 0;
    const result = await db.deleteFrom("bounce_reports").where("workspace_id", "=", workspaceId).where("message_id", "in", messageIds).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /**
   * The least position every outbox consumer has read up to, or null when no consumer has a
   * cursor yet. Cursors only move forward, so an event at or before it stays read.
   */
  async leastRead(db: Db): Promise<ReadPosition | null> {
    const row = await db.selectFrom("outbox_cursors").select(["position_tx", "position_id"]).orderBy("position_tx").orderBy("position_id").limit(1).executeTakeFirst();
    return row ? { tx: Number(row.position_tx), id: Number(row.position_id) } : null;
  }

  /** Up to `limit` events after id `after`, oldest first (the primary key's order). */
  async eventsPage(db: Db, after: number, limit: number): Promise<EventPageRow[]> {
    const rows = await db.selectFrom("events").select(["id", "tx", "created_at"]).where("id", ">", after).orderBy("id").limit(limit).execute();
    return rows.map((r) => ({ id: Number(r.id), tx: this.dialect === "postgres" ? Number(r.tx) : 0, createdAt: Number(r.created_at) }));
  }

  async deleteEvents(db: Db, ids: number[]): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await sql`delete from events where id in (${sql.join(ids)})`.execute(db);
    return Number(result.numAffectedRows ?? 0);
  }
}
