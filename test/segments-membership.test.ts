// Segment membership end to end: people identified and events tracked through the people service
// (the Track API's door), segments defined through the App API with raw fetch, and membership read
// back as the worker role keeps it: entry and exit in real time, after a time window passes (a
// clock the test moves), filling a segment from the people already known, manual segments,
// merges and deletions, each change a segment.entered / segment.left event in the outbox.
// On SQLite always, and on PostgreSQL when TEST_DATABASE_URL is set.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./support/server.js";
import { serverDatabases } from "./support/stores.js";
import { appApi, MovableClock, until, type AppApi } from "./support/segments.js";
import type { PersonOperation } from "../src/people/people.port.js";

for (const target of serverDatabases()) {
  describe(`segment membership (${target.name})`, () => {
    const DAY = 86_400_000;
    let server: TestServer;
    let api: AppApi;
    let workspaceId: string;
    const clock = new MovableClock();

    let drop: () => Promise<void>;

    before(async () => {
      const database = await target.open();
      drop = database.drop;
      server = await startTestServer({ POSTHORN_SEGMENTS_POLL: "50ms", ...database.env }, { clock });
      assert.equal(server.app.services.store.dialect, target.name);
      await server.createWorkspace("shop");
      workspaceId = (await server.app.services.workspaces.get("shop")).id;
      api = appApi(server.url, (await server.app.services.workspaces.createTrackCredentials("shop")).appKey);
    });
    after(async () => {
      await server.close();
      await drop();
    });

    async function apply(...operations: PersonOperation[]): Promise<void> {
      const results = await server.app.services.people.apply(workspaceId, operations, { atomic: true });
      for (const r of results) assert.ok(r.ok, JSON.stringify(r));
    }

    const identify = (id: string, attributes: Record<string, unknown>): PersonOperation => ({ op: "identify", who: { kind: "id", value: id }, attributes });
    const track = (id: string, name: string, data: Record<string, unknown> = {}, timestamp: number | null = null): PersonOperation => ({
      op: "track",
      who: { kind: "id", value: id },
      event: { name, type: "event", dedupeKey: null, timestamp, data },
    });

    async function personId(id: string): Promise<string> {
      const person = await server.app.services.people.find(workspaceId, { kind: "id", value: id });
      assert.ok(person, `person ${id}`);
      return person.personId;
    }

    async function createSegment(name: string, conditions: unknown | null): Promise<string> {
      const { status, body } = await api.call("POST", "/segments", { segment: { name, description: `${name} (test)`, ...(conditions === null ? {} : { conditions }) } });
      assert.equal(status, 200, JSON.stringify(body));
      return String((body.segment as { id: number }).id);
    }

    async function memberIds(segmentId: string): Promise<string[]> {
      const { status, body } = await api.call("GET", `/segments/${segmentId}/membership`);
      assert.equal(status, 200, JSON.stringify(body));
      return (body.identifiers as Array<{ id: string }>).map((i) => i.id).sort();
    }

    const waitMembers = (segmentId: string, expected: string[], timeoutMs = 2_000) =>
      until(`segment ${segmentId} to hold [${expected.join(", ")}]`, async () => JSON.stringify(await memberIds(segmentId)) === JSON.stringify([...expected].sort()), timeoutMs);

    async function segmentEvents(segmentId: string): Promise<Array<{ type: string; personId: string; at: number }>> {
      const rows = await server.app.services.store.db.selectFrom("events").select(["type", "data_json"]).where("type", "in", ["segment.entered", "segment.left"]).where("workspace_id", "=", workspaceId).orderBy("id").execute();
      return rows
        .map((r) => ({ type: r.type, ...(JSON.parse(r.data_json) as { personId: string; segmentId: string; at: number }) }))
        .filter((e) => e.segmentId === segmentId)
        .map(({ type, personId, at }) => ({ type, personId, at }));
    }

    test("an identify enters and leaves an attribute segment in real time, each change an outbox event", async () => {
      const segmentId = await createSegment("premium", { and: [{ attribute: { field: "plan", operator: "eq", value: "premium" } }, { not: { subscription: { unsubscribed: true } } }] });
      await apply(identify("ann", { plan: "premium" }), identify("bob", { plan: "free" }));
      const started = Date.now();
      await waitMembers(segmentId, ["ann"]);
      assert.ok(Date.now() - started < 2_000);
      await apply(identify("bob", { plan: "premium" }));
      await waitMembers(segmentId, ["ann", "bob"]);
      // Unsubscribing is a subscription change, which this segment reads.
      await apply({ op: "identify", who: { kind: "id", value: "ann" }, attributes: {}, unsubscribed: true });
      await waitMembers(segmentId, ["bob"]);
      const ann = await personId("ann");
      const events = await segmentEvents(segmentId);
      assert.deepEqual(
        events.filter((e) => e.personId === ann).map((e) => e.type),
        ["segment.entered", "segment.left"],
      );
      for (const e of events) assert.ok(Math.abs(e.at - clock.now()) < 10_000, "changes carry the time they happened");
      const size = await api.call("GET", `/segments/${segmentId}/customer_count`);
      assert.deepEqual(size.body, { count: 1 });
    });

    test("an event count within a window: entered on the second purchase, left when the window closes (the clock moved)", async () => {
      const segmentId = await createSegment("buyers", { event: { name: "purchase", where: [{ field: "total", operator: "gte", value: 10 }], at_least: 2, within: "7d" } });
      await apply(identify("cat", {}));
      await apply(track("cat", "purchase", { total: 50 }), track("cat", "purchase", { total: 5 }));
      // The second purchase is under the property test: one match only.
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(await memberIds(segmentId), []);
      await apply(track("cat", "purchase", { total: 20 }));
      await waitMembers(segmentId, ["cat"]);
      const cat = await personId("cat");
      const timer = await server.app.services.store.db.selectFrom("segment_timers").selectAll().where("person_id", "=", cat).where("segment_id", "=", Number(segmentId)).executeTakeFirst();
      assert.ok(timer, "a timer is set for the moment the window closes");
      assert.ok(Math.abs(Number(timer.due_at) - (clock.now() + 7 * DAY)) < 10_000);
      clock.advance(6 * DAY);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(await memberIds(segmentId), ["cat"], "still inside the window");
      clock.advance(DAY + 60_000);
      await waitMembers(segmentId, []);
      const left = (await segmentEvents(segmentId)).filter((e) => e.type === "segment.left");
      assert.equal(left.length, 1);
      assert.ok(left[0]!.at >= Number(timer.due_at), "left when the window closed, by the moved clock");
    });

    test("a 'not performed within' segment lets a person in when their last event leaves the window", async () => {
      const segmentId = await createSegment("lapsed", { and: [{ attribute: { field: "lapsed_test", operator: "exists" } }, { not: { event: { name: "login", within: "3d" } } }] });
      await apply(identify("dan", { lapsed_test: true }), track("dan", "login"));
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(await memberIds(segmentId), []);
      clock.advance(3 * DAY + 60_000);
      await waitMembers(segmentId, ["dan"]);
      await apply(track("dan", "login"));
      await waitMembers(segmentId, []);
    });

    test("a new segment is filled from the people and events already known", async () => {
      await apply(identify("eve", { country: "FR" }), identify("fay", { country: "DE" }), identify("gus", { country: "US" }));
      await apply(track("eve", "signup"), track("gus", "signup"));
      const segmentId = await createSegment("eu signups", { and: [{ attribute: { field: "country", operator: "in", value: ["FR", "DE"] } }, { event: { name: "signup" } }] });
      await waitMembers(segmentId, ["eve"]);
      const { body } = await until("the segment to be finished", async () => {
        const got = await api.call("GET", `/segments/${segmentId}`);
        return (got.body.segment as { state: string }).state === "finished" ? got : undefined;
      });
      assert.equal((body.segment as { type: string }).type, "dynamic");
      // And kept current from then on.
      await apply(track("fay", "signup"));
      await waitMembers(segmentId, ["eve", "fay"]);
    });

    test("redefining a segment re-evaluates its members", async () => {
      await apply(identify("hal", { score: 5 }), identify("ida", { score: 50 }));
      const segmentId = await createSegment("scored", { attribute: { field: "score", operator: "gte", value: 10 } });
      await waitMembers(segmentId, ["ida"]);
      const put = await api.call("PUT", `/segments/${segmentId}`, { segment: { conditions: { attribute: { field: "score", operator: "lt", value: 10 } } } });
      assert.equal(put.status, 200);
      await waitMembers(segmentId, ["hal"]);
    });

    test("manual segments: add and remove people by id, unknown ones skipped, each change an event", async () => {
      await apply(identify("jon", {}), identify("kim", {}), { op: "identify", who: { kind: "email", value: "lee@example.com" }, attributes: {} });
      const segmentId = await createSegment("vip", null);
      const segments = server.app.services.segments;
      await segments.addPeople(workspaceId, segmentId, [
        { kind: "id", value: "jon" },
        { kind: "id", value: "nobody" },
        { kind: "email", value: "lee@example.com" },
      ]);
      const lee = (await server.app.services.people.find(workspaceId, { kind: "email", value: "lee@example.com" }))!;
      const { body } = await api.call("GET", `/segments/${segmentId}/membership`);
      assert.deepEqual((body.identifiers as Array<{ id: string | null; email: string | null }>).map((i) => i.id ?? i.email).sort(), ["jon", "lee@example.com"]);
      assert.ok((body.ids as string[]).includes(""), "a member known by email only has an empty id");
      await segments.addPeople(workspaceId, segmentId, [{ kind: "id", value: "jon" }]);
      await segments.removePeople(workspaceId, segmentId, [{ kind: "id", value: "jon" }, { kind: "id", value: "kim" }]);
      assert.deepEqual((await segments.members(workspaceId, segmentId, { limit: 10, cursor: null })).items.map((m) => m.personId), [lee.personId]);
      const jon = await personId("jon");
      assert.deepEqual(
        (await segmentEvents(segmentId)).filter((e) => e.personId === jon).map((e) => e.type),
        ["segment.entered", "segment.left"],
        "adding someone already in changes nothing",
      );
      // Deleting the segment: its last member leaves it, as an event.
      await segments.delete(workspaceId, segmentId);
      assert.deepEqual((await segmentEvents(segmentId)).filter((e) => e.personId === lee.personId).map((e) => e.type), ["segment.entered", "segment.left"]);
      const tooMany = Array.from({ length: 1001 }, (_, i) => ({ kind: "id" as const, value: `p${i}` }));
      await assert.rejects(segments.addPeople(workspaceId, await createSegment("vip2", null), tooMany), /at most 1000 people/i);
      const dataSegment = await createSegment("data", { device: {} });
      await assert.rejects(segments.addPeople(workspaceId, dataSegment, [{ kind: "id", value: "jon" }]), (err: Error & { code?: string }) => err.code === "SEGMENT_NOT_MANUAL_INVALID");
    });

    test("a merge moves manual memberships to the primary and re-evaluates it; a deletion leaves every segment", async () => {
      await apply(identify("max", { tier: "gold" }), identify("ned", {}));
      await apply(track("ned", "referral"));
      const manual = await createSegment("beta testers", null);
      const referrers = await createSegment("referrers", { event: { name: "referral" } });
      const gold = await createSegment("gold", { attribute: { field: "tier", operator: "eq", value: "gold" } });
      await server.app.services.segments.addPeople(workspaceId, manual, [{ kind: "id", value: "ned" }]);
      await waitMembers(referrers, ["ned"]);
      await waitMembers(gold, ["max"]);
      const ned = await personId("ned");
      await apply({ op: "merge", primary: { kind: "id", value: "max" }, secondary: { kind: "id", value: "ned" } });
      // ned's referral is max's now; ned is gone from every segment.
      await waitMembers(referrers, ["max"]);
      await waitMembers(manual, ["max"]);
      assert.deepEqual(await server.app.services.segments.segmentsOf(workspaceId, ned), []);
      await apply({ op: "delete", who: { kind: "id", value: "max" } });
      await waitMembers(gold, []);
      await waitMembers(referrers, []);
      await waitMembers(manual, []);
    });

    test("anonymous events count once the anonymous id is identified (the merge reads them back)", async () => {
      const segmentId = await createSegment("pricing viewers", { event: { name: "viewed_pricing", at_least: 2 } });
      const anonymous = (n: number): PersonOperation => ({ op: "track", who: { kind: "anonymous_id", value: "anon-77" }, event: { name: "viewed_pricing", type: "event", dedupeKey: null, timestamp: null, data: { n } } });
      await apply(anonymous(1), anonymous(2));
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(await memberIds(segmentId), []);
      await apply({ op: "identify", who: { kind: "id", value: "quinn" }, attributes: {}, alsoKnownAs: [{ kind: "anonymous_id", value: "anon-77" }] });
      await waitMembers(segmentId, ["quinn"]);
    });

    test("devices and suppression: a device segment follows devices; a suppressed person leaves, and their kept matches go with their data", async () => {
      const segmentId = await createSegment("ios users", { device: { platform: "ios" } });
      const clickers = await createSegment("clickers", { event: { name: "click" } });
      const addDevice: PersonOperation = { op: "add_device", who: { kind: "id", value: "oli" }, device: { deviceId: "tok-1", platform: "ios", lastUsedAt: null, attributes: {} } };
      await apply(identify("oli", {}), addDevice, track("oli", "click"));
      await waitMembers(segmentId, ["oli"]);
      await waitMembers(clickers, ["oli"]);
      await apply({ op: "delete_device", who: { kind: "id", value: "oli" }, deviceId: "tok-1" });
      await waitMembers(segmentId, []);
      await apply(addDevice);
      await waitMembers(segmentId, ["oli"]);
      // Suppression deletes the person's devices and events (people domain): they leave both.
      await apply({ op: "suppress", who: { kind: "id", value: "oli" } });
      await waitMembers(segmentId, []);
      await waitMembers(clickers, []);
      assert.equal((await server.app.services.store.db.selectFrom("segment_state").selectAll().where("person_id", "=", await personId("oli")).execute()).length, 0);
      await apply({ op: "unsuppress", who: { kind: "id", value: "oli" } }, addDevice);
      await waitMembers(segmentId, ["oli"]);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(await memberIds(clickers), [], "the click was deleted with the suppression");
    });

    test("a changed condition defined after the change: the filler reads the change from the person's timeline", async () => {
      await apply(identify("rex", { stage: "lead" }));
      await apply(identify("rex", { stage: "customer" }));
      await apply(identify("sid", { stage: "customer" }));
      const segmentId = await createSegment("converted", { changed: { field: "stage", from: "lead", to: "customer", within: "1d" } });
      await waitMembers(segmentId, ["rex"]);
      clock.advance(DAY + 60_000);
      await waitMembers(segmentId, []);
    });

    test("a changed condition: entered when the attribute changes from/to, left when its window closes", async () => {
      const segmentId = await createSegment("upgraded", { changed: { field: "plan", from: "trial", to: "paid", within: "2d" } });
      await apply(identify("pam", { plan: "trial" }));
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(await memberIds(segmentId), []);
      await apply(identify("pam", { plan: "paid" }));
      await waitMembers(segmentId, ["pam"]);
      clock.advance(2 * DAY + 60_000);
      await waitMembers(segmentId, []);
    });

    // Last: the 1,200 people it adds would make every later test's new segment fill from them too.
    test("a unit of many people writes every kept match and timer (more rows than one upsert holds)", async () => {
      const PEOPLE = 1_200;
      const segmentId = await createSegment("bulk viewers", { event: { name: "bulk_view", at_least: 2, within: "1d" } });
      const ids = Array.from({ length: PEOPLE }, (_, i) => `bulk-${String(i).padStart(4, "0")}`);
      const { db } = server.app.services.store;
      const count = async (table: "segment_timers" | "segment_members") =>
        Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as("n")).where("segment_id", "=", Number(segmentId)).executeTakeFirstOrThrow()).n);
      // The kept matches' sizes, of the people who have any (the segment's filling kept an empty list for the people of earlier tests).
      const kept = async () => (await db.selectFrom("segment_state").select("hits_json").where("segment_id", "=", Number(segmentId)).execute()).map((r) => (JSON.parse(r.hits_json) as unknown[]).length).filter((n) => n > 0);
      await apply(...ids.map((id) => track(id, "bulk_view")));
      await until("a kept match for every person", async () => (await kept()).length === PEOPLE, 10_000);
      assert.ok((await kept()).every((n) => n === 1));
      assert.equal(await count("segment_members"), 0);
      // The second view: each kept list is updated in place, everyone enters, and each has the timer of their first view's expiry.
      await apply(...ids.map((id) => track(id, "bulk_view")));
      await until("every person in the segment", async () => (await count("segment_members")) === PEOPLE, 10_000);
      assert.deepEqual([...new Set(await kept())], [2]);
      assert.equal((await kept()).length, PEOPLE);
      assert.equal(await count("segment_timers"), PEOPLE);
      clock.advance(DAY + 60_000);
      await until("every person out of the segment once the window passed", async () => (await count("segment_members")) === 0, 20_000);
    });
  });
}
