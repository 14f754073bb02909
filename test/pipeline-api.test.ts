// The Segment-spec pipeline API end to end: the real @segment/analytics-node 3.1.0 and
// @customerio/cdp-analytics-node 0.5.9, changed only in their host option, and raw HTTP for what
// the libraries never send (single calls, body writeKey, oversize, malformed JSON), against a
// listening server; what was stored is read back through the people domain's reader and tables.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { Analytics as SegmentAnalytics } from "@segment/analytics-node";
import { Analytics as CioAnalytics } from "@customerio/cdp-analytics-node";
import { startTestServer, type TestServer } from "./support/server.js";
import type { TrackCredentials } from "../src/workspaces/workspaces.service.js";
import type { Person, TrackedEvent } from "../src/people/people.port.js";
import { rawRequest, postHead } from "./support/raw-http.js";
import { createTempDatabase } from "./support/stores.js";

let server: TestServer;
let creds: TrackCredentials;
let otherCreds: TrackCredentials;
let workspaceId: string;

const basic = (user: string, pass = "") => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

before(async () => {
  server = await startTestServer({ POSTHORN_ROLES: "api" });
  await server.createWorkspace("shop");
  await server.createWorkspace("other");
  creds = await server.app.services.workspaces.createTrackCredentials("shop");
  otherCreds = await server.app.services.workspaces.createTrackCredentials("other");
  workspaceId = (await server.app.services.workspaces.get("shop")).id;
});
after(() => server.close());

function segment(options: Partial<ConstructorParameters<typeof SegmentAnalytics>[0]> = {}): SegmentAnalytics {
  return new SegmentAnalytics({ writeKey: creds.writeKey, host: server.url, flushInterval: 50, maxRetries: 1, ...options });
}

async function person(id: string, kind: "id" | "email" | "anonymous_id" = "id", ws = workspaceId): Promise<Person> {
  const found = await server.app.services.people.find(ws, { kind, value: id });
  assert.ok(found, `a person with ${kind} ${id}`);
  return found;
}

async function eventsOf(id: string): Promise<TrackedEvent[]> {
  const p = await person(id);
  return server.app.services.people.events(workspaceId, p.personId, { limit: 100 });
}

async function post(path: string, body: unknown, headers: Record<string, string> = { authorization: basic(creds.writeKey) }): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(server.url + path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe("with @segment/analytics-node", () => {
  test("identify, track, page, screen, group and alias arrive as people, events, objects and merges", async () => {
    const analytics = segment();
    const failures: unknown[] = [];
    const done = (err?: unknown) => void (err && failures.push(err));
    analytics.identify({ userId: "seg-1", traits: { email: "ana@example.org", name: "Ana", plan: "pro", createdAt: "2026-01-02T03:04:05Z" } }, done);
    analytics.track({ userId: "seg-1", event: "Order Completed", properties: { total: 30 }, timestamp: new Date("2026-12-01T10:00:00Z") }, done);
    analytics.page({ userId: "seg-1", name: "Pricing", properties: { url: "https://shop.test/pricing" } }, done);
    analytics.screen({ userId: "seg-1", name: "Cart", category: "Shop" }, done);
    analytics.group({ userId: "seg-1", groupId: "acme", traits: { name: "Acme", objectTypeId: "2", relationshipAttributes: { role: "admin" } } }, done);
    await analytics.closeAndFlush();
    assert.deepEqual(failures, []);

    const ana = await person("seg-1");
    assert.equal(ana.email, "ana@example.org");
    assert.deepEqual(ana.attributes, { name: "Ana", plan: "pro" });
    assert.equal(ana.createdAt, Date.parse("2026-01-02T03:04:05Z"));
    const events = await eventsOf("seg-1");
    const byName = new Map(events.map((e) => [e.name, e]));
    const order = byName.get("Order Completed");
    assert.equal(order?.type, "event");
    assert.equal(order?.data.total, 30);
    assert.deepEqual((order?.data._context as { library: { name: string } }).library.name, "@segment/analytics-node");
    // The library's timestamp with its batch's sentAt: placed at the time it gave, less the (tiny) skew.
    assert.ok(Math.abs(order!.timestamp - Date.parse("2026-12-01T10:00:00Z")) < 60_000, `timestamp ${new Date(order!.timestamp).toISOString()}`);
    assert.equal(byName.get("Pricing")?.type, "page");
    assert.equal(byName.get("Pricing")?.data.url, "https://shop.test/pricing");
    assert.equal(byName.get("Cart")?.type, "screen");
    assert.equal(byName.get("Cart")?.data.category, "Shop");

    const db = server.app.services.store.db;
    const object = await db.selectFrom("objects").selectAll().where("workspace_id", "=", workspaceId).where("object_id", "=", "acme").executeTakeFirst();
    assert.equal(object?.type_id, "2");
    assert.deepEqual(JSON.parse(object!.attributes_json), { name: "Acme" });
    const relation = await db.selectFrom("relationships").selectAll().where("person_id", "=", ana.personId).executeTakeFirst();
    assert.equal(relation?.object_id, "acme");
    assert.deepEqual(JSON.parse(relation!.attributes_json), { role: "admin" });
  });

  test("anonymous events are merged into the person when an identify names the anonymous id", async () => {
    const analytics = segment();
    analytics.track({ anonymousId: "anon-visit-1", event: "Viewed Product", properties: { sku: "A1" } });
    analytics.page({ anonymousId: "anon-visit-1", name: "Home" });
    await analytics.flush();
    analytics.identify({ userId: "seg-anon-1", anonymousId: "anon-visit-1", traits: { plan: "free" } });
    await analytics.closeAndFlush();
    const names = (await eventsOf("seg-anon-1")).map((e) => e.name).sort();
    assert.deepEqual(names, ["Home", "Viewed Product"]);
    assert.deepEqual((await person("seg-anon-1")).anonymousIds, ["anon-visit-1"]);
  });

  test("alias moves an anonymous id's events to the user, and merges a person known by the previous id", async () => {
    const analytics = segment();
    analytics.track({ anonymousId: "anon-alias", event: "Signed Up" });
    analytics.identify({ userId: "old-account", traits: { legacy: true } });
    analytics.track({ userId: "old-account", event: "Legacy Login" });
    await analytics.flush();
    analytics.alias({ userId: "new-account", previousId: "anon-alias" });
    analytics.alias({ userId: "new-account", previousId: "old-account" });
    await analytics.closeAndFlush();
    const names = (await eventsOf("new-account")).map((e) => e.name).sort();
    assert.deepEqual(names, ["Legacy Login", "Signed Up"]);
    assert.equal((await person("new-account")).attributes.legacy, true);
    assert.equal(await server.app.services.people.find(workspaceId, { kind: "id", value: "old-account" }).then((p) => p?.personId === undefined || p.id === "new-account"), true);
  });

  test("a repeated messageId is stored once", async () => {
    const analytics = segment();
    for (let i = 0; i < 3; i++) analytics.track({ userId: "seg-dedupe", event: "Paid", messageId: "msg-fixed-1", properties: { attempt: i } });
    await analytics.closeAndFlush();
    const again = await post("/v1/track", { userId: "seg-dedupe", event: "Paid", messageId: "msg-fixed-1" });
    assert.equal(again.status, 200);
    const paid = (await eventsOf("seg-dedupe")).filter((e) => e.name === "Paid");
    assert.equal(paid.length, 1);
    assert.equal(paid[0]!.dedupeKey, "msg-fixed-1");
  });

  test("a wrong write key fails the library's delivery with 401, and nothing is stored", async () => {
    const analytics = segment({ writeKey: "not-a-write-key" });
    const outcome = await new Promise<unknown>((resolve) => analytics.track({ userId: "seg-wrong-key", event: "Nope" }, (err) => resolve(err)));
    await analytics.closeAndFlush();
    assert.match(String((outcome as { reason?: Error })?.reason ?? outcome), /401/);
    assert.equal(await server.app.services.people.find(workspaceId, { kind: "id", value: "seg-wrong-key" }), null);
  });
});

describe("with @customerio/cdp-analytics-node", () => {
  test("identify and track arrive; its batches carry no sentAt, so its timestamps stand as sent", async () => {
    const analytics = new CioAnalytics({ writeKey: creds.writeKey, host: server.url, flushInterval: 50, maxRetries: 0 });
    analytics.identify({ userId: "cio-1", traits: { email: "bo@example.org", employer: "Initech" } });
    analytics.track({ userId: "cio-1", event: "Trial Started", properties: { days: 14 }, timestamp: new Date("2026-11-30T08:00:00Z") });
    analytics.page({ userId: "cio-1", name: "Docs" });
    // Its default gives up after flushInterval × 1.25 (62.5 ms here) and resolves all the same: on
    // a loaded machine that came before the answer (docs/pipeline-api.md, "Closing").
    await analytics.closeAndFlush({ timeout: 10_000 });
    const bo = await person("cio-1");
    assert.equal(bo.email, "bo@example.org");
    assert.equal(bo.attributes.employer, "Initech");
    const events = await eventsOf("cio-1");
    const trial = events.find((e) => e.name === "Trial Started");
    assert.equal(trial?.timestamp, Date.parse("2026-11-30T08:00:00Z"));
    assert.equal((trial?.data._context as { library: { name: string } }).library.name, "@customerio/cdp-analytics-node");
    assert.ok(events.some((e) => e.name === "Docs" && e.type === "page"));
  });
});

describe("raw HTTP", () => {
  test("every single call answers {success: true} and stores its event", async () => {
    for (const [path, body] of [
      ["/v1/identify", { userId: "raw-1", traits: { tier: "gold" } }],
      ["/v1/track", { userId: "raw-1", event: "Raw Event" }],
      ["/v1/page", { userId: "raw-1", name: "Raw Page" }],
      ["/v1/screen", { userId: "raw-1", name: "Raw Screen" }],
      ["/v1/group", { userId: "raw-1", groupId: "raw-group" }],
      ["/v1/alias", { userId: "raw-1", previousId: "raw-anon" }],
    ] as const) {
      const answer = await post(path, body);
      assert.equal(answer.status, 200, path);
      assert.deepEqual(answer.json, { success: true }, path);
    }
    const imported = await post("/v1/import", { batch: [{ type: "track", userId: "raw-1", event: "Imported" }] });
    assert.deepEqual(imported, { status: 200, json: { success: true } });
    assert.equal((await person("raw-1")).attributes.tier, "gold");
    assert.deepEqual((await eventsOf("raw-1")).map((e) => e.name).sort(), ["Imported", "Raw Event", "Raw Page", "Raw Screen"]);
  });

  test("the writeKey may come in the body instead of the header", async () => {
    const answer = await post("/v1/batch", { writeKey: creds.writeKey, batch: [{ type: "track", userId: "body-key", event: "Keyed" }] }, {});
    assert.equal(answer.status, 200);
    assert.equal((await eventsOf("body-key")).length, 1);
    const wrong = await post("/v1/track", { writeKey: "nope", userId: "body-key", event: "Keyed" }, {});
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.success, false);
    const none = await post("/v1/track", { userId: "body-key", event: "Keyed" }, {});
    assert.equal(none.status, 401);
  });

  test("the header decides when both are given, and a write key reaches its own workspace only", async () => {
    const wrongHeader = await post("/v1/track", { writeKey: creds.writeKey, userId: "x", event: "e" }, { authorization: basic("wrong") });
    assert.equal(wrongHeader.status, 401);
    const bearer = await post("/v1/track", { userId: "x", event: "e" }, { authorization: `Bearer ${creds.appKey}` });
    assert.equal(bearer.status, 401);
    const other = await post("/v1/track", { userId: "only-other", event: "Elsewhere" }, { authorization: basic(otherCreds.writeKey) });
    assert.equal(other.status, 200);
    assert.equal(await server.app.services.people.find(workspaceId, { kind: "id", value: "only-other" }), null);
    const otherWs = (await server.app.services.workspaces.get("other")).id;
    assert.ok(await server.app.services.people.find(otherWs, { kind: "id", value: "only-other" }));
  });

  test("bad events inside a batch are skipped and listed; the good ones are stored", async () => {
    const answer = await post("/v1/batch", {
      batch: [
        { type: "track", userId: "mixed", event: "Good One" },
        { type: "track", userId: "mixed" },
        { type: "launch", userId: "mixed" },
        { type: "identify", traits: { a: 1 } },
        { type: "track", userId: "mixed", event: "x".repeat(101) },
        { type: "identify", userId: "mixed", traits: { big: "v".repeat(1001) } },
        { type: "page", userId: "mixed", name: "Good Two" },
      ],
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.json.success, true);
    const skipped = answer.json.skipped as Array<{ index: number; reason: string }>;
    assert.deepEqual(skipped.map((s) => s.index), [1, 2, 3, 4, 5]);
    assert.match(skipped[0]!.reason, /event name/);
    assert.match(skipped[3]!.reason, /PEOPLE_EVENT_NAME_TOO_LARGE/);
    assert.match(skipped[4]!.reason, /PEOPLE_ATTRIBUTE_VALUE_TOO_LARGE/);
    assert.deepEqual((await eventsOf("mixed")).map((e) => e.name).sort(), ["Good One", "Good Two"]);
  });

  test("X-Strict-Mode: 1 refuses a batch with an unusable event, and stores none of it", async () => {
    const answer = await post("/v1/batch", { batch: [{ type: "track", userId: "strict", event: "Fine" }, { type: "track", userId: "strict" }] }, { authorization: basic(creds.writeKey), "x-strict-mode": "1" });
    assert.equal(answer.status, 400);
    assert.equal(answer.json.success, false);
    assert.equal(await server.app.services.people.find(workspaceId, { kind: "id", value: "strict" }), null);
  });

  test("the sender's clock skew is corrected: received - (sentAt - originalTimestamp)", async () => {
    // The sender's clock runs one hour fast; the event happened 5 s before the request left.
    const skew = 3_600_000;
    const before = Date.now();
    const answer = await post("/v1/batch", {
      sentAt: new Date(before + skew).toISOString(),
      batch: [{ type: "track", userId: "skewed", event: "Skewed", originalTimestamp: new Date(before + skew - 5000).toISOString() }],
    });
    const afterwards = Date.now();
    assert.equal(answer.status, 200);
    const [event] = await eventsOf("skewed");
    assert.ok(event!.timestamp >= before - 5000 && event!.timestamp <= afterwards - 5000, `stored ${event!.timestamp - before} ms from the start`);
  });
});

describe("limits and malformed requests", () => {
  test("a single call over 32 KB is refused with 400", async () => {
    const answer = await post("/v1/track", { userId: "big", event: "Big", properties: { blob: "x".repeat(33 * 1024) } });
    assert.equal(answer.status, 400);
    assert.equal(answer.json.success, false);
  });

  test("a batch over 500 KB is refused with 400 before its body is read", async () => {
    const answer = await rawRequest(server.url, postHead("/v1/batch", { Authorization: basic(creds.writeKey) }, 501 * 1024) + '{"batch":[');
    assert.ok(answer, "answered without the body");
    assert.equal(answer.status, 400);
    assert.equal(answer.closed, true);
  });

  test("a batch under 500 KB holding one event over 32 KB is refused whole", async () => {
    const answer = await post("/v1/batch", {
      batch: [
        { type: "track", userId: "fat-batch", event: "Small" },
        { type: "track", userId: "fat-batch", event: "Huge", properties: { blob: "x".repeat(33 * 1024) } },
      ],
    });
    assert.equal(answer.status, 400);
    assert.match(String(answer.json.message), /Event 1/);
    assert.equal(await server.app.services.people.find(workspaceId, { kind: "id", value: "fat-batch" }), null);
  });

  test("malformed JSON, a body that is no object, and a batch without an array answer 400", async () => {
    for (const [path, body] of [
      ["/v1/batch", '{"batch": [{"type": "track",'],
      ["/v1/track", "[1, 2]"],
      ["/v1/batch", { batch: { type: "track" } }],
      ["/v1/batch", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"],
    ] as const) {
      const answer = await post(path, body);
      assert.equal(answer.status, 400, `${path} ${String(body).slice(0, 30)}`);
      assert.equal(answer.json.success, false);
    }
  });

  test("an unauthenticated 1 MB request is refused with 401 before its body is read", async () => {
    for (const headers of [{}, { Authorization: basic("wrong") }, { Authorization: "Bearer x" }] as Array<Record<string, string>>) {
      const answer = await rawRequest(server.url, postHead("/v1/batch", headers, 1024 * 1024) + '{"batch":[');
      assert.ok(answer, `answered without the body (${JSON.stringify(headers)})`);
      assert.equal(answer.status, 401);
      assert.equal(JSON.parse(answer.body).success, false);
      assert.equal(answer.closed, true);
    }
  });

  test("an unauthenticated chunked body is cut off at the call's limit", async () => {
    const chunk = Buffer.alloc(64 * 1024, "x").toString();
    const head = `POST /v1/track HTTP/1.1\r\nHost: posthorn.test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const body = [1, 2].map(() => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join("");
    const answer = await rawRequest(server.url, head + body);
    assert.equal(answer?.status, 401);
  });
});

describe("on PostgreSQL", { skip: process.env.TEST_DATABASE_URL ? false : "TEST_DATABASE_URL is not set (CI sets it)" }, () => {
  test("a library's batch is stored, de-duplicated and merged the same way", async () => {
    const db = await createTempDatabase(process.env.TEST_DATABASE_URL!);
    const pgServer = await startTestServer({ POSTHORN_ROLES: "api", DATABASE_URL: db.url });
    try {
      await pgServer.createWorkspace("shop");
      const pgCreds = await pgServer.app.services.workspaces.createTrackCredentials("shop");
      const ws = (await pgServer.app.services.workspaces.get("shop")).id;
      const analytics = new SegmentAnalytics({ writeKey: pgCreds.writeKey, host: pgServer.url, flushInterval: 50, maxRetries: 1 });
      analytics.track({ anonymousId: "pg-anon", event: "Browsed", messageId: "pg-m1" });
      analytics.track({ anonymousId: "pg-anon", event: "Browsed", messageId: "pg-m1" });
      await analytics.flush();
      analytics.identify({ userId: "pg-user", anonymousId: "pg-anon", traits: { email: "pg@example.org" } });
      await analytics.closeAndFlush();
      const found = await pgServer.app.services.people.find(ws, { kind: "id", value: "pg-user" });
      assert.equal(found?.email, "pg@example.org");
      const events = await pgServer.app.services.people.events(ws, found!.personId, { limit: 10 });
      assert.deepEqual(events.map((e) => e.name), ["Browsed"]);
    } finally {
      await pgServer.close();
      await db.drop();
    }
  });
});

test("a /v1 path neither API serves answers a write key in the pipeline's form, after checking it", async () => {
  const unknown = await post("/v1/nothing-here", { userId: "x" });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.success, false);
  assert.match(String(unknown.json.message), /no call POST \/v1\/nothing-here/);
  const wrong = await post("/v1/nothing-here", {}, { authorization: basic("wrong") });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.json.success, false);
});
