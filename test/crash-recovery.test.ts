// Nothing accepted is lost: kill -9 the server while deliveries are in flight (and while the API
// is accepting), restart it, and every message that was answered 200 reaches the destination.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { MAIN_JS, spawnServer, tempDir } from "./support/server.js";
import { startSmtpSink } from "./support/smtp-sink.js";

const CONCURRENCY = 40;

function envFor(dataDir: string, sinkPort: number): Record<string, string> {
  return {
    POSTHORN_DATA_DIR: dataDir,
    POSTHORN_HTTP_PORT: "0",
    POSTHORN_HOSTNAME: "crash.test",
    POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sinkPort}`,
    // Short lease so rows claimed by the killed process come back quickly after the restart.
    POSTHORN_LEASE_DURATION: "2s",
    POSTHORN_MTA_CONCURRENCY: String(CONCURRENCY),
    POSTHORN_RETRY_SCHEDULE: "500ms",
  };
}

function createWorkspace(env: Record<string, string>, name: string): string {
  execFileSync(process.execPath, [MAIN_JS, "migrate"], { env: { PATH: process.env.PATH ?? "", ...env } }); // only start and migrate create the database
  return execFileSync(process.execPath, [MAIN_JS, "workspace", "create", name], { env: { PATH: process.env.PATH ?? "", ...env } })
    .toString()
    .trim();
}

async function sendBatch(url: string, token: string, from: number, count: number): Promise<string[]> {
  const body = Array.from({ length: count }, (_, i) => ({
    From: "app@crash.test",
    To: `user${from + i}@example.test`,
    Subject: `message ${from + i}`,
    TextBody: "x".repeat(1500),
  }));
  const res = await fetch(`${url}/email/batch`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", "x-postmark-server-token": token },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200);
  const results = (await res.json()) as Array<{ ErrorCode: number; MessageID: string }>;
  for (const r of results) assert.equal(r.ErrorCode, 0);
  return results.map((r) => r.MessageID);
}

function idsReceived(sink: { messages: Array<{ messageId: string | null }> }): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of sink.messages) {
    const id = /^<([^@]+)@/.exec(m.messageId ?? "")?.[1];
    if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

test("kill -9 with 1,000 accepted messages in flight, then restart: every message is delivered", { timeout: 120_000 }, async () => {
  const dir = tempDir();
  // A slow destination keeps many deliveries in flight at the moment of the kill.
  const sink = await startSmtpSink({ dataDelayMs: 15 });
  try {
    const env = envFor(dir.path, sink.port);
    const token = createWorkspace(env, "crash");
    const first = await spawnServer(env);
    const accepted: string[] = [];
    for (let i = 0; i < 1000; i += 250) accepted.push(...(await sendBatch(first.url!, token, i, 250)));
    await sink.waitForMessages(100, 30_000);
    first.child.kill("SIGKILL");
    await first.exited;
    const beforeRestart = sink.messages.length;
    assert.ok(beforeRestart < 1000, `the kill came too late to test anything (${beforeRestart} already delivered)`);

    const second = await spawnServer(env);
    try {
      const until = Date.now() + 60_000;
      while (idsReceived(sink).size < accepted.length && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      const counts = idsReceived(sink);
      const missing = accepted.filter((id) => !counts.has(id));
      assert.deepEqual(missing, [], `${missing.length} accepted messages never arrived`);
      // Only deliveries that were in flight at the kill may repeat: at most the worker's concurrency.
      const duplicates = [...counts.values()].filter((n) => n > 1).length;
      assert.ok(duplicates <= CONCURRENCY, `${duplicates} messages arrived twice; at most ${CONCURRENCY} were in flight`);
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  } finally {
    await sink.close();
    dir.remove();
  }
});

test("kill -9 while the API is accepting: every message answered 200 is delivered after restart", { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const sink = await startSmtpSink();
  try {
    const env = envFor(dir.path, sink.port);
    const token = createWorkspace(env, "crash");
    const first = await spawnServer(env);
    const accepted: string[] = [];
    let next = 0;
    const senders = Array.from({ length: 4 }, async () => {
      for (;;) {
        const from = (next += 50) - 50;
        try {
          accepted.push(...(await sendBatch(first.url!, token, from, 50)));
        } catch {
          return; // the server died under this request: it was never answered, so never accepted
        }
      }
    });
    await new Promise((r) => setTimeout(r, 1500));
    first.child.kill("SIGKILL");
    await Promise.all(senders);
    await first.exited;
    assert.ok(accepted.length > 0);

    const second = await spawnServer(env);
    try {
      const until = Date.now() + 60_000;
      // The received ids are counted once per poll: counting them again for every accepted id
      // blocked this process (and the sink that runs in it) for seconds per poll, so the
      // restarted server's deliveries crawled past the deadline on a loaded machine.
      let counts = idsReceived(sink);
      while (accepted.some((id) => !counts.has(id)) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 200));
        counts = idsReceived(sink);
      }
      assert.deepEqual(accepted.filter((id) => !counts.has(id)), []);
    } finally {
      second.child.kill("SIGTERM");
      const code = await second.exited;
      assert.equal(code, 0, "SIGTERM should drain and exit cleanly");
    }
  } finally {
    await sink.close();
    dir.remove();
  }
});
