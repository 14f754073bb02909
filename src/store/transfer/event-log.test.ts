// The event log leaves PostgreSQL in id order with tx 0, and each consumer's cursor becomes an id
// position that hands over every event it had not passed in (tx, id) order — none skipped where
// ids and transactions interleave — on an SQLite target (and a PostgreSQL one: new transaction ids
// there are not comparable with the source cluster's).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "../kysely.js";
import { createTempDatabase } from "../../../test/support/stores.js";
import { openStore } from "../store.js";
import { databaseFile } from "../data-dir.js";
import { exportInstallation } from "./export.js";
import { importInstallation } from "./import.js";
import { rawPostgres, rawSqlite } from "./raw-db.js";
import { seededRows } from "./seeded.js";
import { migrationProvider } from "../migrations.js";

const quiet = { table: () => undefined };

test("cursors from PostgreSQL's (tx, id) order become id positions that skip no unread event", { skip: !process.env.TEST_DATABASE_URL && "TEST_DATABASE_URL not set" }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "posthorn-log-"));
  const source = await createTempDatabase(process.env.TEST_DATABASE_URL!, { migrated: true });
  try {
    const store = openStore({ dataDir: "", databaseUrl: source.url, poolSize: 2 });
    // Ids handed out in one order, transactions committed in another: (tx, id) order is 2, 1, 4, 3.
    for (const [id, tx] of [
      [1, 10],
      [2, 5],
      [3, 12],
      [4, 11],
    ]) {
      await sql`insert into events (id, tx, type, workspace_id, data_json, created_at) values (${id}, ${tx}, 'message.accepted', 'w', '{}', 1)`.execute(store.db);
    }
    // "read" has handled (5,2) and (10,1); "done" everything; "fresh" nothing.
    await sql`insert into outbox_cursors (consumer, position_tx, position_id, lease_owner, lease_until, updated_at) values
      ('read', 10, 1, null, 0, 1), ('done', 12, 3, null, 0, 1), ('fresh', 0, 0, null, 0, 1)`.execute(store.db);
    await store.close();

    const file = join(dir, "log.ndjson.gz");
    const migrations = Object.keys(await migrationProvider("sqlite").getMigrations()).sort();
    const from = await rawPostgres(source.url);
    await exportInstallation(from, file, { migrations, keyCheck: null, progress: quiet, now: new Date() }).finally(() => from.close());

    const target = openStore({ dataDir: dir, databaseUrl: null });
    await target.migrate();
    await target.close();
    const into = rawSqlite(databaseFile(dir), { mustExist: true });
    try {
      await importInstallation(into, file, { migrations, keyCheck: null, seeded: await seededRows(), progress: quiet });
      assert.deepEqual(await into.all("select id, tx from events order by id"), [1, 2, 3, 4].map((id) => ({ id, tx: 0 })));
      // read: 4 and 3 unread; the least of them is 3, so it reads from id 3 (and 2 was handled: not again).
      assert.deepEqual(await into.all("select consumer, position_tx, position_id from outbox_cursors order by consumer"), [
        { consumer: "done", position_tx: 0, position_id: 4 },
        { consumer: "fresh", position_tx: 0, position_id: 0 },
        { consumer: "read", position_tx: 0, position_id: 2 },
      ]);
      // The next event gets an id after every one moved (sqlite_sequence).
      assert.deepEqual(await into.all("select seq from sqlite_sequence where name = 'events'"), [{ seq: 4 }]);
    } finally {
      await into.close();
    }
  } finally {
    await source.drop();
    rmSync(dir, { recursive: true, force: true });
  }
});
