// Deliveries in flight at a kill -9 are attempted again within 30 seconds of the restart, with
// the default lease: on SQLite the restarted process takes its predecessor's leases back before
// its first claim (as Postfix requeues its active queue at start) instead of waiting them out.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { MAIN_JS, spawnServer, tempDir } from "./support/server.js";
import { startSmtpSink } from "./support/smtp-sink.js";

const MESSAGES = 40;
const RESTART_BOUND_MS = 30_000;

test("kill -9 with deliveries in flight, default lease: the restarted process attempts every one within 30 s", { timeout: 120_000 }, async (t) => {
  const dir = tempDir();
  // Each DATA answer takes a second, so the kill finds deliveries mid-attempt and waiting for one.
  const sink = await startSmtpSink({ dataDelayMs: 1000 });
  try {
    // No POSTHORN_LEASE_DURATION: the default lease is what is tested.
    const env = {
      POSTHORN_DATA_DIR: dir.path,
      POSTHORN_HTTP_PORT: "0",
      POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
      POSTHORN_MTA_CONCURRENCY: "10",
    };
    execFileSync(process.execPath, [MAIN_JS, "migrate"], { env: { PATH: process.env.PATH ?? "", ...env } }); // only start and migrate create the database
    const token = execFileSync(process.execPath, [MAIN_JS, "workspace", "create", "inflight"], { env: { PATH: process.env.PATH ?? "", ...env } })
      .toString()
      .trim();
    // The EHLO name tells the two processes' sessions apart at the sink.
    const first = await spawnServer({ ...env, POSTHORN_HOSTNAME: "before.test" });
    const res = await fetch(`${first.url}/email/batch`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-postmark-server-token": token },
      body: JSON.stringify(Array.from({ length: MESSAGES }, (_, i) => ({ From: "app@inflight.test", To: `u${i}@example.test`, Subject: `m${i}`, TextBody: "t" }))),
    });
    assert.equal(res.status, 200);
    await sink.waitForMessages(3, 30_000);
    first.child.kill("SIGKILL");
    await first.exited;

    // In flight at the kill: claimed (leased) and still waiting for an outcome.
    const db = new SQLite(join(dir.path, "posthorn.db"), { readonly: true });
    const inFlight = (
      db.prepare("select recipient from deliveries where state in ('queued', 'deferred') and lease_owner is not null").all() as Array<{ recipient: string }>
    ).map((r) => r.recipient);
    db.close();
    assert.ok(inFlight.length > 0, "no delivery was in flight at the kill");

    const restartedAt = Date.now();
    const second = await spawnServer({ ...env, POSTHORN_HOSTNAME: "after.test" });
    try {
      const arrivedAfterRestart = () => {
        const at = new Map<string, number>();
        for (const m of sink.messages) if (m.helo === "after.test") for (const r of m.rcptTo) if (!at.has(r)) at.set(r, m.receivedAt);
        return at;
      };
      let arrived = arrivedAfterRestart();
      while (inFlight.some((r) => !arrived.has(r)) && Date.now() < restartedAt + RESTART_BOUND_MS) {
        await new Promise((r) => setTimeout(r, 100));
        arrived = arrivedAfterRestart();
      }
      assert.deepEqual(
        inFlight.filter((r) => !arrived.has(r) || arrived.get(r)! - restartedAt > RESTART_BOUND_MS),
        [],
        `deliveries in flight at the kill not attempted within ${RESTART_BOUND_MS / 1000} s of the restart`,
      );
      // They came back because the restarted process took the leases back, not because the
      // leases ran out.
      const takeBack = /"count":(\d+)[^\n]*took back deliveries left in flight/.exec(second.output());
      assert.ok(takeBack, `the restarted process did not report taking leases back:\n${second.output()}`);
      assert.equal(Number(takeBack[1]), inFlight.length);
      t.diagnostic(`${inFlight.length} deliveries in flight at the kill; the last attempted again ${Math.max(...inFlight.map((r) => arrived.get(r)!)) - restartedAt} ms after the restart began`);

      // And the rest of the accepted mail follows.
      const until = Date.now() + 60_000;
      const everyone = () => new Set(sink.messages.flatMap((m) => m.rcptTo));
      while (everyone().size < MESSAGES && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      assert.equal(everyone().size, MESSAGES);
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  } finally {
    await sink.close();
    dir.remove();
  }
});
