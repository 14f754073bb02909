// A broadcast survives kill -9 of the process sending it, on SQLite and PostgreSQL: the restarted
// process takes it over when the dead one's claim runs out and finishes it, and every person of the
// audience has exactly one accepted message — none twice (the chunk in flight at the kill either
// committed with its progress or not at all), none skipped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { MAIN_JS, spawnServer, tempDir } from "./support/server.js";
import { startSmtpSink } from "./support/smtp-sink.js";
import { appApi, until } from "./support/segments.js";
import { serverDatabases } from "./support/stores.js";
import { openStore } from "../src/store/store.js";
import { sql } from "../src/store/kysely.js";

const PEOPLE = 300;

for (const database of serverDatabases()) {
  test(`[${database.name}] kill -9 mid-broadcast: after the restart each person has exactly one message`, { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const db = await database.open();
    const sink = await startSmtpSink();
    const env = { POSTHORN_DATA_DIR: dir.path, POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`, POSTHORN_VERP: "false", POSTHORN_LEASE_DURATION: "2s", POSTHORN_HTTP_PORT: "0", ...db.env };
    const cli = (...args: string[]) => execFileSync(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "silent", ...env } }).toString();
    let servers: Array<Awaited<ReturnType<typeof spawnServer>>> = [];
    try {
      cli("migrate");
      cli("workspace", "create", "crashy");
      const appKey = cli("token", "create", "--app", "--workspace", "crashy").trim();
      const track = JSON.parse(cli("token", "create", "--track", "--workspace", "crashy", "--json")) as { siteId: string; apiKey: string };
      const first = await spawnServer(env);
      servers.push(first);
      const batch = Array.from({ length: PEOPLE }, (_, i) => ({ type: "person", identifiers: { id: `p${String(i).padStart(3, "0")}` }, action: "identify", attributes: { email: `p${i}@example.test`, plan: "crash" } }));
      const added = await fetch(`${first.url}/api/v2/batch`, { method: "POST", headers: { authorization: `Basic ${Buffer.from(`${track.siteId}:${track.apiKey}`).toString("base64")}`, "content-type": "application/json" }, body: JSON.stringify({ batch }) });
      assert.equal(added.status, 200, await added.text());
      // 100 a chunk, one chunk a second: the kill lands with part of the audience sent.
      const created = await appApi(first.url!, appKey).call("POST", "/broadcasts", {
        broadcast: { name: "Crash", from: "news@crashy.test", subject: "Hello {{ customer.id }}", text: "t", recipients: { attribute: { field: "plan", operator: "eq", value: "crash" } }, throttle_per_minute: 6_000 },
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const id = (created.body.broadcast as { id: number }).id;
      const progress = async (url: string) => ((await appApi(url, appKey).call("GET", `/broadcasts/${id}`)).body.broadcast as { state: string; progress: { handled: number; sent: number; audience: number | null } });
      await until("part of the audience sent", async () => {
        const p = (await progress(first.url!)).progress;
        return p.handled >= 100 && p.handled < PEOPLE;
      }, 30_000);
      first.child.kill("SIGKILL");
      await first.exited;
      const second = await spawnServer(env);
      servers.push(second);
      const done = await until("the broadcast finished after the restart", async () => {
        const p = await progress(second.url!);
        return p.state === "done" ? p : false;
      }, 60_000);
      assert.deepEqual(done.progress, { audience: PEOPLE, handled: PEOPLE, sent: PEOPLE, skipped: 0, failed: 0 });
      second.child.kill("SIGTERM");
      await second.exited;
      servers = [];
      const store = openStore({ dataDir: dir.path, databaseUrl: db.env.DATABASE_URL ?? null });
      try {
        const rows = await sql<{ key: string; n: number }>`select idempotency_key as key, count(*) as n from messages where idempotency_key like ${`broadcast:${id}:%`} group by idempotency_key`.execute(store.db);
        assert.equal(rows.rows.length, PEOPLE, "every person has a message");
        assert.ok(rows.rows.every((r) => Number(r.n) === 1), "nobody has two");
        const states = await sql<{ state: string; n: number }>`select state, count(*) as n from broadcast_recipients where broadcast_id = ${id} group by state`.execute(store.db);
        assert.deepEqual(states.rows.map((r) => [r.state, Number(r.n)]), [["sent", PEOPLE]]);
      } finally {
        await store.close();
      }
    } finally {
      for (const s of servers) s.child.kill("SIGKILL");
      await sink.close();
      await db.drop();
      dir.remove();
    }
  });
}
