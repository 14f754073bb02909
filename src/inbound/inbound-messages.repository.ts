// All SQL of inbound messages and inbound rules. Every query names its workspace.
import { sql } from "../store/kysely.js";
import type { Db } from "../store/store.js";
import { containsText } from "../store/like.js";
import type { InboundMessageRow, InboundRuleRow, InboundState, NewInboundMessageRow } from "./inbound.schema.js";
import type { InboundRecord, InboundRule } from "./inbound.record.js";
import type { PostmarkInboundMessage } from "./inbound-message.format.js";

export type { InboundRecord, InboundRule } from "./inbound.record.js";

export interface InboundSearch {
  workspaceId: string;
  count: number;
  offset: number;
  recipient?: string;
  fromEmail?: string;
  subject?: string;
  mailboxHash?: string;
  tag?: string;
  /** Any of these states. */
  states?: InboundState[];
  fromDate?: number;
  toDate?: number;
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
  "state",
  "blocked_reason",
  "payload_json",
  "received_at",
  "body_removed_at",
] as const;

export class InboundMessagesRepository {
  async insert(db: Db, row: NewInboundMessageRow): Promise<void> {
    await db.insertInto("inbound_messages").values(row).execute();
  }

  async findById(db: Db, workspaceId: string, id: string): Promise<InboundRecord | null> {
    const row = await db.selectFrom("inbound_messages").select(SUMMARY_COLUMNS).where("workspace_id", "=", workspaceId).where("id", "=", id).executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  /** The message as received, with our Authentication-Results on top. */
  async mime(db: Db, workspaceId: string, id: string): Promise<Buffer | null> {
    const row = await db.selectFrom("inbound_messages").select("mime").where("workspace_id", "=", workspaceId).where("id", "=", id).executeTakeFirst();
    return row ? Buffer.from(row.mime) : null;
  }

  async search(db: Db, q: InboundSearch): Promise<{ total: number; records: InboundRecord[] }> {
    let query = db.selectFrom("inbound_messages").where("workspace_id", "=", q.workspaceId);
    if (q.recipient) query = query.where(containsText("recipient", q.recipient.toLowerCase()));
    if (q.fromEmail) query = query.where(containsText("from_email", q.fromEmail.toLowerCase()));
    if (q.subject) query = query.where(containsText("subject", q.subject));
    if (q.mailboxHash) query = query.where("mailbox_hash", "=", q.mailboxHash);
    if (q.tag) query = query.where("tag", "=", q.tag);
    if (q.states) query = query.where("state", "in", q.states);
    if (q.fromDate !== undefined) query = query.where("received_at", ">=", q.fromDate);
    if (q.toDate !== undefined) query = query.where("received_at", "<=", q.toDate);
    const total = await query.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    // Everything but the stored MIME, which a list never shows.
    const rows = await query.select(SUMMARY_COLUMNS).orderBy("received_at", "desc").orderBy("id").limit(q.count).offset(q.offset).execute();
    return { total: Number(total.n), records: rows.map(toRecord) };
  }

  /** Moves a message from one of `from` to `to` (a user's retry or bypass); false when it was in none of them. */
  async moveState(db: Db, workspaceId: string, id: string, from: InboundState[], to: InboundState): Promise<boolean> {
    const result = await db
      .updateTable("inbound_messages")
      .set({ state: to, blocked_reason: null })
      .where("workspace_id", "=", workspaceId)
      .where("id", "=", id)
      .where("state", "in", from)
      // A message whose content retention removed has nothing left to post.
      .where("body_removed_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Sets a message's state as its webhook's outcome says. */
  async setState(db: Db, workspaceId: string, id: string, state: InboundState): Promise<void> {
    await db.updateTable("inbound_messages").set({ state }).where("workspace_id", "=", workspaceId).where("id", "=", id).execute();
  }

  async listRules(db: Db, workspaceId: string, page: { count: number; offset: number }): Promise<{ total: number; rules: InboundRule[] }> {
    const base = db.selectFrom("inbound_rules").where("workspace_id", "=", workspaceId);
    const total = await base.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    const rows = await base.select(["id", "rule"]).orderBy("id").limit(page.count).offset(page.offset).execute();
    return { total: Number(total.n), rules: rows.map((r) => ({ id: Number(r.id), rule: r.rule })) };
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

function toRecord(row: Pick<InboundMessageRow, (typeof SUMMARY_COLUMNS)[number]>): InboundRecord {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    state: row.state,
    tag: row.tag,
    blockedReason: row.blocked_reason,
    payload: JSON.parse(row.payload_json) as PostmarkInboundMessage,
    receivedAt: Number(row.received_at),
    bodyRemovedAt: row.body_removed_at === null ? null : Number(row.body_removed_at),
  };
}
