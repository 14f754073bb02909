// Multi-row INSERTs for the busiest writes (acceptance's messages, deliveries and events), with
// the SQL text written here instead of built by Kysely. Kysely makes and compiles a syntax-tree
// node for every value of every row on each call; for acceptance's rows (two dozen columns) that
// work showed in the profile of the thread every session waits for (measured gain: about 2% of
// CPU per relayed message, docs/benchmarks.md).
// The text is what Kysely compiles for the same insert on both dialects: quoted identifiers and
// one placeholder per value, "?" on SQLite and "$n" on PostgreSQL.
import type { Insertable } from "kysely";
import { CompiledQuery, sql } from "./kysely.js";
import type { Database } from "./schema.js";
import type { Db } from "./store.js";

type Table = keyof Database & string;

/** Texts kept by shape (dialect, table, columns, row count, returning); a few dozen in practice. */
const MOST_TEXTS = 256;
const texts = new Map<string, string>();

/**
 * Inserts `rows` into `table` in one statement and returns the `returning` columns of each
 * inserted row (in no promised order). Every row must give the same columns; rows that do not are
 * inserted through Kysely's builder, which fills the gaps with DEFAULT.
 */
export async function insertRows<T extends Table>(db: Db, table: T, rows: ReadonlyArray<Insertable<Database[T]>>, returning: readonly string[] = []): Promise<Array<Record<string, unknown>>> {
  if (rows.length === 0) return [];
  const columns = Object.keys(rows[0]!).filter((c) => (rows[0] as Record<string, unknown>)[c] !== undefined);
  const parameters: unknown[] = [];
  for (const row of rows as ReadonlyArray<Record<string, unknown>>) {
    if (!sameColumns(row, columns)) return insertWithBuilder(db, table, rows, returning);
    for (const c of columns) parameters.push(row[c]);
  }
  // The dialect's placeholder, from Kysely itself: one value compiled, a few microseconds.
  const postgres = sql`${null}`.compile(db).sql === "$1";
  const key = `${postgres ? "pg" : "sqlite"} ${table} ${columns.join(",")} ${rows.length} ${returning.join(",")}`;
  let text = texts.get(key);
  if (text === undefined) {
    text = insertText(table, columns, rows.length, returning, postgres);
    if (texts.size >= MOST_TEXTS) texts.clear();
    texts.set(key, text);
  }
  const result = await db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, parameters));
  return result.rows;
}

function sameColumns(row: Record<string, unknown>, columns: string[]): boolean {
  let defined = 0;
  for (const key in row) if (row[key] !== undefined) defined++;
  return defined === columns.length && columns.every((c) => row[c] !== undefined);
}

function insertText(table: string, columns: string[], count: number, returning: readonly string[], postgres: boolean): string {
  let n = 0;
  const tuple = () => `(${columns.map(() => (postgres ? `$${++n}` : "?")).join(", ")})`;
  const tuples = Array.from({ length: count }, tuple).join(", ");
  const text = `insert into ${quote(table)} (${columns.map(quote).join(", ")}) values ${tuples}`;
  return returning.length > 0 ? `${text} returning ${returning.map(quote).join(", ")}` : text;
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

async function insertWithBuilder(db: Db, table: Table, rows: ReadonlyArray<object>, returning: readonly string[]): Promise<Array<Record<string, unknown>>> {
  // The builder's types need a literal table; the rows were checked against this table's type above.
  const insert = db.insertInto(table as "events").values(rows as never);
  if (returning.length === 0) {
    await insert.execute();
    return [];
  }
  return (await insert.returning(returning as never).execute()) as Array<Record<string, unknown>>;
}
