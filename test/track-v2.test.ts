// The Track API v2 end to end with raw HTTP: /entity (one operation, all or nothing) and /batch
// (one commit, each operation on its own: 200, or 207 listing the refused entries by batch_index),
// objects and relationships, and Customer.io's size limits (32 KB entity, 500 KB batch, 32 KB per
// operation). On SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./support/server.js";
import { createTempDatabase } from "./support/stores.js";
import type { TrackCredentials } from "../src/workspaces/workspaces.service.js";
import type { Person, PersonIdentifier } from "../src/people/people.port.js";

const targets = process.env.TEST_DATABASE_URL ? (["sqlite", "postgres"] as const) : (["sqlite"] as const);

for (const target of targets) {
  describe(`Track API v2 on ${target}`, () => {
    let server: TestServer;
    let creds: TrackCredentials;
    let workspaceId: string;
    let database: { url: string; drop: () => Promise<void> } | null = null;

    before(async () => {
      if (target === "postgres") {
        database = await createTempDatabase(process.env.TEST_DATABASE_URL!);
        server = await startTestServer({ POSTHORN_ROLES: "api", DATABASE_URL: database.url });
      } else server = await startTestServer({ POSTHORN_ROLES: "api" });
      await server.createWorkspace("v2shop");
      creds = await server.app.services.workspaces.createTrackCredentials("v2shop");
      workspaceId = (await server.app.services.workspaces.get("v2shop")).id;
    });
    after(async () => {
      await server.close();
      await database?.drop();
    });

    async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
      const response = await fetch(`${server.url}/api/v2${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Basic ${Buffer.from(`${creds.siteId}:${creds.apiKey}`).toString("base64")}` },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    }

    function find(kind: PersonIdentifier["kind"], value: string): Promise<Person | null> {
      return server.app.services.people.find(workspaceId, { kind, value });
    }

    async function eventNames(person: Person): Promise<string[]> {
      return (await server.app.services.people.events(workspaceId, person.personId, { limit: 100 })).map((e) => e.name).sort();
    }

    test("entity: identify, then an event, answered 200 {}", async () => {
      assert.deepEqual(await post("/entity", { type: "person", identifiers: { id: "42" }, action: "identify", attributes: { first_name: "Jane", email: "jane@v2.test" } }), { status: 200, json: {} });
      assert.deepEqual(await post("/entity", { type: "person", identifiers: { email: "jane@v2.test" }, action: "event", name: "purchase", id: "01HZY0000000000000000000AA", attributes: { price: 9 } }), { status: 200, json: {} });
      const jane = await find("id", "42");
      assert.equal(jane?.attributes.first_name, "Jane");
      assert.deepEqual(await eventNames(jane!), ["purchase"]);
    });

    test("entity: a refused operation is 400 with errors[] naming the field, and changes nothing", async () => {
      const { status, json } = await post("/entity", { type: "person", identifiers: { id: "43" }, action: "event" });
      assert.equal(status, 400);
      assert.deepEqual(json.errors, [{ reason: "track_request_invalid", field: "name", message: "'name' is required: the event's name." }]);
      assert.ok((json.meta as { error: string }).error);
      const limit = await post("/entity", { type: "person", identifiers: { id: "43" }, action: "identify", attributes: { bio: "b".repeat(1001) } });
      assert.equal(limit.status, 400);
      assert.match((limit.json.errors as Array<{ reason: string }>)[0]!.reason, /^people_attribute_value/);
      assert.equal(await find("id", "43"), null);
      // An identify with relationships is all or nothing: a bad relationship leaves no person behind.
      const half = await post("/entity", { type: "person", identifiers: { id: "44" }, action: "identify", attributes: { a: 1 }, cio_relationships: [{ identifiers: { object_type_id: "1", object_id: "o".repeat(151) } }] });
      assert.equal(half.status, 400);
      assert.equal(await find("id", "44"), null);
    });

    test("entity: a body over 32 KB is refused with 413 before it is parsed", async () => {
      const { status, json } = await post("/entity", { type: "person", identifiers: { id: "big" }, action: "identify", attributes: { blob: "x".repeat(32 * 1024) } });
      assert.equal(status, 413);
      assert.match((json.meta as { error: string }).error, /32768 bytes/);
    });

    test("batch: every kind of person operation, with objects and relationships, in one call", async () => {
      const batch = [
        { type: "person", identifiers: { id: "b1" }, action: "identify", attributes: { plan: "pro" } },
        { type: "person", identifiers: { id: "b2" }, action: "identify", attributes: { plan: "free" } },
        { type: "person", identifiers: { id: "b1" }, action: "event", name: "signed_in" },
        { type: "person", identifiers: { id: "b1" }, action: "page", name: "/home", attributes: { referrer: "x" } },
        { type: "person", identifiers: { id: "b1" }, action: "screen", name: "Dashboard" },
        { type: "person", identifiers: { id: "b1" }, action: "add_device", device: { token: "dev-1", platform: "ios" } },
        { type: "person", identifiers: { id: "b1" }, action: "add_device", device: { token: "dev-2", platform: "android" } },
        { type: "person", identifiers: { id: "b1" }, action: "delete_device", device: { token: "dev-1" } },
        { type: "object", identifiers: { object_type_id: "1", object_id: "acme" }, action: "identify", attributes: { seats: 50 }, cio_relationships: [{ identifiers: { id: "b1" }, relationship_attributes: { role: "admin" } }] },
        { type: "person", identifiers: { id: "b2" }, action: "add_relationships", cio_relationships: [{ identifiers: { object_type_id: "1", object_id: "acme" } }] },
        { type: "person", identifiers: { id: "b3" }, action: "identify" },
        { type: "person", identifiers: { id: "b3" }, action: "event", name: "old_event" },
        { type: "person", action: "merge", primary: { id: "b2" }, secondary: { id: "b3" } },
        { type: "person", identifiers: { id: "b4" }, action: "identify" },
        { type: "person", identifiers: { id: "b4" }, action: "suppress" },
        { type: "person", identifiers: { id: "b5" }, action: "identify" },
        { type: "person", identifiers: { id: "b5" }, action: "delete" },
        { type: "delivery", identifiers: { id: "d-1" }, action: "event", name: "opened", attributes: { device_token: "dev-2" } },
      ];
      assert.deepEqual(await post("/batch", { batch }), { status: 200, json: {} });
      const b1 = await find("id", "b1");
      assert.equal(b1?.attributes.plan, "pro");
      assert.deepEqual(await eventNames(b1!), ["/home", "Dashboard", "signed_in"]);
      assert.deepEqual(
        b1!.devices.map((d) => d.deviceId),
        ["dev-2"],
      );
      assert.deepEqual(await eventNames((await find("id", "b2"))!), ["old_event"]);
      assert.equal(await find("id", "b3"), null);
      assert.equal((await find("id", "b4"))?.suppressed, true);
      assert.equal(await find("id", "b5"), null);
      const relationships = await server.app.services.store.db.selectFrom("relationships").select(["person_id", "object_id", "attributes_json"]).where("workspace_id", "=", workspaceId).execute();
      const b2 = await find("id", "b2");
      assert.deepEqual(
        relationships.map((r) => [r.person_id, r.object_id, JSON.parse(r.attributes_json)]).sort(),
        [
          [b1!.personId, "acme", { role: "admin" }],
          [b2!.personId, "acme", {}],
        ].sort(),
      );
    });

    test("batch: refused entries are listed by batch_index in a 207; every other entry is applied", async () => {
      const { status, json } = await post("/batch", {
        batch: [
          { type: "person", identifiers: { id: "ok-1" }, action: "identify", attributes: { n: 1 } },
          { type: "person", identifiers: { id: "bad-1" }, action: "teleport" },
          { type: "person", identifiers: { id: "ok-2" }, action: "identify", attributes: { n: 2 } },
          { type: "person", identifiers: { id: "e".repeat(151) }, action: "identify" },
          { type: "person", identifiers: { id: "ok-3" }, action: "identify", attributes: { blob: "x".repeat(33 * 1024) } },
          { type: "person", identifiers: { id: "ok-2" }, action: "event", name: "n".repeat(101) },
          { type: "person", identifiers: { id: "ok-2" }, action: "event", name: "fine" },
        ],
      });
      assert.equal(status, 207);
      const errors = json.errors as Array<{ batch_index: number; reason: string; field: string | null }>;
      assert.deepEqual(
        errors.map((e) => e.batch_index),
        [1, 3, 4, 5],
      );
      assert.deepEqual(
        errors.map((e) => e.reason),
        ["track_request_invalid", "people_identifier_too_large", "track_request_invalid", "people_event_name_too_large"],
      );
      assert.equal(errors[0]!.field, "action");
      assert.equal((await find("id", "ok-1"))?.attributes.n, 1);
      const ok2 = await find("id", "ok-2");
      assert.equal(ok2?.attributes.n, 2);
      assert.deepEqual(await eventNames(ok2!), ["fine"]);
      assert.equal(await find("id", "ok-3"), null, "the operation over 32 KB was not applied");
    });

    test("batch: a request that is not a batch is 400 and applies nothing; over 500 KB is 413", async () => {
      for (const body of [{}, { batch: "x" }, [{ type: "person" }], "not json"]) {
        const { status, json } = await post("/batch", body);
        assert.equal(status, 400, JSON.stringify(body));
        assert.ok(Array.isArray(json.errors));
      }
      const near = Array.from({ length: 17 }, (_, i) => ({ type: "person", identifiers: { id: `big-${i}` }, action: "event", name: "upload", attributes: { blob: "y".repeat(30 * 1024) } }));
      const { status, json } = await post("/batch", { batch: near });
      assert.equal(status, 413);
      assert.match((json.meta as { error: string }).error, /512000 bytes/);
      assert.equal(await find("id", "big-0"), null);
      // Just under 500 KB is accepted whole.
      assert.equal((await post("/batch", { batch: near.slice(0, 16) })).status, 200);
      assert.ok(await find("id", "big-15"));
    });

    test("batch: 100 events in one call are one commit and all stored", async () => {
      const batch = Array.from({ length: 100 }, (_, i) => ({ type: "person", identifiers: { id: "bulk-person" }, action: "event", name: `e${i}`, id: `01HZY${String(i).padStart(21, "0")}` }));
      assert.equal((await post("/batch", { batch })).status, 200);
      // Sent again: every event is a duplicate, stored once.
      assert.equal((await post("/batch", { batch })).status, 200);
      assert.equal((await eventNames((await find("id", "bulk-person"))!)).length, 100);
    });
  });
}
