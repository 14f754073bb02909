// The shared rows this connection appended (appended-rows.ts, SQLite) are served to its own log
// reads from memory only while that is exactly what the table holds: after their commit, never
// from a rolled-back transaction or a group in which a call was rolled back to its savepoint
// (whose row ids the next rows take again), never for another connection's rows, not past a
// second, and not more than the most events kept. Every read is checked against a reader of the
// table alone; served from memory shows as the very objects the append returned.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { openTempSqlite } from "../../test/support/stores.js";
import { openSqlite, type Store } from "../store/store.js";
import { sql } from "../store/kysely.js";
import { AppendedRows } from "./appended-rows.js";
import { EventsRepository, type Position } from "./events.repository.js";
import type { NewEvent, RecordedEvent } from "./event-map.js";

function tracked(name: string): NewEvent {
  return { type: "person.event", workspaceId: "w1", messageId: null, recipient: null, data: { personId: `p-${name}`, anonymousId: null, name, eventType: "event", properties: { name, n: 1 }, timestamp: 1, eventRowId: 1 } };
}

function identified(person: string): NewEvent {
  return { type: "person.identified", workspaceId: "w1", messageId: null, recipient: null, data: { personId: person, created: true, changes: {} } };
}

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe("rows appended by this connection, served from memory (sqlite)", () => {
  let store: Store;
  let now = 1_700_000_000_000;
  let rows: AppendedRows;
  let writer: EventsRepository;
  let reader: EventsRepository;
  const table = new EventsRepository("sqlite");
  let start: Position;

  before(async () => {
    store = await openTempSqlite();
    rows = AppendedRows.of(store.sqlite!, () => now);
    writer = new EventsRepository("sqlite", rows);
    reader = new EventsRepository("sqlite", rows);
    start = await table.head(store.db);
  });
  after(async () => store.close());

  /** Reads everything after `from` with the reader and the table alone; asserts they agree and returns the reader's events. */
  async function readBoth(from: Position): Promise<RecordedEvent[]> {
    const mine = await reader.readPage(store.db, from, 100_000);
    const truth = await table.readPage(store.db, from, 100_000);
    assert.deepEqual(mine.events, truth.events, "the reader gives what the table holds");
    assert.deepEqual(mine.positions, truth.positions);
    assert.deepEqual(mine.covered, truth.covered);
    return mine.events;
  }

  const append = (trx: Parameters<Parameters<Store["write"]>[0]>[0], events: NewEvent[]) => writer.append(trx, events, now, false);

  test("nothing is kept before a reader has read, and a committed shared row is served after", async () => {
    await store.write((trx) => append(trx, names("before", 3).map(tracked)));
    assert.equal(rows.size, 0, "no reader yet: nothing kept");
    await readBoth(start);

    const from = await table.head(store.db);
    const recorded = await store.write((trx) => append(trx, [...names("a", 5).map(tracked), identified("p1")]));
    assert.equal(rows.size, 1, "the shared row is kept; the identify's row of one is not");
    const read = await readBoth(from);
    assert.deepEqual(read.map((e) => e.type), ["person.event", "person.event", "person.event", "person.event", "person.event", "person.identified"]);
    for (let i = 0; i < 5; i++) assert.equal(read[i], recorded[i], "the tracked events come from memory");
    assert.notEqual(read[5], recorded[5], "the identify is read from the table");
  });

  test("a rolled-back transaction keeps nothing, and the rows that take its ids again are read as they are", async () => {
    const from = await table.head(store.db);
    const kept = rows.size;
    await assert.rejects(
      store.write(async (trx) => {
        await append(trx, names("gone", 4).map(tracked));
        throw new Error("refused");
      }),
      /refused/,
    );
    assert.equal(rows.size, kept);
    // The rolled-back row's id is the identify's now, a row of one that is never kept.
    const recorded = await store.write((trx) => append(trx, [...names("b", 3).map(tracked), identified("p2")]));
    const read = await readBoth(from);
    assert.deepEqual(read.map((e) => e.type), ["person.event", "person.event", "person.event", "person.identified"]);
    assert.equal(read[0], recorded[0], "the committed shared row is served from memory");
  });

  test("a group in which one call was rolled back to its savepoint keeps none of its rows, and its ids are read as the rows that took them", async () => {
    const from = await table.head(store.db);
    const failing = store.writeGrouped(async (trx) => {
      await append(trx, names("undone", 6).map(tracked));
      throw new Error("this call only");
    });
    const ok = store.writeGrouped((trx) => append(trx, names("c", 2).map(tracked)));
    await assert.rejects(failing, /this call only/);
    const recorded = await ok;
    const read = await readBoth(from);
    assert.deepEqual(read.map((e) => (e.data as { name: string }).name), names("c", 2));
    assert.notEqual(read[0], recorded[0], "read from the table: the group had a rolled-back call");
    // The undone call's row id is the identify's now.
    const later = await store.write((trx) => append(trx, [...names("d", 3).map(tracked), identified("p3")]));
    const again = await readBoth(from);
    assert.deepEqual(again.map((e) => e.type), ["person.event", "person.event", "person.event", "person.event", "person.event", "person.identified"]);
    assert.equal(again[2], later[0]);
  });

  test("another connection's rows are read from the table, beside this one's from memory", async () => {
    const from = await table.head(store.db);
    const file = (await sql<{ file: string }>`select file from pragma_database_list where name = 'main'`.execute(store.db)).rows[0]!.file;
    const other = openSqlite(file);
    try {
      const mine = await store.write((trx) => append(trx, names("mine", 3).map(tracked)));
      await other.write((trx) => new EventsRepository("sqlite", AppendedRows.of(other.sqlite!)).append(trx, names("theirs", 3).map(tracked), now, false));
      const read = await readBoth(from);
      assert.deepEqual(read.map((e) => (e.data as { name: string }).name), [...names("mine", 3), ...names("theirs", 3)]);
      assert.equal(read[0], mine[0]);
    } finally {
      await other.close();
    }
  });

  test("a row is served from memory for a second after its commit, then read from the table", async () => {
    const from = await table.head(store.db);
    const recorded = await store.write((trx) => append(trx, names("aged", 3).map(tracked)));
    now += 1_000;
    assert.equal((await readBoth(from))[0], recorded[0], "a second after: still served");
    now += 1;
    assert.notEqual((await readBoth(from))[0], recorded[0], "past a second: read from the table");
    assert.equal(rows.size, 0, "and no longer kept");
  });

  test("past the most events kept, the oldest rows go first", async () => {
    const from = await table.head(store.db);
    // Shared rows hold up to 1,000 events each: 25 rows.
    const recorded = await store.write((trx) => append(trx, names("many", 25_000).map(tracked)));
    assert.equal(rows.size, 20);
    const read = await readBoth(from);
    assert.equal(read.length, 25_000);
    assert.notEqual(read[0], recorded[0], "the oldest rows are read from the table");
    assert.equal(read[24_999], recorded[24_999], "the newest are served from memory");
  });
});
