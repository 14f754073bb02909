// The SQL of erasing one address from every table. Tables are found by introspection, not listed,
// so that tables other domains add later are covered by the same rules:
// - a record about the address (an outbound message from it or only to it, an inbound message
//   from or to it) is deleted with every row naming its id (a message_id or subject_id column);
// - a row whose recipient, email, email_key or from_email column is the address is deleted;
// - any other text, JSON or binary value that still mentions the address is rewritten without it
//   (redaction.ts): a message to it and others keeps the others.
// Every statement is idempotent, so a removal that stopped half-way is simply run again.
import type { RawBuilder } from "kysely";
import { sql } from "../store/kysely.js";
import type { Db } from "../store/store.js";
import type { Dialect } from "../store/store.js";
import { escapeLike } from "../store/like.js";
import { redactValue } from "./redaction.js";

/** Tables whose rows are the removal's own bookkeeping: data_removals keeps the address until it is done. */
const OWN_TABLES = new Set(["data_removals"]);
/** Columns that hold one address per row: a row whose value is the address is about it, and goes. */
const ADDRESS_COLUMNS = ["recipient", "email", "email_key", "from_email"];
/** Columns that name a record by id: rows naming an erased record go with it. */
const RECORD_COLUMNS = ["message_id", "subject_id"];
/** Ids per statement, under every driver's limit on bound parameters. */
const CHUNK = 500;

interface TableShape {
  name: string;
  columns: Array<{ name: string; kind: "text" | "binary" | "other" }>;
}

/** An outbound message that mentions the address somewhere in its envelope or headers. */
export interface OutboundCandidate {
  id: string;
  envelopeFrom: string;
  fromJson: string;
  toJson: string;
  ccJson: string;
  bccJson: string;
}

function kindOf(dataType: string): "text" | "binary" | "other" {
  if (/blob|bytea/i.test(dataType)) return "binary";
  if (/char|text|clob|json|uuid/i.test(dataType)) return "text";
  return "other";
}

export class ErasureRepository {
  constructor(private readonly dialect: Dialect) {}

  async tables(db: Db): Promise<TableShape[]> {
    const tables = await db.introspection.getTables();
    return tables
      .filter((t) => !t.isView && !OWN_TABLES.has(t.name))
      .map((t) => ({ name: t.name, columns: t.columns.map((c) => ({ name: c.name, kind: kindOf(c.dataType) })) }));
  }

  /** `lower(column) like '%address%'` for a text or binary column, in the dialect's words. */
  private mentions(column: string, kind: "text" | "binary", address: string): RawBuilder<boolean> {
    const pattern = `%${escapeLike(address.toLowerCase())}%`;
    const ref = sql.ref(column);
    if (this.dialect === "postgres") {
      // encode(…, 'escape') keeps printable ASCII as it is, which is all an address is.
      return kind === "binary" ? sql<boolean>`lower(encode(${ref}, 'escape')) like ${pattern} escape '\\'` : sql<boolean>`lower(${ref}::text) like ${pattern} escape '\\'`;
    }
    return sql<boolean>`lower(cast(${ref} as text)) like ${pattern} escape '\\'`;
  }

  async outboundCandidates(db: Db, address: string): Promise<OutboundCandidate[]> {
    const rows = await db
      .selectFrom("messages")
      .select(["id", "envelope_from", "from_json", "to_json", "cc_json", "bcc_json"])
      .where((eb) =>
        eb.or(["envelope_from", "from_json", "to_json", "cc_json", "bcc_json"].map((c) => this.mentions(c, "text", address))),
      )
      .execute();
    return rows.map((r) => ({ id: r.id, envelopeFrom: r.envelope_from, fromJson: r.from_json, toJson: r.to_json, ccJson: r.cc_json, bccJson: r.bcc_json }));
  }

  /** Inbound messages from the address or received for it. */
  async inboundIds(db: Db, address: string): Promise<string[]> {
    const rows = await db
      .selectFrom("inbound_messages")
      .select("id")
      .where((eb) => eb.or([eb(sql`lower(from_email)`, "=", address), eb(sql`lower(recipient)`, "=", address)]))
      .execute();
    return rows.map((r) => r.id);
  }

  /** Deletes records (outbound or inbound messages) and every row that names one by id. */
  async deleteRecords(db: Db, tables: TableShape[], ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      for (const table of tables) {
        for (const column of RECORD_COLUMNS.filter((c) => table.columns.some((col) => col.name === c))) {
          await sql`delete from ${sql.table(table.name)} where ${sql.ref(column)} in (${sql.join(chunk)})`.execute(db);
        }
      }
      await db.deleteFrom("messages").where("id", "in", chunk).execute();
      await db.deleteFrom("inbound_messages").where("id", "in", chunk).execute();
    }
  }

  /** Deletes every row whose address column (recipient, email, …) is the address, in any case. */
  async deleteRowsNaming(db: Db, tables: TableShape[], address: string): Promise<void> {
    for (const table of tables) {
      for (const column of ADDRESS_COLUMNS.filter((c) => table.columns.some((col) => col.name === c && col.kind === "text"))) {
        await sql`delete from ${sql.table(table.name)} where lower(${sql.ref(column)}) = ${address}`.execute(db);
      }
    }
  }

  /**
   * Rewrites every remaining value that mentions the address without it. A table with an id
   * column is updated row by row; one without, by value (rows with equal values get equal results).
   */
  async redactEverywhere(db: Db, tables: TableShape[], address: string): Promise<number> {
    let rewritten = 0;
    for (const table of tables) {
      const hasId = table.columns.some((c) => c.name === "id");
      for (const column of table.columns) {
        if (column.kind === "other") continue;
        const { rows } = await sql<{ id?: unknown; value: unknown }>`select ${hasId ? sql`id, ` : sql``}${sql.ref(column.name)} as value from ${sql.table(table.name)} where ${this.mentions(column.name, column.kind, address)}`.execute(db);
        for (const row of rows) {
          const stored = row.value;
          if (stored === null || stored === undefined) continue;
          // PostgreSQL hands json/jsonb back parsed; it takes the text form back.
          const value = Buffer.isBuffer(stored) || typeof stored === "string" ? stored : stored instanceof Uint8Array ? Buffer.from(stored) : JSON.stringify(stored);
          const redacted = redactValue(value, address);
          const where = hasId ? sql`id = ${row.id}` : sql`${sql.ref(column.name)} = ${stored instanceof Uint8Array ? Buffer.from(stored) : value}`;
          await sql`update ${sql.table(table.name)} set ${sql.ref(column.name)} = ${redacted} where ${where}`.execute(db);
          rewritten++;
        }
      }
    }
    return rewritten;
  }
}
