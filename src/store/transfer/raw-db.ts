// The connection export and import work through: better-sqlite3 or one pg client, used directly
// rather than through the Store. The Store's Kysely layer builds a syntax tree per statement and
// its SQLite side starts a checkpoint thread and awaits a WAL fsync per write; a transfer runs a
// handful of statements millions of times inside ONE transaction, and needs a cursor over each
// table (pg's DECLARE … FETCH; better-sqlite3's iterate) that the query layer does not offer.
import SQLite from "better-sqlite3";
import { pgDriver } from "../pg-driver.js";
import type { Dialect } from "../store.js";

export interface RawDb {
  readonly dialect: Dialect;
  /** Every row of a query, as objects. Placeholders are `?` on both dialects (rewritten for pg). */
  all(text: string, params?: readonly unknown[]): Promise<Array<Record<string, unknown>>>;
  run(text: string, params?: readonly unknown[]): Promise<void>;
  /** The rows of a query in pages of at most `pageSize`, each row an array in the query's column order. */
  pages(text: string, pageSize: number): AsyncGenerator<unknown[][]>;
  close(): Promise<void>;
}

/** `?` placeholders as pg's `$n` (our statements hold no `?` inside literals). */
function numbered(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

export function rawSqlite(file: string, options: { mustExist: boolean }): RawDb {
  const db = new SQLite(file, { fileMustExist: options.mustExist });
  db.pragma("busy_timeout = 10000");
  // Checked at import's end with foreign_key_check instead, once, over everything loaded: the
  // tables go in dependency order, so this only spares a lookup per row.
  db.pragma("foreign_keys = OFF");
  // Import runs the same multi-row insert text for every full batch of a table: prepared once.
  const statements = new Map<string, SQLite.Statement>();
  const prepare = (text: string) => {
    let statement = statements.get(text);
    if (!statement) {
      if (statements.size >= 64) statements.clear();
      statement = db.prepare(text);
      statements.set(text, statement);
    }
    return statement;
  };
  return {
    dialect: "sqlite",
    async all(text, params = []) {
      const statement = prepare(text);
      if (!statement.reader) {
        statement.run(...params);
        return [];
      }
      return statement.all(...params) as Array<Record<string, unknown>>;
    },
    async run(text, params = []) {
      prepare(text).run(...params);
    },
    async *pages(text, pageSize) {
      // One iterator over the statement: the connection stays inside the read transaction begun
      // by the caller, and nothing else runs on it while the pages are taken.
      const iterator = db.prepare(text).raw(true).iterate() as IterableIterator<unknown[]>;
      let page: unknown[][] = [];
      for (const row of iterator) {
        page.push(row);
        if (page.length >= pageSize) {
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
    },
    async close() {
      db.close();
    },
  };
}

export async function rawPostgres(url: string): Promise<RawDb> {
  const client = new (pgDriver().Client)({ connectionString: url });
  // 64-bit integers arrive as strings (pg's default); format.ts turns them into numbers, checking
  // that each is exact, rather than relying on the process-wide parser the Store sets.
  // A connection the server drops shows as the failing query's error; unhandled, 'error' would end the process.
  client.on("error", () => undefined);
  await client.connect();
  let cursors = 0;
  return {
    dialect: "postgres",
    async all(text, params = []) {
      return (await client.query(numbered(text), params as unknown[])).rows as Array<Record<string, unknown>>;
    },
    async run(text, params = []) {
      await client.query(numbered(text), params as unknown[]);
    },
    async *pages(text, pageSize) {
      // A cursor of the caller's transaction: the rows of the REPEATABLE READ snapshot, a page at
      // a time, instead of the whole table in memory.
      const name = `transfer_${++cursors}`;
      await client.query(`declare ${name} no scroll cursor for ${text}`);
      try {
        for (;;) {
          const result = await client.query({ text: `fetch ${pageSize} from ${name}`, rowMode: "array" });
          if (result.rows.length > 0) yield result.rows as unknown[][];
          if (result.rows.length < pageSize) return;
        }
      } finally {
        await client.query(`close ${name}`).catch(() => undefined);
      }
    },
    async close() {
      await client.end();
    },
  };
}
