// SQL for messages and the deliveries acceptance creates for them; rows become MessageRecords
// here, so nothing else parses the columns.
import { sql } from "../store/kysely.js";
import { containsText } from "../store/like.js";
import { insertRows } from "../store/insert-rows.js";
import type { Db } from "../store/store.js";
import { addressKey } from "../shared/email-address.js";
import type { MessageRow, MessageState, NewDeliveryRow, NewMessageRow } from "../store/schema.js";
import type { Address, LinkTracking } from "./message.types.js";
import type { MessageRecord } from "./message.record.js";
import { decodeDsnRequest, type DsnRequest } from "./dsn-request.js";
import { decodePerDelivery, type PerDelivery } from "./per-delivery.js";

/** Rows per multi-row INSERT: below SQLite's bound-parameter cap for our widest table. */
const INSERT_CHUNK = 400;

export interface MessageSearch {
  workspaceId: string;
  count: number;
  offset: number;
  recipient?: string;
  fromEmail?: string;
  tag?: string;
  state?: MessageState;
  stream?: string;
  subject?: string;
  fromDate?: number;
  toDate?: number;
}

const RECORD_COLUMNS = [
  "id",
  "workspace_id",
  "stream",
  "envelope_from",
  "from_json",
  "to_json",
  "cc_json",
  "bcc_json",
  "subject",
  "tag",
  "metadata_json",
  "track_opens",
  "track_links",
  "dsn_notify",
  "attachments_json",
  "sandboxed",
  "state",
  "created_at",
] as const;

type RecordRow = Pick<MessageRow, (typeof RECORD_COLUMNS)[number]>;

/** What the MTA needs of a message to send it. */
export interface MessageForDelivery {
  id: string;
  envelopeFrom: string;
  /**
   * The From header's address ("" when it names none): DKIM signs for its domain and VERP takes
   * its return path, so that SMTP mail whose MAIL FROM is in another domain still aligns (DMARC).
   */
  author: string;
  mime: Buffer;
  /** RFC 3461 parameters of an SMTP submission (dsn-request.ts), passed on to a next hop that offers DSN. */
  dsn: DsnRequest | null;
  /** What each recipient's copy is owed (per-delivery.ts); null: send the MIME as stored. */
  perDelivery: PerDelivery | null;
  /** Carried onto the delivered event, so that its consumers (the stats) need not read the message again. */
  tag: string | null;
  /** The acceptance span's W3C traceparent (src/observability/tracing.ts); null when untraced. */
  traceparent: string | null;
}

/** What a bounce record copies from its message (Postmark's bounce shows it). */
export interface MessageForBounce {
  id: string;
  from: Address;
  subject: string;
  tag: string | null;
}

/** What a webhook payload copies from its message. */
export interface MessageForWebhook {
  id: string;
  workspaceId: string;
  stream: string;
  tag: string | null;
  metadata: Record<string, string>;
}

/** What a failure notice (RFC 3464) needs of the original message. */
export interface MessageForNotice {
  id: string;
  workspaceId: string;
  stream: string;
  envelopeFrom: string;
  /** Whether failures are reported to envelopeFrom. */
  notifyFailure: boolean;
  dsnJson: string | null;
  acceptedAt: number;
  /** The header block, returned in the notice. */
  headers: Buffer;
}

export class MessagesRepository {
  /**
   * Inserts accepted messages and their deliveries. With `returnIds`, returns the id of each
   * delivery by message id and recipient (unique within a message), which RETURNING gives in no
   * promised order.
   */
  async insertAccepted(db: Db, messages: NewMessageRow[], deliveries: NewDeliveryRow[], returnIds = false): Promise<Map<string, number>> {
    for (let i = 0; i < messages.length; i += INSERT_CHUNK) await insertRows(db, "messages", messages.slice(i, i + INSERT_CHUNK));
    const ids = new Map<string, number>();
    for (let i = 0; i < deliveries.length; i += INSERT_CHUNK) {
      const rows = await insertRows(db, "deliveries", deliveries.slice(i, i + INSERT_CHUNK), returnIds ? ["id", "message_id", "recipient"] : []);
      for (const row of rows) ids.set(deliveryKey(row.message_id as string, row.recipient as string), Number(row.id));
    }
    return ids;
  }

  /**
   * Inserts messages that carry an idempotency key, each only if its workspace has not accepted
   * that key yet: the unique index (migration 026) decides, also between concurrent transactions on
   * PostgreSQL, where a second insert waits for the first to commit and then does nothing. Returns
   * the ids actually inserted.
   */
  async insertKeyed(db: Db, messages: NewMessageRow[]): Promise<Set<string>> {
    const inserted = new Set<string>();
    for (let i = 0; i < messages.length; i += INSERT_CHUNK) {
      const rows = await db
        .insertInto("messages")
        .values(messages.slice(i, i + INSERT_CHUNK))
        .onConflict((oc) => oc.columns(["workspace_id", "idempotency_key"]).where("idempotency_key", "is not", null).doNothing())
        .returning("id")
        .execute();
      for (const r of rows) inserted.add(r.id);
    }
    return inserted;
  }

  /** The messages a workspace accepted with these idempotency keys, by key. */
  async byIdempotencyKeys(db: Db, workspaceId: string, keys: string[]): Promise<Map<string, { id: string; createdAt: number }>> {
    const out = new Map<string, { id: string; createdAt: number }>();
    for (let i = 0; i < keys.length; i += INSERT_CHUNK) {
      const rows = await db
        .selectFrom("messages")
        .select(["id", "idempotency_key", "created_at"])
        .where("workspace_id", "=", workspaceId)
        .where("idempotency_key", "in", keys.slice(i, i + INSERT_CHUNK))
        .execute();
      for (const r of rows) out.set(r.idempotency_key!, { id: r.id, createdAt: Number(r.created_at) });
    }
    return out;
  }

  /** Replaces a message's stored MIME (acceptance's own rewrite in its transaction: delivery-id-field.ts). */
  async replaceMime(db: Db, messageId: string, mime: Buffer): Promise<void> {
    await db.updateTable("messages").set({ mime }).where("id", "=", messageId).execute();
  }

  /**
   * replaceMime for many messages. PostgreSQL: one UPDATE … FROM (VALUES …) per chunk, not a round
   * trip per message (outreach batches stamp every message: it was a statement per journey email,
   * docs/journeys-benchmark.md). SQLite: a prepared statement per message, calls within the process.
   */
  async replaceMimes(db: Db, rows: Array<{ id: string; mime: Buffer }>): Promise<void> {
    const postgres = sql`${null}`.compile(db).sql === "$1";
    if (!postgres || rows.length === 1) {
      for (const r of rows) await this.replaceMime(db, r.id, r.mime);
      return;
    }
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const values = sql.join(rows.slice(i, i + INSERT_CHUNK).map((r) => sql`(${r.id}::text, ${r.mime}::bytea)`));
      await sql`update messages as m set mime = v.mime from (values ${values}) as v(id, mime) where m.id = v.id`.execute(db);
    }
  }

  /** Marks messages finished once none of their deliveries is still waiting for an attempt. */
  async finishWhereDone(db: Db, messageIds: string[]): Promise<void> {
    for (let i = 0; i < messageIds.length; i += INSERT_CHUNK) {
      const ids = messageIds.slice(i, i + INSERT_CHUNK);
      await db
        .updateTable("messages")
        .set({ state: "finished" })
        .where("id", "in", ids)
        .where("state", "=", "queued")
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

  async forDelivery(db: Db, ids: string[]): Promise<MessageForDelivery[]> {
    const out: MessageForDelivery[] = [];
    for (let i = 0; i < ids.length; i += INSERT_CHUNK) {
      const rows = await db.selectFrom("messages").select(["id", "envelope_from", "from_json", "mime", "dsn_json", "per_delivery_json", "tag", "traceparent"]).where("id", "in", ids.slice(i, i + INSERT_CHUNK)).execute();
      for (const r of rows) out.push({ id: r.id, envelopeFrom: r.envelope_from, author: authorOf(r.from_json), mime: Buffer.from(r.mime), dsn: decodeDsnRequest(r.dsn_json), perDelivery: decodePerDelivery(r.per_delivery_json), tag: r.tag, traceparent: r.traceparent ?? null });
    }
    return out;
  }

  async forBounces(db: Db, ids: string[]): Promise<Map<string, MessageForBounce>> {
    const rows = await db.selectFrom("messages").select(["id", "from_json", "subject", "tag"]).where("id", "in", ids).execute();
    return new Map(rows.map((r) => [r.id, { id: r.id, from: address(JSON.parse(r.from_json)), subject: r.subject, tag: r.tag }]));
  }

  /** What webhook payloads copy from their messages (tag and metadata), by id. */
  async forWebhooks(db: Db, ids: string[]): Promise<Map<string, MessageForWebhook>> {
    const out = new Map<string, MessageForWebhook>();
    for (let i = 0; i < ids.length; i += INSERT_CHUNK) {
      const rows = await db.selectFrom("messages").select(["id", "workspace_id", "stream", "tag", "metadata_json"]).where("id", "in", ids.slice(i, i + INSERT_CHUNK)).execute();
      for (const r of rows) out.set(r.id, { id: r.id, workspaceId: r.workspace_id, stream: r.stream, tag: r.tag, metadata: JSON.parse(r.metadata_json) as Record<string, string> });
    }
    return out;
  }

  async forNotices(db: Db, ids: string[]): Promise<Map<string, MessageForNotice>> {
    const rows = await db
      .selectFrom("messages")
      .select(["id", "workspace_id", "stream", "envelope_from", "dsn_notify", "dsn_json", "created_at", "mime"])
      .where("id", "in", ids)
      .execute();
    return new Map(
      rows.map((r) => [
        r.id,
        {
          id: r.id,
          workspaceId: r.workspace_id,
          stream: r.stream,
          envelopeFrom: r.envelope_from,
          notifyFailure: r.dsn_notify === 1,
          dsnJson: r.dsn_json,
          acceptedAt: r.created_at,
          headers: headerBlock(Buffer.from(r.mime)),
        },
      ]),
    );
  }

  async search(db: Db, q: MessageSearch): Promise<{ total: number; records: MessageRecord[] }> {
    let query = db.selectFrom("messages").where("workspace_id", "=", q.workspaceId);
    if (q.stream) query = query.where("stream", "=", q.stream);
    if (q.tag) query = query.where("tag", "=", q.tag);
    if (q.state) query = query.where("state", "=", q.state);
    if (q.subject) query = query.where(containsText("subject", q.subject));
    if (q.fromEmail) query = query.where(containsText("from_json", q.fromEmail));
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
    const rows = await query.select([...RECORD_COLUMNS]).orderBy("created_at", "desc").orderBy("id").limit(q.count).offset(q.offset).execute();
    return { total: Number(totalRow.n), records: rows.map(toRecord) };
  }

  async findById(db: Db, workspaceId: string, id: string): Promise<{ record: MessageRecord; textBody: string | null; htmlBody: string | null; mime: Buffer; bodyRemovedAt: number | null } | null> {
    const row = await db.selectFrom("messages").selectAll().where("workspace_id", "=", workspaceId).where("id", "=", id).executeTakeFirst();
    return row ? { record: toRecord(row), textBody: row.text_body, htmlBody: row.html_body, mime: Buffer.from(row.mime), bodyRemovedAt: row.body_removed_at === null ? null : Number(row.body_removed_at) } : null;
  }

  /** A message's deliveries (tests and tools read them; the API reads events). */
  async deliveries(db: Db, messageId: string) {
    return db.selectFrom("deliveries").selectAll().where("message_id", "=", messageId).orderBy("id").execute();
  }
}

function toRecord(row: RecordRow): MessageRecord {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    stream: row.stream,
    envelopeFrom: row.envelope_from,
    from: address(JSON.parse(row.from_json)),
    to: addresses(row.to_json),
    cc: addresses(row.cc_json),
    bcc: addresses(row.bcc_json),
    subject: row.subject,
    tag: row.tag,
    metadata: JSON.parse(row.metadata_json) as Record<string, string>,
    trackOpens: row.track_opens === 1,
    linkTracking: row.track_links as LinkTracking,
    failureNotices: row.dsn_notify === 1,
    attachments: JSON.parse(row.attachments_json) as string[],
    sandboxed: row.sandboxed === 1,
    state: row.state,
    acceptedAt: row.created_at,
  };
}

function address(stored: { address: string; name: string }): Address {
  return { email: stored.address, name: stored.name };
}

function addresses(json: string): Address[] {
  return (JSON.parse(json) as Array<{ address: string; name: string }>).map(address);
}

/** The header block of a raw message, up to the blank line that ends it. */
function headerBlock(mime: Buffer): Buffer {
  const end = mime.indexOf("\r\n\r\n");
  return end < 0 ? mime : mime.subarray(0, end + 2);
}

/** The key of a delivery among those of one acceptance: message and recipient. */
export function deliveryKey(messageId: string, recipient: string): string {
  return `${messageId}\u0000${recipient}`;
}

/** The address of a stored From ({address, name}; address "" when the header named no mailbox). */
function authorOf(fromJson: string): string {
  const from = JSON.parse(fromJson) as { address?: unknown } | null;
  return typeof from?.address === "string" ? from.address : "";
}
