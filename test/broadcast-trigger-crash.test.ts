// An API-triggered broadcast survives kill -9 of the process entering its people, on SQLite and
// PostgreSQL: each chunk's runs and the trigger's progress commit in one transaction, so after the
// restart (which takes the trigger over when the dead process's claim runs out) every person of
// the audience has exactly one run — with re-entry "always", a chunk entered twice would show as
// two runs — and the trigger's counts agree with the runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { execFileSync } from "node:child_process";
import { APIClient } from "customerio-node";
import { MAIN_JS, spawnServer, tempDir } from "./support/server.js";
import { appApi, until } from "./support/segments.js";
import { serverDatabases } from "./support/stores.js";
import { openStore } from "../src/store/store.js";
import { sql } from "../src/store/kysely.js";

const PEOPLE = 4_000;

const journey = {
  name: "Crash launch",
  trigger: { broadcast: {} },
  reentry: "always",
  // The runs wait: the test is about entering, not sending.
  steps: [{ id: "later", type: "delay", duration: "30d" }],
};

for (const database of serverDatabases()) {
  test(`[${database.name}] kill -9 while a trigger of ${PEOPLE} people is being entered: after the restart each has exactly one run`, { timeout: 180_000 }, async () => {
    const dir = tempDir();
    const db = await database.open();
    const env = { POSTHORN_DATA_DIR: dir.path, POSTHORN_LEASE_DURATION: "2s", POSTHORN_HTTP_PORT: "0", ...db.env };
    const cli = (...args: string[]) => execFileSync(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "silent", ...env } }).toString();
    let servers: Array<Awaited<ReturnType<typeof spawnServer>>> = [];
    try {
      cli("migrate");
      cli("workspace", "create", "crashy");
      const appKey = cli("token", "create", "--app", "--workspace", "crashy").trim();
      const track = JSON.parse(cli("token", "create", "--track", "--workspace", "crashy", "--json")) as { siteId: string; apiKey: string };
      const first = await spawnServer(env);
      servers.push(first);
      for (let start = 0; start < PEOPLE; start += 1_000) {
        const batch = Array.from({ length: 1_000 }, (_, i) => ({ type: "person", identifiers: { id: `p${String(start + i).padStart(5, "0")}` }, action: "identify", attributes: { plan: "crash" } }));
        const added = await fetch(`${first.url}/api/v2/batch`, { method: "POST", headers: { authorization: `Basic ${Buffer.from(`${track.siteId}:${track.apiKey}`).toString("base64")}`, "content-type": "application/json" }, body: JSON.stringify({ batch }) });
        assert.equal(added.status, 200, await added.text());
      }
      const api = appApi(first.url!, appKey);
      const created = await api.call("POST", "/journeys?state=live", journey);
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const campaign = Number((created.body.journey as { id: string | number }).id);
      const url = new URL(first.url!);
      const client = new APIClient(appKey, { url: `${first.url}/v1`, port: Number(url.port), protocol: "http:", agent: new http.Agent() } as never);
      const triggered = (await client.triggerBroadcast(campaign, { note: "crash" }, { attribute: { field: "plan", operator: "eq", value: "crash" } } as never)) as { id: number };
      const status = async (base: string) => (await appApi(base, appKey).call("GET", `/campaigns/${campaign}/triggers/${triggered.id}`)).body as Record<string, unknown>;
      const entered = (s: Record<string, unknown>) => Number((s.trigger as Record<string, unknown> | undefined)?.entered ?? s.entered ?? 0);
      await until("part of the audience entered", async () => {
        const n = entered(await status(first.url!));
        return n > 0 && n < PEOPLE;
      }, 60_000);
      first.child.kill("SIGKILL");
      await first.exited;
      const second = await spawnServer(env);
      servers.push(second);
      const done = await until("the trigger finished after the restart", async () => {
        const s = await status(second.url!);
        const t = (s.trigger as Record<string, unknown> | undefined) ?? s;
        return t.state === "done" ? t : false;
      }, 120_000);
      assert.equal(Number(done.entered), PEOPLE, JSON.stringify(done));
      second.child.kill("SIGTERM");
      await second.exited;
      servers = [];
      const store = openStore({ dataDir: dir.path, databaseUrl: db.env.DATABASE_URL ?? null });
      try {
        const runs = await sql<{ person_id: string; n: number }>`select person_id, count(*) as n from journey_runs where journey_id = ${campaign} group by person_id`.execute(store.db);
        assert.equal(runs.rows.length, PEOPLE, "every person entered");
        const doubled = runs.rows.filter((r) => Number(r.n) !== 1);
        assert.deepEqual(doubled, [], "nobody entered twice");
      } finally {
        await store.close();
      }
    } finally {
      for (const s of servers) s.child.kill("SIGKILL");
      await db.drop();
      dir.remove();
    }
  });
}
