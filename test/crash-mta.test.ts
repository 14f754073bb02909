// Kill -9 the MTA in the middle of a 5,000-message run to a slow destination, restart it, and
// account for every message: each arrives exactly once, except those whose 250 had arrived
// before the kill but whose outcome was not yet committed — those may arrive twice.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { MAIN_JS, spawnServer, tempDir } from "./support/server.js";
import { startSmtpSink } from "./support/smtp-sink.js";

const TOTAL = 5000;

test("kill -9 of the MTA mid-run: every message delivered once, repeats only where the 250 was not yet recorded", { timeout: 180_000 }, async (t) => {
  const dir = tempDir();
  const sink = await startSmtpSink({ dataDelayMs: 5 });
  try {
    const env = {
      POSTHORN_DATA_DIR: dir.path,
      POSTHORN_HTTP_PORT: "0",
      POSTHORN_HOSTNAME: "crash.test",
      POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
      POSTHORN_LEASE_DURATION: "2s",
      POSTHORN_VERP: "false",
    };
    execFileSync(process.execPath, [MAIN_JS, "migrate"], { env: { PATH: process.env.PATH ?? "", ...env } }); // only start and migrate create the database
    const token = execFileSync(process.execPath, [MAIN_JS, "workspace", "create", "crash"], { env: { PATH: process.env.PATH ?? "", ...env } }).toString().trim();

    // Queue everything with the API alone, then start delivering: the kill then lands in the
    // middle of steady delivery rather than during acceptance.
    const api = await spawnServer({ ...env, POSTHORN_ROLES: "api" });
    const accepted: string[] = [];
    for (let i = 0; i < TOTAL; i += 500) {
      const res = await fetch(`${api.url}/email/batch`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-postmark-server-token": token },
        body: JSON.stringify(Array.from({ length: 500 }, (_, j) => ({ From: "app@crash.test", To: `u${i + j}@example.test`, Subject: "s", TextBody: "x".repeat(1500) }))),
      });
      const results = (await res.json()) as Array<{ ErrorCode: number; MessageID: string }>;
      for (const r of results) assert.equal(r.ErrorCode, 0);
      accepted.push(...results.map((r) => r.MessageID));
    }
    api.child.kill("SIGTERM");
    await api.exited;

    const mta = await spawnServer({ ...env, POSTHORN_ROLES: "mta" });
    await sink.waitForMessages(1500, 60_000);
    mta.child.kill("SIGKILL");
    await mta.exited;
    const receivedBeforeKill = new Set(sink.messages.map((m) => idOf(m.messageId)));
    assert.ok(receivedBeforeKill.size < TOTAL, "the kill came after everything was delivered");

    // What the database says was delivered when the MTA died.
    const db = new SQLite(join(dir.path, "posthorn.db"), { readonly: true });
    const recorded = new Set(
      (db.prepare("select message_id from deliveries where state = 'delivered'").all() as Array<{ message_id: string }>).map((r) => r.message_id),
    );
    db.close();
    const unrecorded250s = [...receivedBeforeKill].filter((id) => !recorded.has(id));

    const again = await spawnServer({ ...env, POSTHORN_ROLES: "mta" });
    try {
      const until = Date.now() + 90_000;
      while (new Set(sink.messages.map((m) => idOf(m.messageId))).size < TOTAL && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 500));
      const counts = new Map<string, number>();
      for (const m of sink.messages) counts.set(idOf(m.messageId), (counts.get(idOf(m.messageId)) ?? 0) + 1);
      assert.deepEqual(accepted.filter((id) => !counts.has(id)), [], "accepted messages never delivered");
      const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
      assert.ok([...counts.values()].every((n) => n <= 2), "no message arrives more than twice");
      const unexplained = twice.filter((id) => !unrecorded250s.includes(id));
      assert.deepEqual(unexplained, [], "a repeat that was not an unrecorded 250 at the kill");
      // The figures the issue asks the test to count.
      t.diagnostic(`${TOTAL} accepted, ${receivedBeforeKill.size} received before the kill, ${unrecorded250s.length} of those unrecorded, ${twice.length} delivered twice`);
    } finally {
      again.child.kill("SIGTERM");
      await again.exited;
    }
  } finally {
    await sink.close();
    dir.remove();
  }
});

function idOf(messageId: string | null): string {
  return /^<([^@]+)@/.exec(messageId ?? "")?.[1] ?? "";
}
