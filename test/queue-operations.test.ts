// Operating the queue: the summary, retrying deferred mail now, and purging a destination, from
// the command line and over the app API.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { ServerClient } from "postmark";
import { MAIN_JS, startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { eventually } from "./support/eventually.js";

let sink: SmtpSink;
let server: TestServer;
let pm: ServerClient;
let accountToken: string;
let accepting = false;

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", POSTHORN_DATA_DIR: server.dataDir }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const app = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, { ...init, headers: { "content-type": "application/json", "x-postmark-account-token": accountToken, ...(init.headers ?? {}) } });

before(async () => {
  sink = await startSmtpSink({
    rcptReply: (rcpt) => (accepting && rcpt.endsWith("@slow.test") ? null : rcpt.endsWith(".test") && !rcpt.endsWith("@fine.test") ? { code: 451, message: "4.4.1 Try again later" } : null),
  });
  // Retries an hour apart: deferred mail stays deferred unless an operator acts.
  server = await startTestServer({ POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`, POSTHORN_RETRY_SCHEDULE: "1h" });
  pm = new ServerClient(await server.createWorkspace("ops"), { useHttps: false, requestHost: server.url.replace(/^http:\/\//, "") });
  accountToken = await server.app.services.workspaces.createAccountToken();
});

after(async () => {
  await server.close();
  await sink.close();
});

test("the summary shows waiting deliveries by destination; retry makes them due now", async () => {
  const sent = await pm.sendEmailBatch(["a", "b", "c"].map((n) => ({ From: "app@ops.test", To: `${n}@slow.test`, Subject: n, TextBody: n })));
  await eventually(async () => (await server.app.services.queue.summary()).destinations.find((d) => d.domain === "slow.test" && d.deferred === 3));

  const summary = JSON.parse(cli(["queue", "--json"])) as { states: Record<string, number>; destinations: Array<{ domain: string; deferred: number }> };
  assert.equal(summary.states.deferred, 3);
  assert.deepEqual(summary.destinations.map((d) => [d.domain, d.deferred]), [["slow.test", 3]]);
  assert.match(cli(["queue"]), /slow\.test\tqueued 0\tdeferred 3/);

  accepting = true;
  assert.match(cli(["queue", "retry", "--domain", "slow.test"]), /^3 deferred deliveries are due now/);
  // The CLI is another process; the running MTA finds the rows at its next poll.
  for (const s of sent) {
    await eventually(async () => (await pm.getOutboundMessageDetails(s.MessageID)).MessageEvents.some((e) => e.Type === "Delivered"));
  }
});

test("purge ends a destination's waiting mail as bounced with the reason, without suppressing", async () => {
  const sent = await pm.sendEmail({ From: "app@ops.test", To: "x@stuck.test", Subject: "s", TextBody: "t" });
  await eventually(async () => (await server.app.services.queue.summary()).destinations.find((d) => d.domain === "stuck.test"));
  await eventually(async () => (await pm.getOutboundMessageDetails(sent.MessageID)).MessageEvents.length > 0);

  const purged = await app("/app/queue/purge", { method: "POST", body: JSON.stringify({ domain: "stuck.test", reason: "domain retired" }) });
  assert.equal(purged.status, 200);
  assert.deepEqual(await purged.json(), { purged: 1 });

  const details = await pm.getOutboundMessageDetails(sent.MessageID);
  assert.equal(details.Status, "Sent");
  assert.deepEqual(details.MessageEvents.map((e) => e.Type), ["Transient", "Bounced"]);
  assert.match(JSON.stringify(details.MessageEvents[1]!.Details), /Purged from the queue by an operator: domain retired/);
  const again = await pm.sendEmail({ From: "app@ops.test", To: "x@stuck.test", Subject: "s", TextBody: "t" });
  assert.equal(again.ErrorCode, 0);
});

test("the app API needs an account token and validates its input", async () => {
  const summary = await app("/app/queue");
  assert.equal(summary.status, 200);
  assert.ok("states" in ((await summary.json()) as object));
  assert.equal((await fetch(`${server.url}/app/queue`)).status, 401);
  assert.equal((await fetch(`${server.url}/app/queue`, { headers: { "x-postmark-account-token": "wrong" } })).status, 401);
  const noDomain = await app("/app/queue/purge", { method: "POST", body: "{}" });
  assert.equal(noDomain.status, 422);
  const retried = await app("/app/queue/retry", { method: "POST", body: "" });
  assert.equal(retried.status, 200);
});
