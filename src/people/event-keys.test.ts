// SQLite: tracked events' de-duplication keys reach their table behind ingest (README,
// "De-duplication keys on SQLite"). Until merged, a key is known from the connection's copy of the
// unmerged keys, each hit confirmed by its event row. These are the ways that copy could be wrong
// (a rolled-back claim, a row id used again, an event deleted before the merge, a restart, a
// window that has passed, a worker that never merges) and the export that must carry such keys.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, type Store } from "../store/store.js";
import { databaseFile } from "../store/data-dir.js";
import { migrationProvider } from "../store/migrations.js";
import { exportInstallation } from "../store/transfer/export.js";
import { importInstallation } from "../store/transfer/import.js";
import { rawSqlite } from "../store/transfer/raw-db.js";
import { seededRows } from "../store/transfer/seeded.js";
import { silentLogger } from "../shared/logger.js";
import { WorkspacesService } from "../workspaces/workspaces.service.js";
import type { PeopleService } from "./people.service.js";
import type { PersonOperation } from "./people.port.js";
import { PersonEventsRepository } from "./person-events.repository.js";
import { PeopleMaintenance, PersonEventKeyMerger } from "./people.maintenance.js";
import { RecentEventKeys } from "./recent-event-keys.js";
import { peopleServiceFor } from "./testing/people-service.js";

const WINDOW_MS = 60_000;

const track = (person: string, name: string, dedupeKey: string): PersonOperation => ({
  op: "track",
  who: { kind: "id", value: person },
  event: { name, type: "event", dedupeKey, timestamp: null, data: {} },
});

describe("event keys behind ingest (SQLite)", () => {
  let store: Store;
  let people: PeopleService;
  let merger: PersonEventKeyMerger;
  let ws: string;
  let now = Date.UTC(2026, 0, 14, 12);
  const clock = { now: () => now };

  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "posthorn-keys-"));
    store = openStore({ dataDir: dir, databaseUrl: null });
    await store.migrate();
    ws = (await new WorkspacesService({ store, clock }).create("keys", { sandbox: true })).workspace.id;
    people = peopleServiceFor(store, clock, { dedupeWindowMs: WINDOW_MS });
    merger = new PersonEventKeyMerger({ store, logger: silentLogger(), events: new PersonEventsRepository("sqlite"), maxWaitMs: 0 });
  });

  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const names = async (person: string) => {
    const p = await people.find(ws, { kind: "id", value: person });
    return p ? (await people.events(ws, p.personId, { limit: 100 })).map((e) => e.name).sort() : [];
  };
  const inTable = async (key: string) => (await store.db.selectFrom("person_event_dedupe").select("seen_at").where("workspace_id", "=", ws).where("dedupe_key", "=", key).executeTakeFirst())?.seen_at ?? null;
  const recent = () => RecentEventKeys.of(store.sqlite!);

  test("a key is known before its merge, from the copy, and after it, from the table", async () => {
    await people.apply(ws, [track("a", "first", "k1")]);
    assert.equal(await inTable("k1"), null, "not written into the table with its event");
    assert.ok(recent().get(ws, "k1") !== undefined, "held in the copy");
    await people.apply(ws, [track("a", "again", "k1")]);
    assert.deepEqual(await names("a"), ["first"]);
    assert.equal(await merger.runOnce(), false, "one partial chunk, taken at once (no wait), nothing more");
    assert.equal(await inTable("k1"), now);
    await people.apply(ws, [track("a", "again", "k1")]);
    assert.deepEqual(await names("a"), ["first"], "known from the table");
    assert.equal(recent().get(ws, "k1"), undefined, "the copy let go of what the mark passed");
  });

  test("a claim rolled back is not believed, nor a row id used again by another key", async () => {
    const events = new PersonEventsRepository("sqlite");
    const ids = await store.write(async (trx) => events.reserveIds(trx, 1));
    const row = (key: string) => ({ id: ids[0]!, workspace_id: ws, person_id: null, anonymous_id: "anon", name: "x", type: "event", dedupe_key: key, data_json: "{}", timestamp: now, received_at: now });
    await assert.rejects(
      store.write(async (trx) => {
        await events.insert(trx, [row("rolled")]);
        recent().add(ws, "rolled", ids[0]!);
        throw new Error("rolled back");
      }),
    );
    // The same id now holds another key: the copy's entry for "rolled" names a row that is not its.
    await store.write(async (trx) => events.insert(trx, [row("other")]));
    assert.ok(recent().get(ws, "rolled") !== undefined, "the copy still holds the rolled-back key");
    await people.apply(ws, [track("b", "after-rollback", "rolled")]);
    assert.deepEqual(await names("b"), ["after-rollback"], "accepted: the claim that held the key never committed");
  });

  test("a person deleted before the merge leaves their keys in the table", async () => {
    await people.apply(ws, [track("c", "first", "k-deleted")]);
    await people.apply(ws, [{ op: "delete", who: { kind: "id", value: "c" } }]);
    assert.equal(await inTable("k-deleted"), now, "merged as the event was deleted");
    await people.apply(ws, [track("c", "again", "k-deleted")]);
    assert.deepEqual(await names("c"), [], "still a repeat within the window");
  });

  test("a late event removed by retention before the merge leaves its key in the table", async () => {
    const retentionMs = 30 * 86_400_000;
    const upkeep = new PeopleMaintenance({ store, clock, logger: silentLogger(), events: new PersonEventsRepository("sqlite"), retentionMs, dedupeWindowMs: WINDOW_MS, intervalMs: 60_000 });
    const late: PersonOperation = { op: "track", who: { kind: "id", value: "g" }, event: { name: "late", type: "event", dedupeKey: "k-late", timestamp: now - 2 * retentionMs, data: {} } };
    await people.apply(ws, [late]);
    assert.equal((await upkeep.runOnce()).deletedEvents, 1, "older than the retention by its time, as sent");
    assert.equal(await inTable("k-late"), now);
    await people.apply(ws, [{ ...late, event: { ...late.event, name: "late-again" } } as PersonOperation]);
    assert.deepEqual(await names("g"), [], "a repeat within the window all the same");
  });

  test("a key is accepted again once the window has passed, from the copy or the table, and then known anew", async () => {
    await people.apply(ws, [track("d", "one", "k-window")]);
    now += WINDOW_MS + 1;
    await people.apply(ws, [track("d", "two", "k-window")]);
    assert.deepEqual(await names("d"), ["one", "two"], "the copy's sighting is too old");
    await merger.runOnce();
    assert.equal(await inTable("k-window"), now, "the table keeps the newest sighting");
    now += WINDOW_MS + 1;
    await people.apply(ws, [track("d", "three", "k-window")]);
    now += 1_000;
    await people.apply(ws, [track("d", "four", "k-window")]);
    assert.deepEqual(await names("d"), ["one", "three", "two"]);
  });

  test("without a merger the copy stays bounded: a claim merges when it holds too many", async () => {
    const small = peopleServiceFor(store, clock, { dedupeWindowMs: WINDOW_MS, events: new PersonEventsRepository("sqlite", { mostRecentKeys: 5 }) });
    for (let i = 0; i < 7; i++) await small.apply(ws, [track("e", `e${i}`, `bounded-${i}`)]);
    assert.ok(recent().size <= 6, `the copy holds ${recent().size}`);
    assert.ok((await inTable("bounded-0")) !== null, "the older keys were merged by a claim");
    await small.apply(ws, [track("e", "repeat", "bounded-0")]);
    assert.equal((await names("e")).includes("repeat"), false);
  });

  test("another connection's keys are known, and after its commit a look reads only that connection's events", async () => {
    await people.apply(ws, Array.from({ length: 300 }, (_, i) => track("g", `own-${i}`, `k-own-${i}`)));
    await people.apply(ws, [track("g", "one-more", "k-own-more")]);
    assert.equal(await inTable("k-own-0"), null, "this connection's 300 keys are unmerged, held in the copy");
    // Another process on the same file tracks an event with a key this connection has never seen.
    const other = openStore({ dataDir: dir, databaseUrl: null });
    try {
      await peopleServiceFor(other, clock, { dedupeWindowMs: WINDOW_MS }).apply(ws, [track("h", "theirs", "k-theirs")]);
    } finally {
      await other.close();
    }
    await people.apply(ws, [track("g", "mine", "k-theirs")]);
    assert.equal((await names("g")).includes("mine"), false, "a repeat of the other connection's key");
    assert.equal(recent().lastRead, 1, "the look read the other connection's event alone: not this connection's 301 before it, which its own commits had covered");
  });

  test("after a restart the unmerged keys are read back; an export carries them to its target", async () => {
    await people.apply(ws, [track("f", "before-restart", "k-restart")]);
    // A second connection to the same file, as a restarted process opens: its copy is read from the events.
    const again = openStore({ dataDir: dir, databaseUrl: null });
    try {
      const other = peopleServiceFor(again, clock, { dedupeWindowMs: WINDOW_MS });
      await other.apply(ws, [track("f", "after-restart", "k-restart")]);
      assert.deepEqual(await names("f"), ["before-restart"]);
    } finally {
      await again.close();
    }
    assert.equal(await inTable("k-restart"), null, "still unmerged at the export");

    const out = mkdtempSync(join(tmpdir(), "posthorn-keys-"));
    try {
      const exported = join(out, "keys.ndjson.gz");
      const migrations = Object.keys(await migrationProvider("sqlite").getMigrations()).sort();
      const from = rawSqlite(databaseFile(dir), { mustExist: true });
      await exportInstallation(from, exported, { migrations, keyCheck: null, progress: { table: () => undefined }, now: new Date() }).finally(() => from.close());
      const targetDir = join(out, "target");
      const target = openStore({ dataDir: targetDir, databaseUrl: null });
      await target.migrate();
      await target.close();
      const into = rawSqlite(databaseFile(targetDir), { mustExist: true });
      await importInstallation(into, exported, { migrations, keyCheck: null, seeded: await seededRows(), progress: { table: () => undefined } }).finally(() => into.close());
      const moved = openStore({ dataDir: targetDir, databaseUrl: null });
      try {
        const there = peopleServiceFor(moved, clock, { dedupeWindowMs: WINDOW_MS });
        await there.apply(ws, [track("f", "on-the-target", "k-restart")]);
        const p = await there.find(ws, { kind: "id", value: "f" });
        assert.deepEqual((await there.events(ws, p!.personId, { limit: 10 })).map((e) => e.name), ["before-restart"], "the key came in the target's table");
      } finally {
        await moved.close();
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
