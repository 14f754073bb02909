// A journey's guarantee under kill -9: a worker killed while it runs many people through a journey
// (email, a timer, email) sends nothing twice and skips nothing once restarted. Each send step's
// message is accepted with the run's idempotency key in the same transaction as the run's move,
// so a run is either past its step with its message accepted, or before it with nothing accepted.
// Counted at the SMTP sink by Message-ID: every person gets each email exactly once (the MTA may
// repeat a delivery that was in flight at the kill, with the same Message-ID: that is the one
// repeat the design allows, and it is not a second message). Then, on PostgreSQL, two worker
// processes share the runs of one journey without doubles.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAIN_JS, spawnServer, tempDir, type ChildServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { createTempDatabase } from "./support/stores.js";

const PEOPLE = 400;

function cli(env: Record<string, string>, ...args: string[]): string {
  return execFileSync(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", ...env } }).toString();
}

function journeyFolder(root: string): string {
  const dir = join(root, "journeys");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "two-mails.yaml"),
    `workspace: crash
name: two mails
trigger: { event: { name: go } }
defaults: { from: "journeys@brand.test" }
steps:
  - { id: one, type: email, subject: "one {{ customer.id }}", text: "first" }
  - { id: pause, type: delay, duration: 2s }
  - { id: two, type: email, subject: "two {{ customer.id }}", text: "second" }
`,
  );
  return dir;
}

async function enterPeople(url: string, auth: string, from: number, count: number): Promise<void> {
  for (let start = from; start < from + count; start += 100) {
    const batch = [];
    for (let i = start; i < Math.min(start + 100, from + count); i++) {
      batch.push({ type: "person", identifiers: { id: `p${i}` }, action: "identify", attributes: { email: `p${i}@example.test` } });
      batch.push({ type: "person", identifiers: { id: `p${i}` }, action: "event", name: "go", attributes: {} });
    }
    const response = await fetch(`${url}/api/v2/batch`, { method: "POST", headers: { "content-type": "application/json", authorization: auth }, body: JSON.stringify({ batch }) });
    assert.equal(response.status, 200, await response.text());
  }
}

/** Per recipient, the distinct Message-IDs of each subject word ("one", "two") seen at the sink. */
function distinctBySubject(sink: SmtpSink): Map<string, Map<string, Set<string>>> {
  const out = new Map<string, Map<string, Set<string>>>();
  for (const m of sink.messages) {
    const subject = /^Subject: (\w+)/im.exec(m.raw.toString("utf8"))?.[1] ?? "?";
    for (const rcpt of m.rcptTo) {
      const bySubject = out.get(rcpt) ?? new Map<string, Set<string>>();
      const ids = bySubject.get(subject) ?? new Set<string>();
      ids.add(m.messageId ?? "");
      bySubject.set(subject, ids);
      out.set(rcpt, bySubject);
    }
  }
  return out;
}

async function allDelivered(sink: SmtpSink, people: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const seen = distinctBySubject(sink);
    const done = [...seen.values()].filter((s) => s.has("one") && s.has("two")).length;
    if (done >= people) return;
    if (Date.now() > until) throw new Error(`only ${done} of ${people} people got both emails`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function assertExactlyOnce(sink: SmtpSink, people: number): void {
  const seen = distinctBySubject(sink);
  assert.equal(seen.size, people, "every person got mail");
  for (const [rcpt, bySubject] of seen) {
    assert.deepEqual([...bySubject.keys()].sort(), ["one", "two"], rcpt);
    for (const [subject, ids] of bySubject) assert.equal(ids.size, 1, `${rcpt} got ${ids.size} different "${subject}" messages`);
  }
}

async function stop(server: ChildServer): Promise<void> {
  server.child.kill("SIGTERM");
  await server.exited;
}

// On SQLite, and on PostgreSQL (where a batch's runs are written by one statement per chunk) when TEST_DATABASE_URL is set.
for (const store of ["sqlite", "postgres"] as const) {
  test(`kill -9 of the worker while a journey runs 400 people, then restart: each email sent once, none skipped (${store})`, { timeout: 180_000, skip: store === "postgres" && !process.env.TEST_DATABASE_URL ? "TEST_DATABASE_URL is not set" : false }, async () => {
    const database = store === "postgres" ? await createTempDatabase(process.env.TEST_DATABASE_URL!) : null;
    const dir = tempDir();
    const sink = await startSmtpSink();
    const env = {
      ...(database ? { DATABASE_URL: database.url, POSTHORN_ENCRYPTION_KEY: "22".repeat(32) } : {}),
      POSTHORN_DATA_DIR: dir.path,
      POSTHORN_HTTP_PORT: "0",
      POSTHORN_HOSTNAME: "crash.test",
      POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
      POSTHORN_VERP: "false",
      POSTHORN_JOURNEYS_DIR: journeyFolder(dir.path),
      // Small batches, so that the kill lands between batches' commits as well as inside them.
      POSTHORN_JOURNEYS_BATCH: "20",
      POSTHORN_JOURNEYS_LEASE: "5s",
    };
    try {
      cli(env, "migrate");
      cli(env, "workspace", "create", "crash");
      const creds = JSON.parse(cli(env, "token", "create", "--track", "--workspace", "crash", "--json")) as { siteId: string; apiKey: string };
      const auth = `Basic ${Buffer.from(`${creds.siteId}:${creds.apiKey}`).toString("base64")}`;
      // A start may take long on a loaded machine: the guarantee, not the start time, is under test.
      const first = await spawnServer(env, 60_000);
      await enterPeople(first.url!, auth, 0, PEOPLE);
      const deadline = Date.now() + 30_000;
      while (sink.messages.length < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      first.child.kill("SIGKILL");
      await first.exited;
      const atKill = new Set(sink.messages.map((m) => m.messageId)).size;
      assert.ok(atKill > 0 && atKill < 2 * PEOPLE, `the kill came mid-run (${atKill} of ${2 * PEOPLE} emails delivered)`);
      const second = await spawnServer(env, 60_000);
      try {
        await allDelivered(sink, PEOPLE, 90_000);
        // Anything still to come would show as a second message.
        await new Promise((r) => setTimeout(r, 1_000));
        assertExactlyOnce(sink, PEOPLE);
      } finally {
        await stop(second);
      }
    } finally {
      await sink.close();
      dir.remove();
      await database?.drop();
    }
  });
}

test("two worker processes on PostgreSQL share the runs of one journey without doubles", { timeout: 180_000, skip: process.env.TEST_DATABASE_URL ? false : "TEST_DATABASE_URL is not set" }, async () => {
  const database = await createTempDatabase(process.env.TEST_DATABASE_URL!);
  const dir = tempDir();
  const sink = await startSmtpSink();
  const base = { DATABASE_URL: database.url, POSTHORN_HTTP_PORT: "0", POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`, POSTHORN_VERP: "false", POSTHORN_JOURNEYS_BATCH: "20", POSTHORN_ENCRYPTION_KEY: "22".repeat(32) };
  try {
    const envA = { ...base, POSTHORN_DATA_DIR: join(dir.path, "a"), POSTHORN_HOSTNAME: "a.crash.test", POSTHORN_JOURNEYS_DIR: journeyFolder(dir.path) };
    const envB = { ...base, POSTHORN_DATA_DIR: join(dir.path, "b"), POSTHORN_HOSTNAME: "b.crash.test", POSTHORN_ROLES: "worker,mta" };
    cli(envA, "migrate");
    cli(envA, "workspace", "create", "crash");
    const creds = JSON.parse(cli(envA, "token", "create", "--track", "--workspace", "crash", "--json")) as { siteId: string; apiKey: string };
    const auth = `Basic ${Buffer.from(`${creds.siteId}:${creds.apiKey}`).toString("base64")}`;
    const a = await spawnServer(envA);
    const b = await spawnServer(envB);
    try {
      await enterPeople(a.url!, auth, 0, PEOPLE);
      await allDelivered(sink, PEOPLE, 90_000);
      await new Promise((r) => setTimeout(r, 1_000));
      assertExactlyOnce(sink, PEOPLE);
      // The Message-ID names the host of the process that accepted it: both took runs.
      const hosts = new Set(sink.messages.map((m) => /@([^>]+)>/.exec(m.messageId ?? "")?.[1]));
      assert.deepEqual([...hosts].sort(), ["a.crash.test", "b.crash.test"]);
    } finally {
      await Promise.all([stop(a), stop(b)]);
    }
  } finally {
    await sink.close();
    dir.remove();
    await database.drop();
  }
});
