// All SQL of inbound messages and inbound rules. Every query names its workspace, except the
// webhook dispatcher's claim, which works across workspaces by design and hands each row on with
// its workspace id.
import { sql } from "kysely";
import type { Db } from "../store/store.js";
import { escapeLike } from "../store/like.js";
import type { InboundMessageRow, InboundRuleRow, InboundStatus, NewInboundMessageRow } from "./inbound.schema.js";

export interface InboundSearch {
  workspaceId: string;
  count: number;
  offset: number;
  recipient?: string;
  fromEmail?: string;
  subject?: string;
  mailboxHash?: string;
  tag?: string;
  status?: InboundStatus;
  fromDate?: number;
  toDate?: number;
}

/** What a webhook attempt changes. */
export interface HookOutcome {
  status: InboundStatus;
  attempts: number;
  nextAt: number | null;
  lastError: string | null;
}

const SUMMARY_COLUMNS = [
  "id",
  "workspace_id",
  "stream",
  "recipient",
  "mailbox_hash",
  "from_email",
  "subject",
  "tag",
  "status",
  "blocked_reason",
  "payload_json",
  "hook_attempts",
  "hook_next_at",
  "hook_last_error",
  "received_at",
] as const;

export type InboundSummaryRow = Omit<InboundMessageRow, "mime">;

export class InboundMessagesRepository {
  async insert(db: Db, row: NewInboundMessageRow): Promise<void> {
    await db.insertInto("inbound_messages").values(row).execute();
  }

  async findById(db: Db, workspaceId: string, id: string): Promise<InboundMessageRow | null> {
    const row = await db.selectFrom("inbound_messages").selectAll().where("workspace_id", "=", workspaceId).where("id", "=", id).executeTakeFirst();
    return row ?? null;
  }

  async search(db: Db, q: InboundSearch): Promise<{ total: number; rows: InboundSummaryRow[] }> {
    let query = db.selectFrom("inbound_messages").where("workspace_id", "=", q.workspaceId);
    if (q.recipient) query = query.where("recipient", "like", `%${escapeLike(q.recipient.toLowerCase())}%`);
    if (q.fromEmail) query = query.where("from_email", "like", `%${escapeLike(q.fromEmail.toLowerCase())}%`);
    if (q.subject) query = query.where("subject", "like", `%${escapeLike(q.subject)}%`);
    if (q.mailboxHash) query = query.where("mailbox_hash", "=", q.mailboxHash);
    if (q.tag) query = query.where("tag", "=", q.tag);
    if (q.status) query = query.where("status", "=", q.status);
    if (q.fromDate !== undefined) query = query.where("received_at", ">=", q.fromDate);
    if (q.toDate !== undefined) query = query.where("received_at", "<=", q.toDate);
    const total = await query.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    // Everything but the stored MIME, which a list never shows.
    const rows = await query.select(SUMMARY_COLUMNS).orderBy("received_at", "desc").orderBy("id").limit(q.count).offset(q.offset).execute();
    return { total: Number(total.n), rows };
  }

  /**
   * Claims up to `limit` messages whose webhook is due by moving their due time to `leaseUntil`:
   * another process (or this one after a crash) sees them again only when the lease ends. The
   * compare-and-set on hook_next_at makes the claim safe without row locks on both dialects.
   */
  async claimDueHooks(db: Db, now: number, leaseUntil: number, limit: number): Promise<InboundMessageRow[]> {
    const due = await db
      .selectFrom("inbound_messages")
      .select(["id", "hook_next_at"])
      .where("hook_next_at", "is not", null)
      .where("hook_next_at", "<=", now)
      .orderBy("hook_next_at")
      .limit(limit)
      .execute();
    const claimed: InboundMessageRow[] = [];
    for (const row of due) {
      const updated = await db
        .updateTable("inbound_messages")
        .set({ hook_next_at: leaseUntil })
        .where("id", "=", row.id)
        .where("hook_next_at", "=", row.hook_next_at)
        .returningAll()
        .executeTakeFirst();
      if (updated) claimed.push(updated);
    }
    return claimed;
  }

  /** Records an attempt's outcome, unless the row was changed meanwhile (retry or bypass by a user). */
  async recordHookOutcome(db: Db, id: string, claimedUntil: number, outcome: HookOutcome): Promise<boolean> {
    const result = await db
      .updateTable("inbound_messages")
      .set({ status: outcome.status, hook_attempts: outcome.attempts, hook_next_at: outcome.nextAt, hook_last_error: outcome.lastError })
      .where("id", "=", id)
      .where("hook_next_at", "=", claimedUntil)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Makes a message's webhook due now (retry of a failed one, bypass of a blocked one). */
  async scheduleHook(db: Db, workspaceId: string, id: string, fromStatuses: InboundStatus[], status: InboundStatus, now: number): Promise<boolean> {
    const result = await db
      .updateTable("inbound_messages")
      .set({ status, hook_next_at: now, hook_attempts: 0, hook_last_error: null, blocked_reason: null })
      .where("workspace_id", "=", workspaceId)
      .where("id", "=", id)
      .where("status", "in", fromStatuses)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Ends a message without a webhook (no URL configured when it came due). */
  async markProcessed(db: Db, id: string): Promise<void> {
    await db.updateTable("inbound_messages").set({ status: "Processed", hook_next_at: null }).where("id", "=", id).execute();
  }

  async listRules(db: Db, workspaceId: string, page: { count: number; offset: number }): Promise<{ total: number; rows: InboundRuleRow[] }> {
    const base = db.selectFrom("inbound_rules").where("workspace_id", "=", workspaceId);
    const total = await base.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    const rows = await base.selectAll().orderBy("id").limit(page.count).offset(page.offset).execute();
    return { total: Number(total.n), rows };
  }

  async findRule(db: Db, workspaceId: string, rule: string): Promise<InboundRuleRow | null> {
    return (await db.selectFrom("inbound_rules").selectAll().where("workspace_id", "=", workspaceId).where("rule", "=", rule).executeTakeFirst()) ?? null;
  }

  async insertRule(db: Db, workspaceId: string, rule: string, now: number): Promise<number> {
    const row = await db.insertInto("inbound_rules").values({ workspace_id: workspaceId, rule, created_at: now }).returning("id").executeTakeFirstOrThrow();
    return Number(row.id);
  }

  /** Deletes a rule; returns its text, or null when the workspace has no rule with that id. */
  async deleteRule(db: Db, workspaceId: string, id: number): Promise<string | null> {
    const row = await db.deleteFrom("inbound_rules").where("workspace_id", "=", workspaceId).where("id", "=", id).returning("rule").executeTakeFirst();
    return row?.rule ?? null;
  }

  /** The first rule that matches the sender address or its domain (both lower-cased). */
  async matchingRule(db: Db, workspaceId: string, address: string, domain: string): Promise<string | null> {
    const row = await db
      .selectFrom("inbound_rules")
      .select("rule")
      .where("workspace_id", "=", workspaceId)
      .where("rule", "in", [address, domain])
      .orderBy(sql`length(rule)`, "desc")
      .executeTakeFirst();
    return row?.rule ?? null;
  }
}
