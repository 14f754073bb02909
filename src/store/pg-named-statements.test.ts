// Named statements on a real PostgreSQL server (pg-named-statements.ts): which texts are prepared on
// a connection, that a statement prepared before another process's migration changed its result
// still runs, and that the setting turns naming off.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { createTempDatabase } from "../../test/support/stores.js";
import { sql } from "./kysely.js";
import { openPostgres, type Db, type Store } from "./store.js";

const serverUrl = process.env.TEST_DATABASE_URL;

/** The texts prepared on the connection `db` runs on (a connection of its own: see `onOneConnection`). */
async function prepared(db: Db): Promise<string[]> {
  const rows = await sql<{ statement: string }>`select statement from pg_prepared_statements order by prepare_time`.execute(db);
  return rows.rows.map((r) => r.statement);
}

/** Runs `fn` on one connection of the store's pool, as a request's statements outside a transaction do. */
function onOneConnection<T>(store: Store, fn: (db: Db) => Promise<T>): Promise<T> {
  return store.db.connection().execute(fn);
}

async function withDatabase(fn: (url: string, admin: pg.Client) => Promise<void>): Promise<void> {
  const db = await createTempDatabase(serverUrl!);
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  try {
    await admin.query("create table t (id int primary key, a text)");
    await admin.query("insert into t values (1, 'one'), (2, 'two')");
    await fn(db.url, admin);
  } finally {
    await admin.end();
    await db.drop();
  }
}

describe("named statements on PostgreSQL", { skip: serverUrl ? false : "TEST_DATABASE_URL is not set" }, () => {
  test("a text with parameters is prepared once per connection and run by name; texts without parameters, or with very many, are not", async () => {
    await withDatabase(async (url) => {
      const store = openPostgres(url, 2);
      try {
        await onOneConnection(store, async (db) => {
          for (const id of [1, 2, 1]) {
            const row = await db.selectFrom("t" as never).select("a" as never).where("id" as never, "=", id as never).executeTakeFirst();
            assert.deepEqual(row, { a: id === 1 ? "one" : "two" });
          }
          await sql`select count(*) from t`.execute(db);
          const ids = Array.from({ length: 65 }, (_, i) => i);
          await db.selectFrom("t" as never).select("a" as never).where("id" as never, "in", ids as never).execute();
          const texts = await prepared(db);
          assert.equal(texts.length, 1, `prepared: ${JSON.stringify(texts)}`);
          assert.match(texts[0]!, /^select "a" from "t" where "id" = \$1$/);
        });
      } finally {
        await store.close();
      }
    });
  });

  test("a statement prepared before another process added a column to what it reads still runs, with the new column", async () => {
    await withDatabase(async (url, admin) => {
      const store = openPostgres(url, 1);
      try {
        const read = (db: Db) => db.selectFrom("t" as never).selectAll().where("id" as never, "=", 1 as never).executeTakeFirstOrThrow();
        await onOneConnection(store, async (db) => {
          assert.deepEqual(await read(db), { id: 1, a: "one" });
          await admin.query("alter table t add column b text default 'bee'");
          // Outside a transaction: run again at once.
          assert.deepEqual(await read(db), { id: 1, a: "one", b: "bee" });
        });
        // Prepared again (under a new name) with the new column, and then the table changes again.
        assert.deepEqual(await store.write((trx) => read(trx)), { id: 1, a: "one", b: "bee" });
        await admin.query("alter table t add column c int default 3");
        // Inside one, the transaction fails as on any conflict, and the next runs.
        await assert.rejects(store.write((trx) => read(trx)), /cached plan must not change result type/);
        assert.deepEqual(await store.write((trx) => read(trx)), { id: 1, a: "one", b: "bee", c: 3 });
      } finally {
        await store.close();
      }
    });
  });

  test("POSTHORN_DATABASE_NAMED_STATEMENTS=false (namedStatements: false) prepares nothing", async () => {
    await withDatabase(async (url) => {
      const store = openPostgres(url, 1, { namedStatements: false });
      try {
        await onOneConnection(store, async (db) => {
          await db.selectFrom("t" as never).select("a" as never).where("id" as never, "=", 1 as never).execute();
          assert.deepEqual(await prepared(db), []);
        });
      } finally {
        await store.close();
      }
    });
  });
});
