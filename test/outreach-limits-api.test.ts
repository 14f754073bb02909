// The App API's message limits (Posthorn's extension): GET/PUT /v1/message_limits, read back as
// set, bad values refused 400 naming the field, per workspace; and the limits set through it hold
// mail of the outreach mailer.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./support/server.js";
import { appApi, type AppApi } from "./support/segments.js";

let server: TestServer;
let api: AppApi;
let other: AppApi;

before(async () => {
  server = await startTestServer({ POSTHORN_ROLES: "api" });
  await server.createWorkspace("shop");
  await server.createWorkspace("rival");
  api = appApi(server.url, (await server.app.services.workspaces.createTrackCredentials("shop")).appKey);
  other = appApi(server.url, (await server.app.services.workspaces.createTrackCredentials("rival")).appKey);
});
after(() => server.close());

test("no limits until set; what is set is read back, in the workspace that set it", async () => {
  assert.deepEqual((await api.call("GET", "/message_limits")).body, { caps: [], quiet_hours: null });
  const body = { caps: [{ count: 3, period: "7d" }, { count: 1, period: "12h" }], quiet_hours: { from: "21:00", to: "08:00", fallback_timezone: "Europe/Berlin" } };
  const put = await api.call("PUT", "/message_limits", body);
  assert.equal(put.status, 200);
  assert.deepEqual(put.body, { caps: [{ count: 3, period: "1w" }, { count: 1, period: "12h" }], quiet_hours: body.quiet_hours });
  assert.deepEqual((await api.call("GET", "/message_limits")).body, put.body);
  assert.deepEqual((await other.call("GET", "/message_limits")).body, { caps: [], quiet_hours: null });
  const cleared = await api.call("PUT", "/message_limits", { caps: [], quiet_hours: null });
  assert.deepEqual(cleared.body, { caps: [], quiet_hours: null });
});

test("bad limits are refused 400 in Customer.io's form, naming the field", async () => {
  const cases: Array<[unknown, string]> = [
    [{ caps: "3 a week" }, "caps"],
    [{ caps: [5] }, "caps[0]"],
    [{ caps: [{ count: "3", period: "7d" }] }, "caps[0].count"],
    [{ caps: [{ count: 0, period: "7d" }] }, "caps[0].count"],
    [{ caps: [{ count: 1.5, period: "7d" }] }, "caps[0].count"],
    [{ caps: [{ count: 3, period: "7 days" }] }, "caps[0].period"],
    [{ caps: [{ count: 3, period: "400d" }] }, "caps[0].period"],
    [{ caps: Array.from({ length: 11 }, () => ({ count: 1, period: "1d" })) }, "caps"],
    [{ quiet_hours: "night" }, "quiet_hours"],
    [{ quiet_hours: { from: "25:00", to: "08:00" } }, "quiet_hours.from"],
    [{ quiet_hours: { from: "21:00", to: "8" } }, "quiet_hours.to"],
    [{ quiet_hours: { from: "21:00", to: "08:00", fallback_timezone: "Mars/Base" } }, "quiet_hours.fallback_timezone"],
  ];
  for (const [body, field] of cases) {
    const answer = await api.call("PUT", "/message_limits", body);
    assert.equal(answer.status, 400, `${field}: ${JSON.stringify(answer.body)}`);
    assert.equal((answer.body.errors as Array<{ field: string }>)[0]?.field, field);
  }
  const unauthenticated = await appApi(server.url, "wrong").call("GET", "/message_limits");
  assert.equal(unauthenticated.status, 401);
});

test("a cap set through the API holds the mailer's next mail to the person", async () => {
  await api.call("PUT", "/message_limits", { caps: [{ count: 1, period: "1d" }] });
  const s = server.app.services;
  const workspaceId = (await s.workspaces.get("shop")).id;
  const [r] = await s.people.apply(workspaceId, [{ op: "identify", who: { kind: "id", value: "p" }, attributes: { email: "p@example.test" } }]);
  const personId = (r as { personId: string }).personId;
  const mail = (broadcastId: string) => ({
    workspaceId,
    personId,
    content: { kind: "liquid" as const, from: "news@brand.test", to: null, replyTo: null, subject: "News", html: null, text: "x", headers: {} },
    scope: {},
    tag: null,
    send: { from: null, stream: null, countsTowardLimit: true, transactional: false, topic: null },
    idempotencyKey: null,
    origin: { kind: "broadcast" as const, broadcastId },
    overLimit: "skip" as const,
    quietHours: false,
    sendAt: null,
  });
  const [first] = await s.outreachMailer.send([mail("1")]);
  const [second] = await s.outreachMailer.send([mail("2")]);
  assert.equal(first?.kind, "accepted");
  assert.equal(second?.kind === "skipped" && second.reason, "message_limit");
  assert.deepEqual(await s.outreachLedger.countsByBroadcast(workspaceId, "2"), { sent: 0, delivered: 0, opened: 0, clicked: 0, bounced: 0, unsubscribed: 0, skipped: 1 });
});
