// Customer.io's App API (Bearer app key) with raw fetch: segments defined, read, changed and
// deleted; bad definitions refused with the path of the bad field; membership paged; people read
// (attributes, segments, activities with segment history) and searched; every refusal in
// Customer.io's form; and another workspace's key sees nothing of this one. Segment definitions
// loaded from a folder, and a bad file failing the start with its path.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startTestServer, tempDir, type TestServer } from "./support/server.js";
import { appApi, until, type AppApi } from "./support/segments.js";
import type { PersonOperation } from "../src/people/people.port.js";
import http from "node:http";
import { APIClient } from "customerio-node";

let server: TestServer;
let api: AppApi;
let other: AppApi;
let workspaceId: string;

before(async () => {
  server = await startTestServer({ POSTHORN_SEGMENTS_POLL: "50ms" });
  await server.createWorkspace("shop");
  await server.createWorkspace("rival");
  workspaceId = (await server.app.services.workspaces.get("shop")).id;
  api = appApi(server.url, (await server.app.services.workspaces.createTrackCredentials("shop")).appKey);
  other = appApi(server.url, (await server.app.services.workspaces.createTrackCredentials("rival")).appKey);
});
after(() => server.close());

async function apply(...operations: PersonOperation[]): Promise<void> {
  for (const r of await server.app.services.people.apply(workspaceId, operations, { atomic: true })) assert.ok(r.ok, JSON.stringify(r));
}

test("every call needs a valid Bearer app key, refused before the body is read", async () => {
  const none = await fetch(`${server.url}/v1/segments`);
  assert.equal(none.status, 401);
  assert.match(((await none.json()) as { meta: { error: string } }).meta.error, /App API key/);
  const wrong = await fetch(`${server.url}/v1/segments`, { method: "POST", headers: { authorization: "Bearer nope", "content-type": "application/json" }, body: "{not json" });
  assert.equal(wrong.status, 401, "the key is judged before the (bad) body");
  const track = await server.app.services.workspaces.createTrackCredentials("shop");
  const trackKey = await fetch(`${server.url}/v1/segments`, { headers: { authorization: `Bearer ${track.apiKey}` } });
  assert.equal(trackKey.status, 401, "a Track API key is not an app key");
});

test("segments: create (manual and data-driven), read, list, change, delete, in Customer.io's shapes", async () => {
  const manual = await api.call("POST", "/segments", { segment: { name: "Manual Segment 1", description: "My first manual segment" } });
  assert.equal(manual.status, 200);
  const m = manual.body.segment as Record<string, unknown>;
  assert.equal(typeof m.id, "number");
  assert.equal(m.type, "manual");
  assert.equal(m.name, "Manual Segment 1");
  assert.equal(m.description, "My first manual segment");
  assert.match(String(m.deduplicate_id), new RegExp(`^${m.id}:\\d+$`));
  assert.equal(m.state, "finished");
  assert.ok(!("conditions" in m));
  const conditions = { attribute: { field: "plan", operator: "eq", value: "pro" } };
  const data = await api.call("POST", "/segments", { segment: { name: "Pro", conditions } });
  const d = data.body.segment as Record<string, unknown>;
  assert.equal(d.type, "dynamic");
  assert.deepEqual(d.conditions, conditions);
  const got = await api.call("GET", `/segments/${d.id}`);
  assert.deepEqual((got.body.segment as Record<string, unknown>).conditions, conditions);
  const list = await api.call("GET", "/segments");
  const ids = (list.body.segments as Array<{ id: number }>).map((s) => s.id);
  assert.ok(ids.includes(m.id as number) && ids.includes(d.id as number));
  const renamed = await api.call("PUT", `/segments/${m.id}`, { segment: { name: "VIP", description: "renamed" } });
  assert.equal((renamed.body.segment as { name: string }).name, "VIP");
  const manualWithConditions = await api.call("PUT", `/segments/${m.id}`, { segment: { conditions } });
  assert.equal(manualWithConditions.status, 400);
  const deleted = await fetch(`${server.url}/v1/segments/${m.id}`, { method: "DELETE", headers: { authorization: (await bearer()) } });
  assert.equal(deleted.status, 204);
  const gone = await api.call("GET", `/segments/${m.id}`);
  assert.equal(gone.status, 404);
  assert.match((gone.body.meta as { error: string }).error, /no segment/);
  assert.equal((await api.call("GET", "/segments/not-a-number")).status, 404);
  assert.equal((await api.call("DELETE", `/segments/${m.id}`)).status, 404);
});

async function bearer(): Promise<string> {
  // The shop's key as the helper sends it (a fresh one: keys are shown once).
  return `Bearer ${(await server.app.services.workspaces.createTrackCredentials("shop")).appKey}`;
}

test("bad definitions and bodies are refused with 400 and the path of the bad field", async () => {
  const cases: Array<[unknown, string]> = [
    [{ segment: { name: "x", conditions: { and: [{ device: {} }, { device: {} }, { event: { name: "a", within: "a while" } }] } } }, "conditions.and[2].event.within"],
    [{ segment: { name: "x", conditions: { attribute: { field: "a", operator: "between", value: 1 } } } }, "conditions.attribute.operator"],
    [{ segment: { name: "x", conditions: { or: [] } } }, "conditions.or"],
    [{ segment: { name: "x", conditions: "plan = pro" } }, "conditions"],
    [{ segment: { name: "", conditions: { device: {} } } }, "name"],
    [{ segment: { name: "x".repeat(256) } }, "name"],
    [{ segment: { description: "no name" } }, "segment.name"],
    [{ segment: { name: "x", colour: "red" } }, "segment.colour"],
    [{ name: "not wrapped" }, "segment"],
  ];
  for (const [body, field] of cases) {
    const { status, body: reply } = await api.call("POST", "/segments", body);
    assert.equal(status, 400, JSON.stringify(body));
    const errors = reply.errors as Array<{ field: string; message: string }>;
    assert.equal(errors[0]!.field, field, JSON.stringify(reply));
    assert.ok((reply.meta as { error: string }).error.length > 0);
  }
  const notJson = await fetch(`${server.url}/v1/segments`, { method: "POST", headers: { authorization: await bearer(), "content-type": "application/json" }, body: "{" });
  assert.equal(notJson.status, 400);
  assert.ok(((await notJson.json()) as { meta: { error: string } }).meta.error);
});

test("membership is paged with start and limit; customer_count counts", async () => {
  const segmentId = (await api.call("POST", "/segments", { segment: { name: "paged", conditions: { attribute: { field: "cohort", operator: "eq", value: "p" } } } })).body.segment as { id: number };
  for (let i = 0; i < 5; i++) await apply({ op: "identify", who: { kind: "id", value: `page-${i}` }, attributes: { cohort: "p" } });
  await until("five members", async () => ((await api.call("GET", `/segments/${segmentId.id}/customer_count`)).body.count === 5 ? true : undefined));
  const seen: string[] = [];
  let start = "";
  for (let pages = 0; pages < 10; pages++) {
    const { status, body } = await api.call("GET", `/segments/${segmentId.id}/membership?limit=2${start ? `&start=${encodeURIComponent(start)}` : ""}`);
    assert.equal(status, 200);
    const identifiers = body.identifiers as Array<{ id: string; cio_id: string }>;
    assert.ok(identifiers.length <= 2);
    for (const i of identifiers) assert.ok(i.cio_id, "each member has its cio_id");
    seen.push(...identifiers.map((i) => i.id));
    assert.deepEqual(body.ids, identifiers.map((i) => i.id));
    start = body.next as string;
    if (!start) break;
  }
  assert.deepEqual(seen.sort(), ["page-0", "page-1", "page-2", "page-3", "page-4"]);
  assert.equal((await api.call("GET", `/segments/${segmentId.id}/membership?limit=0`)).status, 400);
  assert.equal((await api.call("GET", `/segments/${segmentId.id}/membership?limit=30001`)).status, 400);
  assert.equal((await api.call("GET", `/segments/${segmentId.id}/membership?start=bogus!`)).status, 400);
});

test("a person's attributes, segments and activities (events, changes and segment history), by id, email or cio_id", async () => {
  await apply({ op: "identify", who: { kind: "id", value: "ana" }, attributes: { plan: "pro", city: "Lyon" }, alsoKnownAs: [{ kind: "email", value: "ana@example.com" }] });
  await apply({ op: "track", who: { kind: "id", value: "ana" }, event: { name: "viewed", type: "event", dedupeKey: null, timestamp: null, data: { page: 1 } } });
  const pro = ((await api.call("GET", "/segments")).body.segments as Array<{ id: number; name: string }>).find((s) => s.name === "Pro")!;
  const attrs = await api.call("GET", "/customers/ana/attributes");
  assert.equal(attrs.status, 200);
  const customer = attrs.body.customer as { id: string; attributes: Record<string, unknown>; identifiers: { email: string; cio_id: string } };
  assert.equal(customer.id, "ana");
  assert.equal(customer.attributes.city, "Lyon");
  assert.equal(customer.identifiers.email, "ana@example.com");
  const byEmail = await api.call("GET", `/customers/${encodeURIComponent("ana@example.com")}/attributes?id_type=email`);
  assert.equal((byEmail.body.customer as { id: string }).id, "ana");
  const byCioId = await api.call("GET", `/customers/${customer.identifiers.cio_id}/attributes?id_type=cio_id`);
  assert.equal((byCioId.body.customer as { id: string }).id, "ana");
  await until("ana in Pro", async () => {
    const segments = (await api.call("GET", "/customers/ana/segments")).body.segments as Array<{ id: number }>;
    return segments.some((s) => s.id === pro.id) ? true : undefined;
  });
  await apply({ op: "identify", who: { kind: "id", value: "ana" }, attributes: { plan: "free" } });
  await until("ana out of Pro", async () => (((await api.call("GET", "/customers/ana/segments")).body.segments as unknown[]).length === 0 ? true : undefined));
  const activities = await api.call("GET", "/customers/ana/activities");
  const types = (activities.body.activities as Array<{ type: string; timestamp: number }>).map((a) => a.type);
  for (const type of ["entered_segment", "exited_segment", "event", "attribute_change"]) assert.ok(types.includes(type), `${type} in ${types.join(", ")}`);
  const times = (activities.body.activities as Array<{ timestamp: number }>).map((a) => a.timestamp);
  assert.deepEqual(times, [...times].sort((a, b) => b - a), "newest first");
  // Paged: every line once across pages.
  const paged: string[] = [];
  let start = "";
  for (let pages = 0; pages < 20; pages++) {
    const { body } = await api.call("GET", `/customers/ana/activities?limit=1${start ? `&start=${start}` : ""}`);
    paged.push(...(body.activities as Array<{ type: string }>).map((a) => a.type));
    start = body.next as string;
    if (!start) break;
  }
  assert.deepEqual([...paged].sort(), [...types].sort());
  assert.equal((await api.call("GET", "/customers/nobody/attributes")).status, 404);
  assert.equal((await api.call("GET", "/customers/ana/attributes?id_type=phone")).status, 400);
});

test("people by email and searched by attribute filter", async () => {
  await apply({ op: "identify", who: { kind: "id", value: "sam" }, attributes: { team: "red", level: 3 }, alsoKnownAs: [{ kind: "email", value: "sam@example.com" }] });
  await apply({ op: "identify", who: { kind: "id", value: "sue" }, attributes: { team: "red" } });
  const byEmail = await api.call("GET", `/customers?email=${encodeURIComponent("sam@example.com")}`);
  assert.deepEqual(byEmail.body.results, [{ id: "sam", email: "sam@example.com", cio_id: (byEmail.body.results as Array<{ cio_id: string }>)[0]!.cio_id }]);
  assert.deepEqual((await api.call("GET", "/customers?email=none@example.com")).body.results, []);
  assert.equal((await api.call("GET", "/customers")).status, 400);
  const search = await api.call("POST", "/customers", { filter: { and: [{ attribute: { field: "team", operator: "eq", value: "red" } }, { not: { attribute: { field: "level", operator: "exists" } } }] } });
  assert.equal(search.status, 200);
  assert.deepEqual(search.body.ids, ["sue"]);
  const bad = await api.call("POST", "/customers", { filter: { and: [{ attribute: { field: "team", operator: "contains", value: "r" } }] } });
  assert.equal(bad.status, 400);
  assert.equal((bad.body.errors as Array<{ field: string }>)[0]!.field, "filter.and[0].attribute.operator");
  assert.equal((await api.call("POST", "/customers", {})).status, 400);
});

test("customerio-node's APIClient reads people through these calls (getCustomersByEmail, getAttributes by id and email)", async () => {
  await apply({ op: "identify", who: { kind: "id", value: "nia" }, attributes: { plan: "team" }, alsoKnownAs: [{ kind: "email", value: "nia@example.com" }] });
  const url = new URL(server.url);
  // The client ignores the port and scheme of its url (reference §1.2): they are passed as request options.
  const options = { url: `${server.url}/v1`, port: Number(url.port), protocol: "http:", agent: new http.Agent() };
  const appKey = (await server.app.services.workspaces.createTrackCredentials("shop")).appKey;
  const client = new APIClient(appKey, options);
  const byEmail = (await client.getCustomersByEmail("nia@example.com")) as { results: Array<{ id: string; email: string }> };
  assert.deepEqual(byEmail.results.map((r) => [r.id, r.email]), [["nia", "nia@example.com"]]);
  const attributes = (await client.getAttributes("nia")) as { customer: { attributes: Record<string, unknown> } };
  assert.equal(attributes.customer.attributes.plan, "team");
  const viaEmail = (await client.getAttributes("nia@example.com", "email" as never)) as { customer: { id: string } };
  assert.equal(viaEmail.customer.id, "nia");
  await assert.rejects(new APIClient("not-a-key", options).getAttributes("nia"), /App API key is not valid/);
  await assert.rejects(client.getAttributes("nobody"), /no customer with id nobody/);
});

test("another workspace's key sees nothing of this one", async () => {
  const mine = ((await api.call("GET", "/segments")).body.segments as Array<{ id: number }>)[0]!;
  assert.deepEqual((await other.call("GET", "/segments")).body, { segments: [] });
  for (const path of [`/segments/${mine.id}`, `/segments/${mine.id}/customer_count`, `/segments/${mine.id}/membership`, "/customers/sam/attributes", "/customers/sam/segments", "/customers/sam/activities"]) {
    assert.equal((await other.call("GET", path)).status, 404, path);
  }
  assert.equal((await other.call("PUT", `/segments/${mine.id}`, { segment: { name: "taken" } })).status, 404);
  assert.equal((await other.call("DELETE", `/segments/${mine.id}`)).status, 404);
  assert.deepEqual((await other.call("GET", `/customers?email=${encodeURIComponent("sam@example.com")}`)).body.results, []);
  assert.deepEqual((await other.call("POST", "/customers", { filter: { attribute: { field: "team", operator: "exists" } } })).body.ids, []);
  await assert.rejects(server.app.services.segments.addPeople((await server.app.services.workspaces.get("rival")).id, String(mine.id), [{ kind: "id", value: "sam" }]), /no segment/);
  assert.equal((await api.call("GET", `/segments/${mine.id}`)).status, 200, "still there for its own workspace");
});

test("segment definitions load from a folder; the API may not change them; a bad file fails the start with its path", async () => {
  const dir = tempDir("posthorn-segments-");
  const data = join(dir.path, "data");
  const defs = join(dir.path, "defs");
  mkdirSync(defs);
  const write = (name: string, content: unknown) => writeFileSync(join(defs, name), typeof content === "string" ? content : JSON.stringify(content));
  const startWithFiles = () => startTestServer({ POSTHORN_DATA_DIR: data, POSTHORN_SEGMENTS_DIR: defs });
  try {
    const first = await startTestServer({ POSTHORN_DATA_DIR: data });
    await first.createWorkspace("files");
    const key = (await first.app.services.workspaces.createTrackCredentials("files")).appKey;
    await first.app.stop();

    write("b-churn.json", { workspace: "files", name: "Churn risk", description: "no login for 30 days", conditions: { not: { event: { name: "login", within: "30d" } } } });
    write("a-lists.json", [{ workspace: "files", name: "Beta" }, { workspace: "files", name: "Staff", conditions: { attribute: { field: "email", operator: "contains", value: "@ourco.test" } } }]);
    write("notes.txt", "not a definition");
    let running = await startWithFiles();
    let files = appApi(running.url, key);
    const listed = (await files.call("GET", "/segments")).body.segments as Array<{ id: number; name: string; origin: string; type: string }>;
    assert.deepEqual(listed.map((s) => [s.name, s.origin, s.type]), [["Beta", "file", "manual"], ["Staff", "file", "dynamic"], ["Churn risk", "file", "dynamic"]]);
    const staff = listed.find((s) => s.name === "Staff")!;
    const refused = await files.call("PUT", `/segments/${staff.id}`, { segment: { name: "mine now" } });
    assert.equal(refused.status, 400);
    assert.match((refused.body.meta as { error: string }).error, /segments folder/);
    assert.equal((await files.call("DELETE", `/segments/${staff.id}`)).status, 400);
    await running.app.stop();

    // Changed files change their segments (same ids); a removed file removes its segment.
    write("a-lists.json", [{ workspace: "files", name: "Beta" }, { workspace: "files", name: "Staff", conditions: { attribute: { field: "email", operator: "contains", value: "@ourco.example" } } }]);
    write("b-churn.json", "[]");
    running = await startWithFiles();
    files = appApi(running.url, key);
    const after = (await files.call("GET", "/segments")).body.segments as Array<{ id: number; name: string; conditions?: unknown }>;
    assert.deepEqual(after.map((s) => s.name), ["Beta", "Staff"]);
    assert.equal(after.find((s) => s.name === "Staff")!.id, staff.id);
    assert.deepEqual(after.find((s) => s.name === "Staff")!.conditions, { attribute: { field: "email", operator: "contains", value: "@ourco.example" } });
    await running.app.stop();

    write("c-bad.json", { workspace: "files", name: "Bad", conditions: { and: [{ device: {} }, { event: { name: "login", within: "forever" } }] } });
    write("d-broken.json", "{ not json");
    write("e-nowhere.json", { workspace: "nowhere", name: "Lost" });
    const failed = await startWithFiles().catch((err: Error) => err);
    assert.ok(failed instanceof Error, "the start fails");
    assert.match(failed.message, /c-bad\.json: conditions\.and\[1\]\.event\.within: must be a duration/);
    assert.match(failed.message, /d-broken\.json: not JSON/);
    const missingDir = await startTestServer({ POSTHORN_DATA_DIR: data, POSTHORN_SEGMENTS_DIR: join(dir.path, "absent") }).catch((err: Error) => err);
    assert.ok(missingDir instanceof Error && /absent/.test(missingDir.message), "a folder that does not exist fails the start");
  } finally {
    dir.remove();
  }
});
