// Behavioral-data credentials (issue 11): `posthorn token create --track` issues a Track API pair,
// a pipeline write key and an App API key, stored hashed; each authenticates its own family only,
// and a path under /v1 that no API serves is refused in the form of the credentials presented,
// after checking them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./support/server.js";
import type { TrackCredentials } from "../src/workspaces/workspaces.service.js";

let server: TestServer;
let creds: TrackCredentials;

before(async () => {
  server = await startTestServer();
  await server.createWorkspace("shop");
  creds = await server.app.services.workspaces.createTrackCredentials("shop");
});
after(() => server.close());

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

test("each credential authenticates its own kind only, and only hashes are stored", async () => {
  const ws = server.app.services.workspaces;
  assert.equal((await ws.authenticateTrack(creds.siteId, creds.apiKey))?.name, "shop");
  assert.equal(await ws.authenticateTrack(creds.siteId, creds.writeKey), null);
  assert.equal((await ws.authenticateWriteKey(creds.writeKey))?.name, "shop");
  assert.equal(await ws.authenticateWriteKey(creds.appKey), null);
  assert.equal((await ws.authenticateAppKey(creds.appKey))?.name, "shop");
  assert.equal(await ws.authenticateAppKey(creds.apiKey), null);
  assert.equal(await ws.authenticateServerToken(creds.appKey), null);
  const rows = await server.app.services.store.db.selectFrom("api_tokens").select(["kind", "token_hash"]).where("kind", "in", ["track", "pipeline", "app"]).execute();
  assert.equal(rows.length, 3);
  for (const row of rows) for (const secret of [creds.apiKey, creds.writeKey, creds.appKey]) assert.ok(!row.token_hash.includes(secret));
});

test("an unknown /v1 path is judged by the credentials it presents", async () => {
  const noAuth = await fetch(`${server.url}/v1/nothing-here`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
  assert.equal(noAuth.status, 401);
  const wrongBearer = await fetch(`${server.url}/v1/nothing-here`, { headers: { authorization: "Bearer nope" } });
  assert.equal(wrongBearer.status, 401);
  assert.ok(((await wrongBearer.json()) as { meta: { error: string } }).meta.error);
  const app = await fetch(`${server.url}/v1/nothing-here`, { headers: { authorization: `Bearer ${creds.appKey}` } });
  assert.equal(app.status, 404);
  assert.match(((await app.json()) as { meta: { error: string } }).meta.error, /no App API call/);
  const pipeline = await fetch(`${server.url}/v1/nothing-here`, { headers: { authorization: basic(creds.writeKey, "") } });
  assert.equal(pipeline.status, 404);
  // Postmark's unknown paths keep Postmark's form.
  const postmark = await fetch(`${server.url}/nothing-here`);
  assert.deepEqual(Object.keys((await postmark.json()) as object), ["ErrorCode", "Message"]);
});
