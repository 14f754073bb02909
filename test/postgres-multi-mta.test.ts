// Two MTA processes against one PostgreSQL share the queue without delivering any delivery twice.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { MAIN_JS, spawnServer, type ChildServer } from "./support/server.js";
import { startSmtpSink } from "./support/smtp-sink.js";
import { createTempDatabase } from "./support/stores.js";

const serverUrl = process.env.TEST_DATABASE_URL;

test(
  "two posthorn processes with POSTHORN_ROLES=mta never deliver the same delivery twice",
  { timeout: 120_000, skip: serverUrl ? false : "TEST_DATABASE_URL is not set (CI sets it)" },
  async () => {
    const db = await createTempDatabase(serverUrl!);
    const sink = await startSmtpSink({ dataDelayMs: 20 });
    const processes: ChildServer[] = [];
    try {
      const base = {
        DATABASE_URL: db.url,
        POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
        POSTHORN_HTTP_PORT: "0",
        // Small claims so both workers keep coming back to the queue while it is full.
        POSTHORN_MTA_CONCURRENCY: "40",
      };
      const token = execFileSync(process.execPath, [MAIN_JS, "workspace", "create", "race"], { env: { PATH: process.env.PATH ?? "", ...base } })
        .toString()
        .trim();
      const api = await spawnServer({ ...base, POSTHORN_ROLES: "api", POSTHORN_HOSTNAME: "api.test" });
      processes.push(api);

      // Queue everything before the workers start, so they race for the same backlog.
      const total = 2000;
      for (let i = 0; i < total; i += 500) {
        const res = await fetch(`${api.url}/email/batch`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-postmark-server-token": token },
          body: JSON.stringify(Array.from({ length: 500 }, (_, j) => ({ From: "a@race.test", To: `u${i + j}@example.test`, Subject: "s", TextBody: "t" }))),
        });
        assert.equal(res.status, 200);
      }
      processes.push(
        ...(await Promise.all([
          spawnServer({ ...base, POSTHORN_ROLES: "mta", POSTHORN_HOSTNAME: "mta-one.test" }),
          spawnServer({ ...base, POSTHORN_ROLES: "mta", POSTHORN_HOSTNAME: "mta-two.test" }),
        ])),
      );

      await sink.waitForMessages(total, 60_000);
      await new Promise((r) => setTimeout(r, 500)); // a duplicate would arrive just after
      const seen = new Map<string, number>();
      for (const m of sink.messages) for (const r of m.rcptTo) seen.set(r, (seen.get(r) ?? 0) + 1);
      assert.equal(seen.size, total);
      assert.deepEqual([...seen].filter(([, n]) => n > 1), []);
      const byWorker = new Set(sink.messages.map((m) => m.helo));
      assert.deepEqual([...byWorker].sort(), ["mta-one.test", "mta-two.test"], "both workers should have taken part");
    } finally {
      for (const p of processes) p.child.kill("SIGTERM");
      await Promise.all(processes.map((p) => p.exited));
      await sink.close();
      await db.drop();
    }
  },
);
