// What segment upkeep guarantees across repeats and restarts: a batch of events handed to the
// consumer again (the outbox is at least once) counts nothing twice and enters no one twice;
// timers are rows, so a window that closes while Posthorn is stopped is acted on when it starts
// again; a date attribute growing old (older_than) enters a person by its timer; history() reads
// a person's entries and exits newest first.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startTestServer, tempDir, type TestServer } from "./support/server.js";
import { MovableClock, until } from "./support/segments.js";
import { segmentsConsumer, PERSON_EVENT_TYPES } from "../src/segments/segments.consumer.js";
import { toEvents } from "../src/events/events.repository.js";
import type { PersonOperation } from "../src/people/people.port.js";

const DAY = 86_400_000;

async function setUp(server: TestServer): Promise<string> {
  const existing = await server.app.services.workspaces.get("shop").catch(() => null);
  if (existing) return existing.id;
  await server.createWorkspace("shop");
  return (await server.app.services.workspaces.get("shop")).id;
}

async function apply(server: TestServer, workspaceId: string, ...operations: PersonOperation[]): Promise<void> {
  for (const r of await server.app.services.people.apply(workspaceId, operations, { atomic: true })) assert.ok(r.ok, JSON.stringify(r));
}

const track = (id: string, name: string): PersonOperation => ({ op: "track", who: { kind: "id", value: id }, event: { name, type: "event", dedupeKey: null, timestamp: null, data: {} } });

async function members(server: TestServer, workspaceId: string, segmentId: string): Promise<string[]> {
  return (await server.app.services.segments.members(workspaceId, segmentId, { limit: 100, cursor: null })).items.map((m) => m.personId);
}

test("a batch handed to the consumer again counts no event twice and enters no one twice", async () => {
  const server = await startTestServer({ POSTHORN_SEGMENTS_POLL: "50ms" });
  try {
    const workspaceId = await setUp(server);
    const { segments, segmentKeeper, store } = server.app.services;
    const segment = await segments.create(workspaceId, { name: "three logins", conditions: { event: { name: "login", at_least: 3 } } });
    await apply(server, workspaceId, { op: "identify", who: { kind: "id", value: "amy" }, attributes: {} }, track("amy", "login"), track("amy", "login"));
    const amy = (await server.app.services.people.find(workspaceId, { kind: "id", value: "amy" }))!.personId;
    await until("two logins kept", async () => {
      const row = await store.db.selectFrom("segment_state").select("hits_json").where("person_id", "=", amy).executeTakeFirst();
      return row && (JSON.parse(row.hits_json) as unknown[]).length === 2 ? true : undefined;
    });
    const batch = (await store.db.selectFrom("events").selectAll().where("type", "in", [...PERSON_EVENT_TYPES]).where("workspace_id", "=", workspaceId).orderBy("id").execute()).flatMap(toEvents);
    const again = segmentsConsumer({ keeper: segmentKeeper });
    await again.handle(batch);
    await again.handle(batch);
    assert.deepEqual(await members(server, workspaceId, segment.segmentId), [], "two logins, however often they are handed over, are not three");
    await apply(server, workspaceId, track("amy", "login"));
    await until("amy enters", async () => ((await members(server, workspaceId, segment.segmentId)).includes(amy) ? true : undefined));
    const all = (await store.db.selectFrom("events").selectAll().where("workspace_id", "=", workspaceId).orderBy("id").execute()).flatMap(toEvents);
    await again.handle(all.filter((e) => (PERSON_EVENT_TYPES as readonly string[]).includes(e.type)));
    const entered = (await store.db.selectFrom("events").select("data_json").where("type", "=", "segment.entered").execute()).filter((r) => JSON.parse(r.data_json).segmentId === segment.segmentId);
    assert.equal(entered.length, 1, "one entry, once");
  } finally {
    await server.close();
  }
});

test("a window that closes while Posthorn is stopped is acted on when it starts again; history reads newest first", async () => {
  const dir = tempDir("posthorn-segments-restart-");
  const clock = new MovableClock();
  const env = { POSTHORN_DATA_DIR: join(dir.path, "data"), POSTHORN_SEGMENTS_POLL: "50ms" };
  try {
    let server = await startTestServer(env, { clock });
    const workspaceId = await setUp(server);
    const segment = await server.app.services.segments.create(workspaceId, { name: "active", conditions: { event: { name: "visit", within: "2d" } } });
    await apply(server, workspaceId, { op: "identify", who: { kind: "id", value: "bea" }, attributes: {} }, track("bea", "visit"));
    const bea = (await server.app.services.people.find(workspaceId, { kind: "id", value: "bea" }))!.personId;
    await until("bea enters", async () => ((await members(server, workspaceId, segment.segmentId)).includes(bea) ? true : undefined));
    await server.app.stop();
    clock.advance(3 * DAY);
    server = await startTestServer(env, { clock });
    try {
      await until("bea leaves after the restart", async () => ((await members(server, workspaceId, segment.segmentId)).length === 0 ? true : undefined));
      const history = await server.app.services.segments.history(workspaceId, bea, { limit: 10 });
      assert.deepEqual(history.map((h) => [h.segmentId, h.entered]), [[segment.segmentId, false], [segment.segmentId, true]]);
      assert.ok(history[0]!.at > history[1]!.at + 2 * DAY - 60_000, "left by the moved clock, two days after the visit");
    } finally {
      await server.app.stop();
    }
  } finally {
    dir.remove();
  }
});

test("older_than: a date attribute growing old enters the person when its timer fires", async () => {
  const clock = new MovableClock();
  const server = await startTestServer({ POSTHORN_SEGMENTS_POLL: "50ms" }, { clock });
  try {
    const workspaceId = await setUp(server);
    const segment = await server.app.services.segments.create(workspaceId, { name: "two weeks in", conditions: { attribute: { field: "signed_up_at", operator: "older_than", value: "14d" } } });
    const signedUp = Math.floor((clock.now() - 10 * DAY) / 1000);
    await apply(server, workspaceId, { op: "identify", who: { kind: "id", value: "cal" }, attributes: { signed_up_at: signedUp } }, { op: "identify", who: { kind: "id", value: "dee" }, attributes: { signed_up_at: "not a date" } });
    const cal = (await server.app.services.people.find(workspaceId, { kind: "id", value: "cal" }))!.personId;
    await until("cal's timer", async () => {
      const timer = await server.app.services.store.db.selectFrom("segment_timers").select("due_at").where("person_id", "=", cal).executeTakeFirst();
      return timer ? Number(timer.due_at) : undefined;
    });
    assert.deepEqual(await members(server, workspaceId, segment.segmentId), []);
    clock.advance(4 * DAY + 60_000);
    await until("cal enters", async () => ((await members(server, workspaceId, segment.segmentId)).includes(cal) ? true : undefined));
    assert.deepEqual(await members(server, workspaceId, segment.segmentId), [cal], "a value that is no date never matches");
  } finally {
    await server.close();
  }
});
