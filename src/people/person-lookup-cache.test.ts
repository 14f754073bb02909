// The people lookup cache (SQLite) stays a copy of what is committed: what a run looked up is
// served from memory after; any change of this connection to the rows it holds (an update, a
// delete, a cascade, raw SQL) drops them; a lookup in a transaction that already changed people is
// not kept (a rollback could take it back); and another connection's commit that updated or
// deleted people or identifiers (a CLI command, another process or thread) empties it, while one
// that did not keeps it, whatever this connection's own commits and rollbacks did to the count. Then the same through the service: a person suppressed behind its back, by
// this process or another, has their next events dropped.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import SQLite from "better-sqlite3";
import { openTempSqlite } from "../../test/support/stores.js";
import { sql } from "../store/kysely.js";
import type { Store } from "../store/store.js";
import { WorkspacesService } from "../workspaces/workspaces.service.js";
import { PeopleRepository } from "./people.repository.js";
import { PersonLookupCache } from "./person-lookup-cache.js";
import { peopleServiceFor } from "./testing/people-service.js";
import type { PeopleService } from "./people.service.js";
import type { PersonOperation } from "./people.port.js";

const track = (id: string, name: string): PersonOperation => ({ op: "track", who: { kind: "id", value: id }, event: { name, type: "event", dedupeKey: null, timestamp: null, data: {} } });

describe("people lookup cache (sqlite)", () => {
  let store: Store;
  let file: string;
  let ws: string;
  let cache: PersonLookupCache;
  let people: PeopleService;
  const repository = new PeopleRepository();
  const now = 1_700_000_000_000;

  before(async () => {
    store = await openTempSqlite();
    file = (await sql<{ file: string }>`select file from pragma_database_list where name = 'main'`.execute(store.db)).rows[0]!.file;
    ws = (await new WorkspacesService({ store, clock: { now: () => now } }).create("a", { sandbox: true })).workspace.id;
    cache = new PersonLookupCache(store.sqlite!);
    people = peopleServiceFor(store, { now: () => now });
    await people.apply(ws, ["ann", "bob", "cid", "dan"].map((id) => ({ op: "identify", who: { kind: "id", value: id }, attributes: { plan: "free" } }) as PersonOperation));
  });

  after(async () => {
    await store.close();
  });

  /** A run's lookup as people.apply.ts makes it, in a write transaction of its own. */
  async function lookUp(ids: string[]): Promise<void> {
    await store.write(async (trx) => {
      cache.check();
      cache.remember(ws, await repository.findPeopleByIdentifiers(trx, ws, ids.map((key) => ({ kind: "id", key }))));
    });
  }

  test("a looked-up person is served from memory, and this connection's changes drop exactly what they touch", async () => {
    assert.equal(cache.get(ws, "id", "ann"), undefined);
    await lookUp(["ann", "bob", "cid", "dan"]);
    assert.equal(cache.get(ws, "id", "ann")?.attributes_json, '{"plan":"free"}');
    assert.equal(cache.get(ws, "id", "ann")?.suppressed, 0);
    assert.equal(cache.get("another workspace", "id", "ann"), undefined);

    // An update of the person's row, in raw SQL.
    await store.write((trx) => sql`update people set suppressed = 1 where person_id = ${cache.get(ws, "id", "ann")!.person_id}`.execute(trx));
    assert.equal(cache.get(ws, "id", "ann"), undefined);
    assert.ok(cache.get(ws, "id", "bob"), "others stay");

    // An identifier deleted.
    await store.write((trx) => repository.deleteIdentifier(trx, ws, "id", "bob"));
    assert.equal(cache.get(ws, "id", "bob"), undefined);

    // A person deleted: their identifiers go by cascade, and so do the cached entries.
    const cid = cache.get(ws, "id", "cid")!.person_id;
    await store.write((trx) => repository.deletePerson(trx, cid));
    assert.equal(cache.get(ws, "id", "cid"), undefined);

    // A change rolled back still dropped the entry: the next lookup reads the committed row again.
    await store.write(async (trx) => {
      await sql`update people set attributes_json = '{}' where person_id = ${cache.get(ws, "id", "dan")!.person_id}`.execute(trx);
      throw new Error("rolled back");
    }).catch(() => undefined);
    assert.equal(cache.get(ws, "id", "dan"), undefined);
    await lookUp(["dan"]);
    assert.equal(cache.get(ws, "id", "dan")?.attributes_json, '{"plan":"free"}');
  });

  test("the copy stays bounded: past its most entries the oldest tenth goes, the newest stay", async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `bounded-${i}`);
    await people.apply(ws, ids.map((id) => ({ op: "identify", who: { kind: "id", value: id }, attributes: {} }) as PersonOperation));
    const small = new PersonLookupCache(store.sqlite!, 20);
    for (const id of ids) {
      await store.write(async (trx) => {
        small.check();
        small.remember(ws, await repository.findPeopleByIdentifiers(trx, ws, [{ kind: "id", key: id }]));
      });
    }
    const held = ids.filter((id) => small.get(ws, "id", id) !== undefined);
    assert.ok(held.length <= 20 && held.length >= 15, `holds ${held.length} of 30`);
    assert.equal(small.get(ws, "id", "bounded-0"), undefined, "the oldest went");
    assert.ok(small.get(ws, "id", "bounded-29"), "the newest stayed");
  });

  test("a lookup in a transaction that already changed people is not kept", async () => {
    await store
      .write(async (trx) => {
        await repository.insertPerson(trx, { person_id: "ghost", workspace_id: ws, attributes_json: "{}", unsubscribed: 0, suppressed: 0, topics_json: "{}", created_at: now, updated_at: now });
        await repository.insertIdentifier(trx, { workspace_id: ws, kind: "id", key: "ghost", value: "ghost", person_id: "ghost", created_at: now });
        cache.check();
        const rows = await repository.findPeopleByIdentifiers(trx, ws, [{ kind: "id", key: "ghost" }]);
        assert.equal(rows.length, 1, "the transaction sees its own person");
        cache.remember(ws, rows);
        throw new Error("rolled back");
      })
      .catch(() => undefined);
    assert.equal(cache.get(ws, "id", "ghost"), undefined);
    // The next transaction, clean, keeps what it reads.
    await lookUp(["dan"]);
    assert.ok(cache.get(ws, "id", "dan"));
  });

  test("another connection's commit empties the cache at the next run's check", async () => {
    await lookUp(["dan"]);
    assert.ok(cache.get(ws, "id", "dan"));
    otherConnection("update people set attributes_json = ? where person_id = ?", '{"plan":"paid"}', cache.get(ws, "id", "dan")!.person_id);
    await lookUp([]);
    assert.equal(cache.get(ws, "id", "dan"), undefined, "emptied");
    await lookUp(["dan"]);
    assert.equal(cache.get(ws, "id", "dan")?.attributes_json, '{"plan":"paid"}');
  });

  /** A change committed by another connection to the same file, as a CLI command or another thread makes it. */
  function otherConnection(statement: string, ...params: unknown[]): void {
    const other = new SQLite(file);
    try {
      other.pragma("busy_timeout = 5000");
      other.prepare(statement).run(...params);
    } finally {
      other.close();
    }
  }

  test("another connection's commit that changes neither people nor identifiers keeps the cache", async () => {
    await lookUp(["dan"]);
    otherConnection("insert into person_event_index_state (id, indexed_to) values (1, 0) on conflict (id) do update set indexed_to = indexed_to");
    await lookUp([]);
    assert.ok(cache.get(ws, "id", "dan"), "kept");
    // An insert of a person and identifier elsewhere changes no row the copy holds either.
    otherConnection("insert into people (person_id, workspace_id, attributes_json, unsubscribed, suppressed, topics_json, created_at, updated_at) values ('elsewhere', ?, '{}', 0, 0, '{}', 1, 1)", ws);
    await lookUp([]);
    assert.ok(cache.get(ws, "id", "dan"), "kept after an insert");
    otherConnection("delete from people where person_id = 'elsewhere'");
    await lookUp([]);
    assert.equal(cache.get(ws, "id", "dan"), undefined, "a delete empties it");
  });

  test("a change of this connection rolled back does not hide another connection's change of the same count", async () => {
    await lookUp(["dan", "ann"]);
    const danId = cache.get(ws, "id", "dan")!.person_id;
    const annId = cache.get(ws, "id", "ann")!.person_id;
    // One update here, rolled back: the count goes up by one and back.
    await store
      .write(async (trx) => {
        cache.check();
        await sql`update people set attributes_json = '{}' where person_id = ${annId}`.execute(trx);
        throw new Error("rolled back");
      })
      .catch(() => undefined);
    // One update elsewhere: the count is one above where it was, as if the rolled-back one had stayed.
    otherConnection("update people set attributes_json = '{\"plan\":\"gold\"}' where person_id = ?", danId);
    await lookUp([]);
    assert.equal(cache.get(ws, "id", "dan"), undefined, "emptied");
    await lookUp(["dan"]);
    assert.equal(cache.get(ws, "id", "dan")?.attributes_json, '{"plan":"gold"}');
  });

  test("a group whose one call's change rolled back to its savepoint and whose other committed: the count after it is known", async () => {
    await lookUp(["dan", "ann"]);
    const danId = cache.get(ws, "id", "dan")!.person_id;
    const annId = cache.get(ws, "id", "ann")!.person_id;
    const calls = [
      store.writeGrouped(async (trx) => {
        cache.check();
        await sql`update people set updated_at = updated_at + 1 where person_id = ${annId}`.execute(trx);
      }),
      store.writeGrouped(async (trx) => {
        await sql`update people set updated_at = updated_at + 1 where person_id = ${annId}`.execute(trx);
        throw new Error("this call fails");
      }),
    ];
    const settled = await Promise.allSettled(calls);
    assert.deepEqual(settled.map((s) => s.status), ["fulfilled", "rejected"]);
    // This connection's own change dropped ann only; dan stays, and an unrelated commit elsewhere keeps him.
    otherConnection("insert into person_event_index_state (id, indexed_to) values (1, 0) on conflict (id) do update set indexed_to = indexed_to");
    await lookUp([]);
    assert.equal(cache.get(ws, "id", "ann"), undefined);
    assert.ok(cache.get(ws, "id", "dan"), "kept: the count is the one the group's commit left");
    otherConnection("update people set updated_at = updated_at + 1 where person_id = ?", danId);
    await lookUp([]);
    assert.equal(cache.get(ws, "id", "dan"), undefined, "emptied by the change elsewhere");
  });

  test("through the service: a person suppressed by this process or by another has their next events dropped", async () => {
    const eventsOf = async (id: string) => {
      const person = await people.find(ws, { kind: "id", value: id });
      return person ? (await people.events(ws, person.personId, { limit: 100 })).map((e) => e.name) : [];
    };
    for (const id of ["eve", "fay"]) assert.equal((await people.apply(ws, [track(id, "first")]))[0]!.ok, true);
    // Both are in the service's cache now; a second event is served from it.
    for (const id of ["eve", "fay"]) assert.equal((await people.apply(ws, [track(id, "second")]))[0]!.ok, true);

    // eve suppressed through the service (this connection); fay by another process's connection.
    assert.equal((await people.apply(ws, [{ op: "suppress", who: { kind: "id", value: "eve" } }]))[0]!.ok, true);
    const fay = (await people.find(ws, { kind: "id", value: "fay" }))!.personId;
    otherConnection("update people set suppressed = 1 where person_id = ?", fay);
    for (const id of ["eve", "fay"]) await people.apply(ws, [track(id, "third")]);
    assert.deepEqual(await eventsOf("eve"), [], "suppressing forgets her events, and the third is not kept");
    assert.deepEqual((await eventsOf("fay")).sort(), ["first", "second"], "the third is dropped");
  });
});
