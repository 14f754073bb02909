// A webhook step's retries survive kill -9: the run waits in its step as stored state (its due
// time and the attempts made in its wait), not in a sleeping worker, so a server killed between
// two attempts goes on with the next one after its restart, and the step succeeds once.
// SQLite always; PostgreSQL when TEST_DATABASE_URL is set.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import pg from "pg";
import { MAIN_JS, spawnServer, tempDir } from "./support/server.js";
import { startSmtpSink } from "./support/smtp-sink.js";
import { serverDatabases } from "./support/stores.js";

function cli(env: Record<string, string>, ...args: string[]): string {
  return execFileSync(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", ...env } }).toString();
}

interface StoredRun {
  state: string;
  step_id: string | null;
  wait_json: string | null;
}

/** The journey's runs as stored, read beside the running server (SQLite: a read-only connection on the WAL). */
async function storedRuns(env: Record<string, string>, dataDir: string): Promise<StoredRun[]> {
  const query = "select state, step_id, wait_json from journey_runs";
  if (env.DATABASE_URL) {
    const client = new pg.Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    try {
      return (await client.query<StoredRun>(query)).rows;
    } finally {
      await client.end();
    }
  }
  const db = new SQLite(join(dataDir, "posthorn.db"), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(query).all() as StoredRun[];
  } finally {
    db.close();
  }
}

for (const database of serverDatabases()) {
  test(`kill -9 between two attempts of a webhook step, then restart: the retries go on and the step succeeds once (${database.name})`, { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const sink = await startSmtpSink();
    const { env: dbEnv, drop } = await database.open();
    // Fails twice, then answers: the kill comes after the second failure is stored.
    const requests: Array<{ key: string | undefined; status: number }> = [];
    const receiver = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        const status = requests.length < 2 ? 503 : 200;
        requests.push({ key: req.headers["idempotency-key"] as string | undefined, status });
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify({ n: requests.length }));
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
    const port = (receiver.address() as AddressInfo).port;
    const journeys = join(dir.path, "journeys");
    mkdirSync(journeys, { recursive: true });
    writeFileSync(
      join(journeys, "hook.yaml"),
      `workspace: crash
name: hook then mail
trigger: { event: { name: go } }
defaults: { from: "journeys@brand.test" }
steps:
  - { id: call, type: webhook, url: "http://127.0.0.1:${port}/hook", body: { person: "{{ customer.id }}" } }
  - { id: mail, type: email, subject: "answered on request {{ steps.call.response.body.n }}", text: "x" }
`,
    );
    const env = {
      POSTHORN_DATA_DIR: dir.path,
      POSTHORN_HTTP_PORT: "0",
      POSTHORN_HOSTNAME: "crash.test",
      POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
      POSTHORN_VERP: "false",
      POSTHORN_JOURNEYS_DIR: journeys,
      POSTHORN_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.1",
      POSTHORN_JOURNEYS_WEBHOOK_ATTEMPTS: "3",
      POSTHORN_JOURNEYS_WEBHOOK_BACKOFF: "2s",
      ...dbEnv,
    };
    try {
      cli(env, "migrate");
      cli(env, "workspace", "create", "crash");
      const creds = JSON.parse(cli(env, "token", "create", "--track", "--workspace", "crash", "--json")) as { siteId: string; apiKey: string };
      const auth = `Basic ${Buffer.from(`${creds.siteId}:${creds.apiKey}`).toString("base64")}`;
      const first = await spawnServer(env);
      const batch = [
        { type: "person", identifiers: { id: "kim" }, action: "identify", attributes: { email: "kim@example.test" } },
        { type: "person", identifiers: { id: "kim" }, action: "event", name: "go", attributes: {} },
      ];
      const response = await fetch(`${first.url}/api/v2/batch`, { method: "POST", headers: { "content-type": "application/json", authorization: auth }, body: JSON.stringify({ batch }) });
      assert.equal(response.status, 200, await response.text());
      // Between the second attempt and the third: the run stored waiting in its step, two attempts made.
      const deadline = Date.now() + 30_000;
      let waiting: StoredRun | undefined;
      while (!waiting) {
        if (Date.now() > deadline) throw new Error(`the run never waited after its second attempt (${requests.length} requests)\n${first.output()}`);
        const runs = await storedRuns(env, dir.path);
        waiting = runs.find((r) => r.state === "waiting" && r.wait_json !== null && (JSON.parse(r.wait_json) as { attempts?: number }).attempts === 2);
        if (!waiting) await new Promise((r) => setTimeout(r, 20));
      }
      first.child.kill("SIGKILL");
      await first.exited;
      assert.equal(waiting.step_id, "call");
      assert.equal((JSON.parse(waiting.wait_json!) as { lastError: string }).lastError, "HTTP 503");
      assert.equal(requests.length, 2, "killed between the second attempt and the third");
      const second = await spawnServer(env);
      try {
        const until = Date.now() + 30_000;
        while (sink.messages.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
        // Anything more to come would show as another request or another message.
        await new Promise((r) => setTimeout(r, 3_000));
        assert.deepEqual(requests.map((r) => r.status), [503, 503, 200], "the third attempt came after the restart, and none after it");
        assert.equal(new Set(requests.map((r) => r.key)).size, 1, "one Idempotency-Key for every attempt");
        assert.equal(sink.messages.length, 1);
        assert.match(sink.messages[0]!.raw.toString("utf8"), /^Subject: answered on request 3\r?$/m);
        const [run] = await storedRuns(env, dir.path);
        assert.equal(run!.state, "ended");
      } finally {
        second.child.kill("SIGTERM");
        await second.exited;
      }
    } finally {
      receiver.close();
      await sink.close();
      dir.remove();
      await drop();
    }
  });
}
