// SQL for messages, their per-recipient deliveries at acceptance, and their event history.
import { escapeLike } from "../store/like.js";
import { sql } from "kysely";
import type { Db } from "../store/store.js";
import { addressKey } from "../shared/email-address.js";
import type { MessageRow, NewDeliveryRow, NewMessageEventRow, NewMessageRow } from "../store/schema.js";

/** Rows per multi-row INSERT: below SQLite's bound-parameter cap for our widest table. */
const INSERT_CHUNK = 400;

export interface MessageSearch {
  workspaceId: string;
  count: number;
  offset: number;
  recipient?: string;
  fromEmail?: string;
  tag?: string;
  status?: string;
  stream?: string;
  subject?: string;
  fromDate?: number;
  toDate?: number;
}

export type MessageSummaryRow = Omit<MessageRow, "mime" | "text_body" | "html_body" | "dsn_notify" | "dsn_json">;

const SUMMARY_COLUMNS = [
  "id",
  "workspace_id",
  "stream",
  "envelope_from",
  "from_header",
  "to_json",
  "cc_json",
  "bcc_json",
  "subject",
  "tag",
  "metadata_json",
  "track_opens",
  "track_links",
  "attachments_json",
  "sandboxed",
  "status",
  "created_at",
] as const;

export class MessagesRepository {
  async insertAccepted(db: Db, messages: NewMessageRow[], deliveries: NewDeliveryRow[], events: NewMessageEventRow[]): Promise<void> {
    for (let i = 0; i < messages.length; i += INSERT_CHUNK) {
      await db.insertInto("messages").values(messages.slice(i, i + INSERT_CHUNK)).execute();
    }
    for (let i = 0; i < deliveries.length; i += INSERT_CHUNK) {
      await db.insertInto("deliveries").values(deliveries.slice(i, i + INSERT_CHUNK)).execute();
    }
    await this.appendEvents(db, events);
  }

  async appendEvents(db: Db, events: NewMessageEventRow[]): Promise<void> {
    for (let i = 0; i < events.length; i += INSERT_CHUNK) {
      await db.insertInto("message_events").values(events.slice(i, i + INSERT_CHUNK)).execute();
    }
  }

  /** Marks messages "Sent" once none of their deliveries is still waiting for an attempt. */
  async markSentWhereDone(db: Db, messageIds: string[]): Promise<void> {
    for (let i = 0; i < messageIds.length; i += INSERT_CHUNK) {
      const ids = messageIds.slice(i, i + INSERT_CHUNK);
      await db
        .updateTable("messages")
        .set({ status: "Sent" })
        .where("id", "in", ids)
        .where("status", "=", "Queued")
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom("deliveries")
                .select("deliveries.id")
                .whereRef("deliveries.message_id", "=", "messages.id")
                .where("deliveries.state", "in", ["queued", "deferred"]),
            ),
          ),
        )
        .execute();
    }
  }

  async loadForDelivery(db: Db, ids: string[]) {
    const rows = [];
    for (let i = 0; i < ids.length; i += INSERT_CHUNK) {
      rows.push(
        ...(await db
          .selectFrom("messages")
          .select(["id", "workspace_id", "stream", "envelope_from", "from_header", "subject", "tag", "mime", "dsn_notify", "dsn_json", "created_at"])
          .where("id", "in", ids.slice(i, i + INSERT_CHUNK))
          .execute()),
      );
    }
    return rows;
  }

  async search(db: Db, q: MessageSearch): Promise<{ total: number; rows: MessageSummaryRow[] }> {
    let query = db.selectFrom("messages").where("workspace_id", "=", q.workspaceId);
    if (q.stream) query = query.where("stream", "=", q.stream);
    if (q.tag) query = query.where("tag", "=", q.tag);
    if (q.status) query = query.where("status", "=", q.status);
    if (q.subject) query = query.where("subject", "like", `%${escapeLike(q.subject)}%`);
    if (q.fromEmail) query = query.where("from_header", "like", `%${escapeLike(q.fromEmail)}%`);
    if (q.fromDate !== undefined) query = query.where("created_at", ">=", q.fromDate);
    if (q.toDate !== undefined) query = query.where("created_at", "<=", q.toDate);
    if (q.recipient) {
      const recipient = addressKey(q.recipient);
      query = query.where(({ exists, selectFrom }) =>
        exists(
          selectFrom("deliveries")
            .select("deliveries.id")
            .whereRef("deliveries.message_id", "=", "messages.id")
            .where("deliveries.workspace_id", "=", q.workspaceId)
            // Stored addresses keep their local part's case (RFC 5321) and have A-label domains, so
            // lower(recipient) is their addressKey: search ignores case and the domain's form.
            .where(sql<string>`lower(deliveries.recipient)`, "=", recipient),
        ),
      );
    }
    const totalRow = await query.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    const rows = await query
      .select([...SUMMARY_COLUMNS])
      .orderBy("created_at", "desc")
      .orderBy("id")
      .limit(q.count)
      .offset(q.offset)
      .execute();
    return { total: Number(totalRow.n), rows };
  }

  async findById(db: Db, workspaceId: string, id: string): Promise<MessageRow | null> {
    const row = await db.selectFrom("messages").selectAll().where("workspace_id", "=", workspaceId).where("id", "=", id).executeTakeFirst();
    return row ?? null;
  }

  async events(db: Db, messageId: string) {
    return db.selectFrom("message_events").selectAll().where("message_id", "=", messageId).orderBy("id").execute();
  }

  async deliveries(db: Db, messageId: string) {
    return db.selectFrom("deliveries").selectAll().where("message_id", "=", messageId).orderBy("id").execute();
  }
}
