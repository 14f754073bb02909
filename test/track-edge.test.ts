// The Track API's edge against careless and hostile clients, over real sockets: credentials before
// bodies (an unauthenticated megabyte is refused without being read), unknown paths judged after
// authentication, Customer.io's error form, the unauthenticated /unsubscribe call kept small, the
// manual segment calls, and the calls that answer without recording.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./support/server.js";
import type { TrackCredentials } from "../src/workspaces/workspaces.service.js";
import { PublicDeliveryIds } from "../src/messages/public-delivery-ids.js";
import { rawRequest as rawHttp, type RawAnswer } from "./support/raw-http.js";

let server: TestServer;
let creds: TrackCredentials;
let serverToken: string;
let workspaceId: string;

before(async () => {
  server = await startTestServer({ POSTHORN_ROLES: "api" });
  serverToken = await server.createWorkspace("edge");
  creds = await server.app.services.workspaces.createTrackCredentials("edge");
  workspaceId = (await server.app.services.workspaces.get("edge")).id;
});
after(() => server.close());

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

/** Writes `head` on a raw socket to the server (test/support/raw-http.ts). */
function rawRequest(head: string): Promise<RawAnswer | null> {
  return rawHttp(server.url, head, 5000);
}

function postHead(path: string, headers: Record<string, string>, length: number): string {
  const lines = Object.entries({ Host: "posthorn.test", "Content-Type": "application/json", "Content-Length": String(length), ...headers }).map(([k, v]) => `${k}: ${v}`);
  return `POST ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}

async function call(method: string, path: string, options: { auth?: string | null; body?: string } = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const auth = options.auth === undefined ? basic(creds.siteId, creds.apiKey) : options.auth;
  if (auth) headers.authorization = auth;
  const response = await fetch(server.url + path, { method, headers, body: options.body });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe("credentials before bodies", () => {
  test("a request without credentials is refused before its 1 MB body is read, and its connection closed", async () => {
    // 1 MB announced, 10 bytes sent: the answer cannot have waited for the body.
    for (const path of ["/api/v1/customers/42/events", "/api/v2/batch", "/api/v1/no/such/call"]) {
      const answer = await rawRequest(postHead(path, {}, 1024 * 1024) + '{"name":"x');
      assert.ok(answer, `${path}: an answer came without the body`);
      assert.equal(answer.status, 401, path);
      assert.match((JSON.parse(answer.body) as { meta: { error: string } }).meta.error, /Unauthorized/);
      assert.equal(answer.closed, true, path);
    }
  });

  test("so is one with a wrong API key, a Postmark server token, or the write key as site id", async () => {
    for (const authorization of [basic(creds.siteId, "wrong"), basic(creds.writeKey, ""), `Bearer ${creds.appKey}`]) {
      const answer = await rawRequest(postHead("/api/v1/customers/42/events", { Authorization: authorization }, 1024 * 1024) + "{");
      assert.equal(answer?.status, 401, authorization);
      assert.equal(answer?.closed, true);
    }
    const postmark = await rawRequest(postHead("/api/v2/entity", { "X-Postmark-Server-Token": serverToken }, 1024 * 1024) + "{");
    assert.equal(postmark?.status, 401);
    assert.equal(await server.app.services.people.find(workspaceId, { kind: "id", value: "42" }), null);
  });
});

describe("paths and error form", () => {
  test("a path that is no call: 401 without credentials, 404 in Customer.io's form with them", async () => {
    for (const [method, path] of [
      ["GET", "/api/v1/customers/42"],
      ["POST", "/api/v1/forms/7/submit"],
      ["GET", "/api/v2/entity"],
      ["DELETE", "/api/v2/nothing"],
    ] as const) {
      assert.equal((await call(method, path, { auth: null })).status, 401, path);
      const { status, json } = await call(method, path);
      assert.equal(status, 404, path);
      assert.match((json.meta as { error: string }).error, /no Track API call/, path);
    }
  });

  test("paths outside the Track API keep Postmark's form; Postmark's calls are untouched", async () => {
    const other = await call("GET", "/api/v3/x", { auth: null });
    assert.equal(other.status, 401);
    assert.deepEqual(Object.keys(other.json), ["ErrorCode", "Message"]);
    const postmark = await fetch(`${server.url}/server`, { headers: { accept: "application/json", "x-postmark-server-token": serverToken } });
    assert.equal(postmark.status, 200);
  });

  test("paths match in any case and with a trailing slash; the identifier keeps its case", async () => {
    assert.equal((await call("PUT", "/API/V1/Customers/MixedCase-ID/", { body: JSON.stringify({ a: 1 }) })).status, 200);
    assert.equal((await server.app.services.people.find(workspaceId, { kind: "id", value: "MixedCase-ID" }))?.attributes.a, 1);
  });

  test("a body that is not JSON, or nests too deep, is 400 with errors[]", async () => {
    for (const body of ["{not json", "[".repeat(100) + "]".repeat(100)]) {
      const { status, json } = await call("PUT", "/api/v1/customers/7", { body });
      assert.equal(status, 400);
      assert.equal((json.errors as Array<{ reason: string }>)[0]!.reason, "track_request_invalid");
    }
    const text = await fetch(`${server.url}/api/v1/customers/7`, { method: "PUT", headers: { authorization: basic(creds.siteId, creds.apiKey), "content-type": "text/plain" }, body: "a=1" });
    assert.equal(text.status, 400);
  });

  test("a path segment too long for the router: 401 without credentials, 414 with them, both in Customer.io's form", async () => {
    const path = `/api/v1/customers/${"x".repeat(600)}`;
    const anonymous = await call("PUT", path, { auth: null, body: "{}" });
    assert.equal(anonymous.status, 401);
    assert.match((anonymous.json.meta as { error: string }).error, /Unauthorized/);
    const { status, json } = await call("PUT", path, { body: "{}" });
    assert.equal(status, 414);
    assert.match((json.meta as { error: string }).error, /longer than 512/);
  });

  test("GET /api/v1/accounts/region names the URL reached and the workspace", async () => {
    const { status, json } = await call("GET", "/api/v1/accounts/region");
    assert.equal(status, 200);
    assert.deepEqual(json, { url: server.url, region: "us", environment_id: workspaceId });
  });

  test("metrics and push events are checked and acknowledged, not recorded", async () => {
    const before = await server.app.services.store.db.selectFrom("events").select(({ fn }) => fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    assert.deepEqual(await call("POST", "/api/v1/metrics", { body: JSON.stringify({ delivery_id: "d1", metric: "opened", timestamp: 1_700_000_000 }) }), { status: 200, json: {} });
    assert.deepEqual(await call("POST", "/api/v1/push/events", { body: JSON.stringify({ delivery_id: "d1", device_id: "t", event: "opened", timestamp: 1_700_000_000 }) }), { status: 200, json: {} });
    const after = await server.app.services.store.db.selectFrom("events").select(({ fn }) => fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    assert.equal(Number(after.n), Number(before.n));
    assert.equal((await call("POST", "/api/v1/metrics", { body: JSON.stringify({ metric: "opened" }) })).status, 400);
    assert.equal((await call("POST", "/api/v1/push/events", { body: JSON.stringify({ delivery_id: "d1" }) })).status, 400);
  });
});

describe("POST /unsubscribe/{delivery_id}: no credentials, little allowed", () => {
  async function deliveryTo(address: string): Promise<string> {
    const sent = await fetch(`${server.url}/email`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", "x-postmark-server-token": serverToken },
      body: JSON.stringify({ From: "app@edge.test", To: address, Subject: "hi", TextBody: "hello" }),
    });
    assert.equal(sent.status, 200);
    const row = await server.app.services.store.db.selectFrom("deliveries").select("id").where("recipient", "=", address).executeTakeFirstOrThrow();
    return new PublicDeliveryIds(server.app.services.encryptionKey).format(Number(row.id));
  }

  test("a known delivery unsubscribes the person it went to, without credentials", async () => {
    const deliveryId = await deliveryTo("reader@example.com");
    const { status, json } = await call("POST", `/unsubscribe/${deliveryId}`, { auth: null, body: JSON.stringify({ unsubscribe: true }) });
    assert.deepEqual({ status, json }, { status: 200, json: {} });
    assert.equal((await server.app.services.people.find(workspaceId, { kind: "email", value: "reader@example.com" }))?.unsubscribed, true);
  });

  test("an unknown delivery is 404 and says nothing more; so is a known one's bare row id, or a forged MAC", async () => {
    const known = await deliveryTo("counted@example.com");
    const rowId = known.split("-")[0]!;
    const forged = `${rowId}-${"A".repeat(22)}`;
    for (const id of ["999999", "abc", "1e3", "0", "9".repeat(300), rowId, forged, new PublicDeliveryIds(Buffer.alloc(32, 1)).format(Number(rowId))]) {
      const { status, json } = await call("POST", `/unsubscribe/${id}`, { auth: null, body: JSON.stringify({ unsubscribe: true }) });
      assert.equal(status, 404, id);
      assert.deepEqual(json, { meta: { error: "There is no such delivery." } });
    }
    assert.equal(await server.app.services.people.find(workspaceId, { kind: "email", value: "counted@example.com" }), null);
  });

  test("anything but {unsubscribe:true} is 400; a body over 1 KB is 413 before it is read", async () => {
    const deliveryId = await deliveryTo("other@example.com");
    for (const body of [JSON.stringify({}), JSON.stringify({ unsubscribe: "yes" }), "nope"]) {
      assert.equal((await call("POST", `/unsubscribe/${deliveryId}`, { auth: null, body })).status, 400, body);
    }
    const answer = await rawRequest(postHead(`/unsubscribe/${deliveryId}`, {}, 2048) + "{");
    assert.equal(answer?.status, 413);
    assert.equal(answer?.closed, true);
    assert.equal(await server.app.services.people.find(workspaceId, { kind: "email", value: "other@example.com" }), null);
  });

  test("other paths and methods under /unsubscribe are 404", async () => {
    assert.equal((await call("GET", "/unsubscribe/1", { auth: null })).status, 404);
    assert.equal((await call("POST", "/unsubscribe/1/more", { auth: null, body: "{}" })).status, 404);
  });
});

describe("manual segments: add_customers and remove_customers", () => {
  test("people are added and removed by id, email or cio_id; unknown people are skipped", async () => {
    const segment = await server.app.services.segments.create(workspaceId, { name: "VIPs", conditions: null });
    for (const id of ["s1", "s2"]) assert.equal((await call("PUT", `/api/v1/customers/${id}`, { body: JSON.stringify({ email: `${id}@example.com` }) })).status, 200);
    const s2 = await server.app.services.people.find(workspaceId, { kind: "id", value: "s2" });
    const add = async (path: string, body: unknown) => call("POST", `/api/v1/segments/${segment.segmentId}/${path}`, { body: JSON.stringify(body) });
    assert.equal((await add("add_customers", { ids: ["s1", "nobody"] })).status, 200);
    assert.equal((await add("add_customers?id_type=email", { ids: ["s2@example.com"] })).status, 200);
    assert.equal(await server.app.services.segments.size(workspaceId, segment.segmentId), 2);
    assert.equal((await add("remove_customers?id_type=cio_id", { ids: [s2!.personId] })).status, 200);
    const members = await server.app.services.segments.members(workspaceId, segment.segmentId, { limit: 10, cursor: null });
    assert.deepEqual(
      members.items.map((m) => m.personId),
      [(await server.app.services.people.find(workspaceId, { kind: "id", value: "s1" }))!.personId],
    );
  });

  test("at most 1,000 ids; a bad id_type, an unknown or data-driven segment are refused", async () => {
    const segment = await server.app.services.segments.create(workspaceId, { name: "Big", conditions: null });
    const url = `/api/v1/segments/${segment.segmentId}/add_customers`;
    assert.equal((await call("POST", url, { body: JSON.stringify({ ids: Array.from({ length: 1000 }, (_, i) => `p${i}`) }) })).status, 200);
    const tooMany = await call("POST", url, { body: JSON.stringify({ ids: Array.from({ length: 1001 }, (_, i) => `p${i}`) }) });
    assert.equal(tooMany.status, 400);
    assert.equal((tooMany.json.errors as Array<{ field: string }>)[0]!.field, "ids");
    assert.equal((await call("POST", `${url}?id_type=phone`, { body: JSON.stringify({ ids: ["x"] }) })).status, 400);
    assert.equal((await call("POST", "/api/v1/segments/no-such-segment/add_customers", { body: JSON.stringify({ ids: ["x"] }) })).status, 404);
    const data = await server.app.services.segments.create(workspaceId, { name: "Pros", conditions: { attribute: { field: "plan", operator: "eq", value: "pro" } } });
    assert.equal((await call("POST", `/api/v1/segments/${data.segmentId}/add_customers`, { body: JSON.stringify({ ids: ["s1"] }) })).status, 400);
  });
});
