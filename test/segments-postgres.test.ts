// Two Posthorn processes (two apps in this process, each with its own worker role) on one
// PostgreSQL database: their timer loops race for the same due timers and their fillers for the
// same new segment, and still every person enters once and leaves once — writes of membership are
// idempotent across processes (src/segments/README.md, "one writer of a verdict at a time").
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./support/server.js";
import { createTempDatabase } from "./support/stores.js";
import { MovableClock, until } from "./support/segments.js";
import type { PersonOperation } from "../src/people/people.port.js";

const serverUrl = process.env.TEST_DATABASE_URL;
const skip = serverUrl ? false : "TEST_DATABASE_URL is not set (CI sets it)";
const DAY = 86_400_000;
const PEOPLE = 60;

let one: TestServer;
let two: TestServer;
let drop: () => Promise<void>;
let workspaceId: string;
const clock = new MovableClock();

before(async () => {
  if (!serverUrl) return;
  const database = await createTempDatabase(serverUrl);
  drop = database.drop;
  const env = { DATABASE_URL: database.url, POSTHORN_SEGMENTS_POLL: "20ms" };
  one = await startTestServer(env, { clock });
  two = await startTestServer(env, { clock });
  await one.createWorkspace("shop");
  workspaceId = (await one.app.services.workspaces.get("shop")).id;
});

after(async () => {
  if (!serverUrl) return;
  await one.close();
  await two.close();
  await drop();
});

async function changes(segmentId: string): Promise<Map<string, string[]>> {
  const rows = await one.app.services.store.db.selectFrom("events").select(["type", "data_json"]).where("type", "in", ["segment.entered", "segment.left"]).orderBy("id").execute();
  const byPerson = new Map<string, string[]>();
  for (const row of rows) {
    const data = JSON.parse(row.data_json) as { personId: string; segmentId: string };
    if (data.segmentId !== segmentId) continue;
    byPerson.set(data.personId, [...(byPerson.get(data.personId) ?? []), row.type]);
  }
  return byPerson;
}

test("two processes fill a new segment and fire its timers: each person enters once and leaves once", { skip, timeout: 60_000 }, async () => {
  const operations: PersonOperation[] = [];
  for (let i = 0; i < PEOPLE; i++) {
    operations.push({ op: "identify", who: { kind: "id", value: `p${i}` }, attributes: {} });
    operations.push({ op: "track", who: { kind: "id", value: `p${i}` }, event: { name: "visit", type: "event", dedupeKey: null, timestamp: null, data: {} } });
  }
  for (const r of await one.app.services.people.apply(workspaceId, operations)) assert.ok(r.ok);
  // Defined through the second process: both fillers see it pending.
  const segment = await two.app.services.segments.create(workspaceId, { name: "recent visitors", conditions: { event: { name: "visit", within: "1d" } } });
  await until("every person in", async () => ((await one.app.services.segments.size(workspaceId, segment.segmentId)) === PEOPLE ? true : undefined), 20_000);
  await until("filled", async () => ((await one.app.services.segments.filled(workspaceId, segment.segmentId)) ? true : undefined), 10_000);
  clock.advance(DAY + 60_000);
  await until("every person out", async () => ((await one.app.services.segments.size(workspaceId, segment.segmentId)) === 0 ? true : undefined), 20_000);
  // Give a late duplicate the time to show.
  await new Promise((r) => setTimeout(r, 300));
  const byPerson = await changes(segment.segmentId);
  assert.equal(byPerson.size, PEOPLE);
  for (const [person, types] of byPerson) assert.deepEqual(types, ["segment.entered", "segment.left"], person);
  const history = await one.app.services.store.db.selectFrom("segment_history").select((eb) => eb.fn.countAll<number>().as("n")).where("segment_id", "=", Number(segment.segmentId)).executeTakeFirstOrThrow();
  assert.equal(Number(history.n), PEOPLE * 2);
});
