// Hand-written SQL for the ingest path's hottest reads and writes, the way src/store/insert-rows.ts
// does inserts: Kysely builds and compiles a syntax tree for every value on every call, and for a
// request of one event that work cost more than the statements themselves. The texts are kept by
// shape (dialect and list lengths), so each is built once; they use the dialect's placeholders.
import { CompiledQuery, sql } from "../store/kysely.js";
import type { Db } from "../store/store.js";

const MOST_TEXTS = 256;
const texts = new Map<string, string>();

const dialects = new WeakMap<Db, boolean>();

/** Whether `db` speaks PostgreSQL ($n placeholders) rather than SQLite (?); asked of Kysely once per connection object. */
export function isPostgres(db: Db): boolean {
  let postgres = dialects.get(db);
  if (postgres === undefined) {
    postgres = sql`${null}`.compile(db).sql === "$1";
    dialects.set(db, postgres);
  }
  return postgres;
}

/**
 * The text for `key`, made once by `make` with a placeholder function that numbers them in order
 * (the order in which the caller must give the parameters).
 */
export function textFor(db: Db, key: string, make: (p: () => string) => string): string {
  const postgres = isPostgres(db);
  const full = `${postgres ? "pg" : "sqlite"} ${key}`;
  let text = texts.get(full);
  if (text === undefined) {
    let n = 0;
    text = make(() => (postgres ? `$${++n}` : "?"));
    if (texts.size >= MOST_TEXTS) texts.clear();
    texts.set(full, text);
  }
  return text;
}

export async function runRaw<R>(db: Db, text: string, parameters: unknown[]): Promise<R[]> {
  const result = await db.executeQuery<R>(CompiledQuery.raw(text, parameters));
  return result.rows;
}
