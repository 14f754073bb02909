// The Track API v1 end to end, driven by the official customerio-node TrackClient over Posthorn's
// HTTPS listener with its generated certificate pinned (reference §1.2: the client ignores the
// port and scheme of its url, so `port` and `ca` are the options that point it at Posthorn). What
// each call did is read back through the people domain's reader, not assumed.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { connect } from "node:net";
import { readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { TrackClient, Region, IdentifierType } from "customerio-node";
import { startTestServer, type TestServer } from "./support/server.js";
import type { TrackCredentials } from "../src/workspaces/workspaces.service.js";
import type { Person, PersonIdentifier } from "../src/people/people.port.js";

let server: TestServer;
let creds: TrackCredentials;
let cio: TrackClient;
let workspaceId: string;
let ca: Buffer;
let httpsPort: number;

before(async () => {
  server = await startTestServer({ POSTHORN_ROLES: "api", POSTHORN_TRACK_HTTPS_PORT: "0" });
  await server.createWorkspace("shop");
  creds = await server.app.services.workspaces.createTrackCredentials("shop");
  workspaceId = (await server.app.services.workspaces.get("shop")).id;
  const https = server.app.trackHttps!;
  ca = readFileSync(https.certPath);
  httpsPort = Number(new URL(https.url).port);
  cio = client(creds.siteId, creds.apiKey);
});
after(() => server.close());

function client(siteId: string, apiKey: string, extra: Record<string, unknown> = {}): TrackClient {
  return new TrackClient(siteId, apiKey, { url: "https://127.0.0.1/api/v1", port: httpsPort, ca, ...extra });
}

async function find(kind: PersonIdentifier["kind"], value: string): Promise<Person | null> {
  return server.app.services.people.find(workspaceId, { kind, value });
}

async function refusal(promise: Promise<unknown>): Promise<{ statusCode: number; message: string; body: Record<string, unknown> }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { statusCode?: number; message: string; body?: string };
    assert.ok(e.statusCode, `a CustomerIORequestError, not ${e.message}`);
    return { statusCode: e.statusCode, message: e.message, body: JSON.parse(e.body || "{}") as Record<string, unknown> };
  }
  assert.fail("the call succeeded");
}

describe("pointing customerio-node at Posthorn", () => {
  test("url + port + ca reach the HTTPS listener; the generated certificate is kept owner-only", async () => {
    await cio.identify("first", { plan: "free" });
    assert.equal((await find("id", "first"))?.attributes.plan, "free");
    const https = server.app.trackHttps!;
    assert.equal(statSync(https.certPath).mode & 0o777, 0o600);
    assert.equal(statSync(dirname(https.certPath)).mode & 0o777, 0o700);
    assert.match(https.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  test("without the pinned certificate the client refuses the self-signed one: it really speaks TLS", async () => {
    const unpinned = new TrackClient(creds.siteId, creds.apiKey, { url: "https://127.0.0.1/api/v1", port: httpsPort });
    await assert.rejects(unpinned.identify("nobody", {}), /self[- ]signed|certificate/i);
  });

  test("plain HTTP spoken to the HTTPS port is dropped, and the listener keeps serving", async () => {
    const closed = await new Promise<string>((resolve) => {
      const socket = connect(httpsPort, "127.0.0.1", () => socket.write("POST /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n"));
      let got = "";
      socket.on("data", (d: Buffer) => (got += d.toString("latin1")));
      socket.on("error", () => undefined);
      socket.on("close", () => resolve(got));
    });
    assert.doesNotMatch(closed, /^HTTP\/1\.1 200/);
    await cio.identify("after-garbage", {});
    assert.ok(await find("id", "after-garbage"));
  });

  test("a custom Region works as well as url, and plain HTTP works with protocol and an http agent", async () => {
    const byRegion = new TrackClient(creds.siteId, creds.apiKey, { region: new Region("https://127.0.0.1/api/v1", "https://127.0.0.1/v1"), port: httpsPort, ca });
    await byRegion.identify("by-region", { via: "region" });
    const plain = new TrackClient(creds.siteId, creds.apiKey, { url: `${server.url}/api/v1`, port: Number(new URL(server.url).port), protocol: "http:", agent: new http.Agent() });
    await plain.identify("by-http", { via: "http" });
    assert.equal((await find("id", "by-region"))?.attributes.via, "region");
    assert.equal((await find("id", "by-http"))?.attributes.via, "http");
  });

  test("bad credentials are refused with 401 and Customer.io's error text", async () => {
    for (const [site, key] of [
      [creds.siteId, "wrong"],
      ["wrong", creds.apiKey],
      [creds.writeKey, ""],
    ]) {
      const { statusCode, message } = await refusal(client(site!, key!).identify("intruder", { x: 1 }));
      assert.equal(statusCode, 401);
      assert.match(message, /Unauthorized/);
    }
    assert.equal(await find("id", "intruder"), null);
  });
});

describe("people", () => {
  test("identify creates, updates, and removes an attribute set to null; reserved keys are not attributes", async () => {
    await cio.identify("42", { email: "jane@example.com", first_name: "Jane", plan: "basic", created_at: 1_700_000_000 });
    await cio.identify("42", { plan: "premium", first_name: null });
    const jane = await find("id", "42");
    assert.ok(jane);
    assert.equal(jane.email, "jane@example.com");
    assert.deepEqual(jane.attributes, { plan: "premium" });
    assert.equal(jane.createdAt, 1_700_000_000_000);
    assert.equal((await find("email", "jane@example.com"))?.personId, jane.personId);
  });

  test("a person is named in the path by email, by id, or by cio_ and their cio_id", async () => {
    await cio.identify("sam@example.com", { id: "sam-1", team: "blue" });
    const sam = await find("email", "sam@example.com");
    assert.equal(sam?.id, "sam-1");
    await cio.identify(`cio_${sam!.personId}`, { team: "red" });
    assert.equal((await find("id", "sam-1"))?.attributes.team, "red");
    // An id with a capital letter and characters customerio-node percent-encodes keeps its case.
    await cio.identify("User/Ümlaut 7", { ok: true });
    assert.equal((await find("id", "User/Ümlaut 7"))?.attributes.ok, true);
  });

  test("the body may not name a different id than the path's", async () => {
    const { statusCode, body } = await refusal(cio.identify("p-1", { id: "p-2" }));
    assert.equal(statusCode, 400);
    assert.deepEqual((body.errors as Array<{ field: string }>).map((e) => e.field), ["id"]);
  });

  test("_update changes an existing person and never creates one", async () => {
    await cio.identify("ghost", { _update: true, plan: "x" });
    assert.equal(await find("id", "ghost"), null);
    await cio.identify("42", { _update: true, seats: 3 });
    assert.equal((await find("id", "42"))?.attributes.seats, 3);
  });

  test("unsubscribed and topic preferences", async () => {
    await cio.identify("topics", { unsubscribed: "TRUE", cio_subscription_preferences: { topics: { topic_1: true } }, "cio_subscription_preferences.topics.topic_2": false });
    const person = await find("id", "topics");
    assert.equal(person?.unsubscribed, true);
    assert.deepEqual(person?.topics, { topic_1: true, topic_2: false });
    await cio.identify("topics", { unsubscribed: false });
    assert.equal((await find("id", "topics"))?.unsubscribed, false);
  });

  test("suppress, unsuppress and destroy", async () => {
    await cio.identify("sup", { a: 1 });
    await cio.suppress("sup");
    assert.equal((await find("id", "sup"))?.suppressed, true);
    await cio.unsuppress("sup");
    assert.equal((await find("id", "sup"))?.suppressed, false);
    await cio.destroy("sup");
    assert.equal(await find("id", "sup"), null);
  });

  test("devices are added, updated and deleted", async () => {
    await cio.identify("phone-owner", {});
    await cio.addDevice("phone-owner", "tok-1", "ios", { app_version: "1.0", last_used: 1_700_000_000 });
    await cio.addDevice("phone-owner", "tok-2", "android");
    await cio.addDevice("phone-owner", "tok-1", "ios", { app_version: "1.1" });
    let person = await find("id", "phone-owner");
    const devices = new Map(person!.devices.map((d) => [d.deviceId, d]));
    assert.deepEqual([...devices.keys()].sort(), ["tok-1", "tok-2"]);
    assert.equal(devices.get("tok-1")!.platform, "ios");
    await cio.deleteDevice("phone-owner", "tok-1");
    person = await find("id", "phone-owner");
    assert.deepEqual(
      person!.devices.map((d) => d.deviceId),
      ["tok-2"],
    );
  });

  test("merge_customers moves the secondary's events into the primary and deletes the secondary", async () => {
    await cio.identify("primary-1", { email: "primary@example.com" });
    await cio.identify("secondary-1", { plan: "gold" });
    await cio.track("secondary-1", { name: "signed_up" });
    await cio.mergeCustomers(IdentifierType.Email, "primary@example.com", IdentifierType.Id, "secondary-1");
    assert.equal(await find("id", "secondary-1"), null);
    const primary = await find("id", "primary-1");
    const events = await server.app.services.people.events(workspaceId, primary!.personId, { limit: 10 });
    assert.deepEqual(
      events.map((e) => e.name),
      ["signed_up"],
    );
    const { statusCode } = await refusal(cio.mergeCustomers(IdentifierType.Id, "no-such-person", IdentifierType.Id, "primary-1"));
    assert.equal(statusCode, 404);
  });
});

describe("events", () => {
  test("an event keeps its name, data, type and timestamp; a page view is a page event", async () => {
    await cio.identify("shopper", {});
    await cio.track("shopper", { name: "purchase", data: { price: 23.5, sku: "A1" }, timestamp: 1_700_000_100 });
    await cio.trackPageView("shopper", "/pricing");
    const person = await find("id", "shopper");
    const events = await server.app.services.people.events(workspaceId, person!.personId, { limit: 10 });
    const purchase = events.find((e) => e.name === "purchase")!;
    assert.deepEqual(purchase.data, { price: 23.5, sku: "A1" });
    assert.equal(purchase.timestamp, 1_700_000_100_000);
    assert.equal(purchase.type, "event");
    assert.equal(events.find((e) => e.name === "/pricing")?.type, "page");
  });

  test("an event id de-duplicates: the same id twice is stored once", async () => {
    await cio.identify("deduper", {});
    for (let i = 0; i < 3; i++) await cio.track("deduper", { name: "paid", id: "01HZXK8QJ3Y7V1Q9V3T6N2B4CD", data: { n: i } });
    await cio.track("deduper", { name: "paid", id: "01HZXK8QJ3Y7V1Q9V3T6N2B4CE" });
    const person = await find("id", "deduper");
    const events = await server.app.services.people.events(workspaceId, person!.personId, { limit: 10 });
    assert.equal(events.length, 2);
    assert.deepEqual(events.find((e) => e.dedupeKey === "01HZXK8QJ3Y7V1Q9V3T6N2B4CD")?.data, { n: 0 });
  });

  test("anonymous events join the person later identified with that anonymous_id", async () => {
    await cio.trackAnonymous("cookie-77", { name: "viewed_pricing", data: { plan: "pro" } });
    await cio.trackAnonymous("cookie-77", { name: "started_trial" });
    await cio.identify("converted-1", { email: "c1@example.com", anonymous_id: "cookie-77" });
    const person = await find("id", "converted-1");
    const events = await server.app.services.people.events(workspaceId, person!.personId, { limit: 10 });
    assert.deepEqual(events.map((e) => e.name).sort(), ["started_trial", "viewed_pricing"]);
  });

  test("an anonymous event without an anonymous_id is accepted and joins nobody", async () => {
    await cio.trackAnonymous("", { name: "invite", data: { recipient: "friend@example.com" } });
    const rows = await server.app.services.store.db.selectFrom("events").select(["data_json"]).where("type", "=", "person.event").execute();
    const invite = rows.map((r) => JSON.parse(r.data_json) as { name: string; personId: string | null; anonymousId: string }).find((d) => d.name === "invite");
    assert.ok(invite, "the invite event was stored and announced");
    assert.equal(invite.personId, null);
    assert.match(invite.anonymousId, /^unattached:/);
  });

  test("an event without a name is refused by the client; a bad type or timestamp by Posthorn", async () => {
    const badType = await refusal(cio.track("shopper", { name: "x", type: "click" } as never));
    assert.equal(badType.statusCode, 400);
    assert.equal((badType.body.errors as Array<{ field: string }>)[0]!.field, "type");
    const millis = await refusal(cio.track("shopper", { name: "x", timestamp: Date.now() }));
    assert.equal(millis.statusCode, 400);
    assert.match(millis.message, /seconds, not milliseconds/);
  });
});

describe("Customer.io's limits, end to end", () => {
  const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
    ["an identifier over 150 bytes", () => cio.identify("é".repeat(76), {}), /150/],
    ["an attribute name over 150 bytes", () => cio.identify("limits", { ["n".repeat(151)]: 1 }), /150/],
    ["an attribute value over 1,000 bytes", () => cio.identify("limits", { bio: "v".repeat(1001) }), /1,?000/],
    ["more than 300 attributes", () => cio.identify("limits", Object.fromEntries(Array.from({ length: 301 }, (_, i) => [`a${i}`, i]))), /300/],
    ["an event name over 100 bytes", () => cio.track("limits", { name: "e".repeat(101) }), /100/],
    ["event data over 100,000 bytes", () => cio.track("limits", { name: "big", data: { blob: "d".repeat(100_000) } }), /100,?000/],
    ["a device token over 150 bytes", () => cio.addDevice("limits", "t".repeat(151), "ios"), /150/],
  ];
  for (const [what, call, text] of cases) {
    test(`${what} is refused with 400, errors[] and the limit in the message`, async () => {
      const { statusCode, message, body } = await refusal(call());
      assert.equal(statusCode, 400);
      assert.match(message, text);
      const [error] = body.errors as Array<{ reason: string; field: string | null }>;
      assert.match(error!.reason, /^people_/);
    });
  }

  test("exactly at the limits is accepted", async () => {
    await cio.identify("l".repeat(150), { ["n".repeat(150)]: "v".repeat(998) });
    await cio.identify("limits-ok", Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`a${i}`, i])));
    await cio.track("limits-ok", { name: "e".repeat(100), data: { blob: "d".repeat(99_000) } });
    assert.equal(Object.keys((await find("id", "limits-ok"))!.attributes).length, 300);
  });

  test("a v1 body over 1 MB is refused with 413", async () => {
    const { statusCode, message } = await refusal(cio.identify("huge", { blob: "x".repeat(1024 * 1024) }));
    assert.equal(statusCode, 413);
    assert.match(message, /larger than/);
  });
});
