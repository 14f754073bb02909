// SQL of the outreach ledger (migration 026: outreach_messages, outreach_limit_locks): the mail
// sent (or skipped) to people, its statuses, and the counted sends that message limits count.
import { sql } from "../../store/kysely.js";
import type { Db } from "../../store/store.js";
import type { Insertable } from "kysely";
import type { OutreachMessageRow, OutreachMessagesTable } from "./outreach.schema.js";
import "./outreach.schema.js";

export type NewOutreachRow = Insertable<OutreachMessagesTable>;
export type StatusColumn = "delivered_at" | "opened_at" | "clicked_at" | "bounced_at" | "unsubscribed_at";

export interface CountRow {
  step_id: string | null;
  sent: number;
  delivered: number;
  opened: number;
  clicked: number;
  bounced: number;
  unsubscribed: number;
  skipped: number;
}

const CHUNK = 200;

export class OutreachLedgerRepository {
  async insert(db: Db, rows: NewOutreachRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += CHUNK) await db.insertInto("outreach_messages").values(rows.slice(i, i + CHUNK)).execute();
  }

  /**
   * Takes each person's limit lock for the rest of the transaction (in id order, so two
   * transactions locking overlapping people cannot deadlock). On PostgreSQL the upsert's row lock
   * makes a concurrent check for the same person wait until this transaction ends; then it sees
   * this transaction's counted rows. SQLite has one writer at a time, so the lock is a formality.
   */
  async lockPeople(db: Db, workspaceId: string, personIds: string[], now: number): Promise<void> {
    for (const personId of [...new Set(personIds)].sort()) {
      await db
        .insertInto("outreach_limit_locks")
        .values({ workspace_id: workspaceId, person_id: personId, touched_at: now })
        .onConflict((oc) => oc.columns(["workspace_id", "person_id"]).doUpdateSet({ touched_at: now }))
        .execute();
    }
  }

  /** Times of the people's counted sends since `since`, by person. */
  async countedSince(db: Db, workspaceId: string, personIds: string[], since: number): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    const ids = [...new Set(personIds)];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await db
        .selectFrom("outreach_messages")
        .select(["person_id", "created_at"])
        .where("workspace_id", "=", workspaceId)
        .where("person_id", "in", ids.slice(i, i + CHUNK))
        .where("created_at", ">", since)
        .where("counted", "=", 1)
        .execute();
      for (const r of rows) out.set(r.person_id, [...(out.get(r.person_id) ?? []), Number(r.created_at)]);
    }
    return out;
  }

  async byMessageIds(db: Db, messageIds: string[]): Promise<Map<string, OutreachMessageRow>> {
    const out = new Map<string, OutreachMessageRow>();
    for (let i = 0; i < messageIds.length; i += CHUNK) {
      const rows = await db.selectFrom("outreach_messages").selectAll().where("message_id", "in", messageIds.slice(i, i + CHUNK)).execute();
      for (const r of rows) out.set(r.message_id!, r);
    }
    return out;
  }

  /** Sets a status time on the ledger rows of these messages (and recipient), once: the first event wins. */
  /** Which of these message ids are outreach messages (most mail is not: one read answers a whole batch). */
  async knownMessages(db: Db, messageIds: string[]): Promise<Set<string>> {
    const known = new Set<string>();
    for (let i = 0; i < messageIds.length; i += 500) {
      const rows = await db.selectFrom("outreach_messages").select("message_id").where("message_id", "in", messageIds.slice(i, i + 500)).execute();
      for (const r of rows) if (r.message_id !== null) known.add(r.message_id);
    }
    return known;
  }

  async markStatus(db: Db, column: StatusColumn, messageId: string, recipient: string | null, at: number): Promise<void> {
    let q = db.updateTable("outreach_messages").set({ [column]: at, updated_at: at }).where("message_id", "=", messageId).where(column, "is", null);
    if (recipient !== null) q = q.where(sql<string>`lower(recipient)`, "=", recipient.toLowerCase());
    await q.execute();
  }

  /** Marks the person's newest accepted message since `since` unsubscribed, unless it already is. */
  async markNewestUnsubscribed(db: Db, workspaceId: string, personId: string, since: number, at: number): Promise<void> {
    const newest = await db
      .selectFrom("outreach_messages")
      .select(["id", "unsubscribed_at"])
      .where("workspace_id", "=", workspaceId)
      .where("person_id", "=", personId)
      .where("message_id", "is not", null)
      .where("created_at", ">=", since)
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirst();
    if (!newest || newest.unsubscribed_at !== null) return;
    await db.updateTable("outreach_messages").set({ unsubscribed_at: at, updated_at: at }).where("id", "=", newest.id).execute();
  }

  async ofRunStep(db: Db, workspaceId: string, runId: string, stepId: string): Promise<OutreachMessageRow | null> {
    const row = await db
      .selectFrom("outreach_messages")
      .selectAll()
      .where("workspace_id", "=", workspaceId)
      .where("run_id", "=", runId)
      .where("step_id", "=", stepId)
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirst();
    return row ?? null;
  }

  async countsByStep(db: Db, workspaceId: string, journeyId: string, version: number | null): Promise<CountRow[]> {
    let q = db.selectFrom("outreach_messages").where("workspace_id", "=", workspaceId).where("journey_id", "=", journeyId);
    if (version !== null) q = q.where("journey_version", "=", version);
    const rows = await q.select(["step_id", ...countColumns()]).groupBy("step_id").execute();
    return rows.map(numbers);
  }

  async countsByBroadcast(db: Db, workspaceId: string, broadcastId: string): Promise<CountRow> {
    const row = await db
      .selectFrom("outreach_messages")
      .where("workspace_id", "=", workspaceId)
      .where("broadcast_id", "=", broadcastId)
      .select([sql<string | null>`null`.as("step_id"), ...countColumns()])
      .executeTakeFirst();
    return numbers(row ?? { step_id: null, sent: 0, delivered: 0, opened: 0, clicked: 0, bounced: 0, unsubscribed: 0, skipped: 0 });
  }

  /** A person's mail, newest first, after the row id `before` (the cursor). */
  async ofPerson(db: Db, workspaceId: string, personId: string, limit: number, before: number | null): Promise<OutreachMessageRow[]> {
    let q = db.selectFrom("outreach_messages").selectAll().where("workspace_id", "=", workspaceId).where("person_id", "=", personId);
    if (before !== null) q = q.where("id", "<", before);
    return q.orderBy("id", "desc").limit(limit).execute();
  }

  /** A broadcast's mail, oldest first, after the row id `after`; created within [from, until] and with the status, when given. */
  async ofBroadcast(db: Db, workspaceId: string, broadcastId: string, options: { limit: number; after: number | null; from: number | null; until: number | null; status: string | null }): Promise<OutreachMessageRow[]> {
    let q = db.selectFrom("outreach_messages").selectAll().where("workspace_id", "=", workspaceId).where("broadcast_id", "=", broadcastId);
    if (options.after !== null) q = q.where("id", ">", options.after);
    if (options.from !== null) q = q.where("created_at", ">=", options.from);
    if (options.until !== null) q = q.where("created_at", "<=", options.until);
    const column = options.status === null ? null : STATUS_COLUMNS[options.status];
    if (column) q = q.where(column, "is not", null);
    return q.orderBy("id").limit(options.limit).execute();
  }
}

/** The column that says a mail reached each status ("accepted" and "sent": a message was accepted; "skipped": it was not). */
const STATUS_COLUMNS: Record<string, "message_id" | "skip_reason" | StatusColumn> = {
  accepted: "message_id",
  sent: "message_id",
  skipped: "skip_reason",
  delivered: "delivered_at",
  opened: "opened_at",
  clicked: "clicked_at",
  bounced: "bounced_at",
  unsubscribed: "unsubscribed_at",
};

// Sums of 0/1 expressions, the same on both dialects.
function countColumns() {
  const has = (column: string) => sql<number>`sum(case when ${sql.ref(column)} is not null then 1 else 0 end)`;
  return [
    has("message_id").as("sent"),
    has("delivered_at").as("delivered"),
    has("opened_at").as("opened"),
    has("clicked_at").as("clicked"),
    has("bounced_at").as("bounced"),
    has("unsubscribed_at").as("unsubscribed"),
    has("skip_reason").as("skipped"),
  ];
}

function numbers(r: { step_id: string | null } & Record<string, unknown>): CountRow {
  const n = (v: unknown) => Number(v ?? 0);
  return { step_id: r.step_id, sent: n(r.sent), delivered: n(r.delivered), opened: n(r.opened), clicked: n(r.clicked), bounced: n(r.bounced), unsubscribed: n(r.unsubscribed), skipped: n(r.skipped) };
}
