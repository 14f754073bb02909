// PostgreSQL only (TEST_DATABASE_URL): two processes' stores ingesting into one database at once.
// The first identify of a new id from both creates one person (the loser of the unique race runs
// again and finds it), and concurrent attribute changes to one person are all kept (the person's
// row is locked while a request changes it).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createTempDatabase } from "../../test/support/stores.js";
import { openStore, type Store } from "../store/store.js";
import { WorkspacesService } from "../workspaces/workspaces.service.js";
import { PeopleService } from "./people.service.js";
import { peopleServiceFor } from "./testing/people-service.js";


const url = process.env.TEST_DATABASE_URL;

describe("people on PostgreSQL from two processes", { skip: url ? false : "TEST_DATABASE_URL is not set" }, () => {
  let drop: () => Promise<void>;
  let stores: Store[];
  let services: PeopleService[];
  let ws: string;

  before(async () => {
    const db = await createTempDatabase(url!);
    drop = db.drop;
    stores = [openStore({ dataDir: "", databaseUrl: db.url }), openStore({ dataDir: "", databaseUrl: db.url })];
    await stores[0]!.migrate();
    const clock = { now: () => Date.now() };
    ws = (await new WorkspacesService({ store: stores[0]!, clock }).create("pg", { sandbox: true })).workspace.id;
    services = stores.map(
      (store) => peopleServiceFor(store, clock),
    );
  });

  after(async () => {
    for (const store of stores) await store.close();
    await drop();
  });

  test("the same new id identified from both at once is one person, with every attribute", async () => {
    const calls = Array.from({ length: 40 }, (_, i) => services[i % 2]!.apply(ws, [{ op: "identify", who: { kind: "id", value: "raced" }, attributes: { [`a${i}`]: i } }]));
    const results = await Promise.all(calls);
    assert.ok(results.every((r) => r[0]!.ok), JSON.stringify(results.filter((r) => !r[0]!.ok)));
    const ids = new Set(results.map((r) => (r[0] as { personId: string }).personId));
    assert.equal(ids.size, 1);
    const person = (await services[0]!.find(ws, { kind: "id", value: "raced" }))!;
    assert.equal(Object.keys(person.attributes).length, 40);
    const count = await stores[0]!.db.selectFrom("people").select((eb) => eb.fn.countAll<number>().as("n")).where("workspace_id", "=", ws).executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 1);
  });

  test("one event id sent to both at once is stored once", async () => {
    const calls = Array.from({ length: 20 }, (_, i) =>
      services[i % 2]!.apply(ws, [{ op: "track", who: { kind: "id", value: "raced" }, event: { name: "dup", type: "event", dedupeKey: "same-key", timestamp: null, data: {} } }]),
    );
    await Promise.all(calls);
    const rows = await stores[0]!.db.selectFrom("person_events").select("id").where("dedupe_key", "=", "same-key").execute();
    assert.equal(rows.length, 1);
  });
});
