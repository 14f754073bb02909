// Outbound webhooks are posted at least once across a crash: kill -9 the server while Delivery
// posts are pending and in flight, start it again, and every delivered message's Delivery post
// arrives (some may arrive twice; none is lost).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { MAIN_JS, spawnServer, tempDir, type ChildServer } from "./support/server.js";
import { startSmtpSink } from "./support/smtp-sink.js";
import { startWebhookReceiver } from "./support/webhook-receiver.js";
import { eventually } from "./support/eventually.js";

const MESSAGES = 150;

test("kill -9 while webhook posts are pending loses none of them", { timeout: 150_000 }, async () => {
  const dir = tempDir();
  const sink = await startSmtpSink();
  const receiver = await startWebhookReceiver();
  // Slow enough that posts are still pending and in flight when the process is killed.
  receiver.answer = () => ({ status: 200, delayMs: 40 });
  const env: Record<string, string> = {
    POSTHORN_DATA_DIR: dir.path,
    POSTHORN_HTTP_PORT: "0",
    POSTHORN_HOSTNAME: "crash.test",
    POSTHORN_ROLES: "api,mta,worker",
    POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
    POSTHORN_VERP: "false",
    POSTHORN_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.1/32",
    // Claims of posts cut off by the kill come back after 3 × the post timeout.
    POSTHORN_WEBHOOK_TIMEOUT: "1s",
    POSTHORN_INBOUND_HOOK_TIMEOUT: "1s",
    POSTHORN_WEBHOOK_ENDPOINT_CONCURRENCY: "4",
  };
  const run = (args: string[]) => execFileSync(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", ...env } }).toString().trim();
  let server: ChildServer | undefined;
  try {
    run(["migrate"]);
    const token = run(["workspace", "create", "crash"]);
    server = await spawnServer(env);
    const headers = { "content-type": "application/json", accept: "application/json", "x-postmark-server-token": token };
    const hook = await fetch(`${server.url}/webhooks`, { method: "POST", headers, body: JSON.stringify({ Url: `${receiver.url}/hook`, Triggers: { Delivery: { Enabled: true } } }) });
    assert.equal(hook.status, 200, await hook.clone().text());
    const ids: string[] = [];
    for (let batch = 0; batch < MESSAGES / 50; batch++) {
      const messages = Array.from({ length: 50 }, (_, i) => ({ From: "app@crash.test", To: `user${batch}-${i}@example.test`, Subject: "Hi", TextBody: "Hello" }));
      const sent = (await (await fetch(`${server.url}/email/batch`, { method: "POST", headers, body: JSON.stringify(messages) })).json()) as Array<{ MessageID: string; ErrorCode: number }>;
      assert.ok(sent.every((r) => r.ErrorCode === 0));
      ids.push(...sent.map((r) => r.MessageID));
    }
    await eventually(async () => receiver.posts.length >= 20, 30_000);
    server.child.kill("SIGKILL");
    await server.exited;
    const beforeRestart = new Set(receiver.posts.map((p) => p.json.MessageID as string));
    assert.ok(beforeRestart.size < MESSAGES, "some posts were still to make when the process died");

    server = await spawnServer(env);
    const posted = () => new Set(receiver.posts.filter((p) => p.json.RecordType === "Delivery").map((p) => p.json.MessageID as string));
    await eventually(async () => ids.every((id) => posted().has(id)), 90_000).catch(() => {
      assert.fail(`${ids.filter((id) => !posted().has(id)).length} of ${MESSAGES} Delivery posts never arrived`);
    });
  } finally {
    server?.child.kill("SIGKILL");
    await server?.exited;
    await sink.close();
    await receiver.close();
    dir.remove();
  }
});
