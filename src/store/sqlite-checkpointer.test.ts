// The checkpoint thread starts only once the store has written and a while has passed: a
// short-lived store (a CLI command's) never starts it, a store that goes on writing gets its WAL
// copied into the database file without its own connection checkpointing, and a store closed
// before the thread started closes at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { SqliteCheckpointer } from "./sqlite-checkpointer.js";
import { openSqlite } from "./store.js";
import { sql } from "./kysely.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function scratch(): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "posthorn-checkpointer-"));
  return { file: join(dir, "x.db"), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

test("no thread before the first write, none before the delay has passed, then one that copies the WAL into the database", async () => {
  const { file, remove } = scratch();
  const writer = new SQLite(file);
  writer.pragma("journal_mode = WAL");
  // Only the thread may checkpoint: this connection never does by itself.
  writer.pragma("wal_autocheckpoint = 0");
  writer.exec("create table t (v text)");
  const checkpointer = new SqliteCheckpointer(file, { intervalMs: 20, startAfterMs: 150 });
  try {
    await sleep(200);
    assert.equal(checkpointer.running, false, "started without a write");
    const insert = writer.prepare("insert into t values (?)");
    writer.transaction(() => {
      for (let i = 0; i < 2_000; i++) insert.run("x".repeat(500));
    })();
    const before = statSync(file).size;
    checkpointer.wrote();
    checkpointer.wrote();
    await sleep(50);
    assert.equal(checkpointer.running, false, "started before the delay");
    const until = Date.now() + 5_000;
    while (statSync(file).size <= before && Date.now() < until) await sleep(20);
    assert.equal(checkpointer.running, true);
    assert.ok(statSync(file).size > before + 500_000, `the database file did not grow past ${before} bytes: no checkpoint`);
  } finally {
    await checkpointer.stop();
    writer.close();
    remove();
  }
});

test("stopped before the delay has passed: no thread is ever started", async () => {
  const { file, remove } = scratch();
  const checkpointer = new SqliteCheckpointer(file, { intervalMs: 20, startAfterMs: 50 });
  try {
    checkpointer.wrote();
    await checkpointer.stop();
    await sleep(100);
    assert.equal(checkpointer.running, false);
    checkpointer.wrote();
    await sleep(100);
    assert.equal(checkpointer.running, false, "a write after the stop started it");
  } finally {
    remove();
  }
});

test("a store that writes and closes at once leaves a whole database and no WAL behind", async () => {
  const { file, remove } = scratch();
  try {
    const store = openSqlite(file);
    await sql`create table t (v text)`.execute(store.db);
    await store.write(async (trx) => {
      await sql`insert into t values ('kept')`.execute(trx);
    });
    await store.close();
    assert.throws(() => statSync(`${file}-wal`), /ENOENT/, "the WAL outlived the store");
    const reader = new SQLite(file, { readonly: true });
    assert.deepEqual(reader.prepare("select v from t").all(), [{ v: "kept" }]);
    reader.close();
  } finally {
    remove();
  }
});
