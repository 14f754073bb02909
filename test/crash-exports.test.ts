// An export survives kill -9 of the process building it, on SQLite and PostgreSQL: the restarted
// process takes it over when the dead one's claim runs out and finishes it, and the file has every
// matching person exactly once — no row twice (a batch's rows commit with the cursor that moves
// past them, or not at all), none lost — in chunks numbered without a gap.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { MAIN_JS, spawnServer, tempDir } from "./support/server.js";
import { appApi, until } from "./support/segments.js";
import { serverDatabases } from "./support/stores.js";
import { openStore } from "../src/store/store.js";
import { sql } from "../src/store/kysely.js";
import { WorkspacesService } from "../src/workspaces/workspaces.service.js";
import { peopleServiceFor } from "../src/people/testing/people-service.js";
import { systemClock } from "../src/shared/clock.js";
import type { PersonOperation } from "../src/people/people.port.js";

const PEOPLE = 10_000;
/** Every other person matches, so the build reads twice the people it writes (longer, easier to kill mid-way). */
const MATCHING = PEOPLE / 2;
const PER_BATCH_CALL = 2_000;

for (const database of serverDatabases()) {
  test(`[${database.name}] kill -9 mid-export: after the restart the file has each matching person exactly once`, { timeout: 180_000 }, async () => {
    const dir = tempDir();
    const db = await database.open();
    const env = { POSTHORN_DATA_DIR: dir.path, POSTHORN_LEASE_DURATION: "2s", POSTHORN_HTTP_PORT: "0", ...db.env };
    const cli = (...args: string[]) => execFileSync(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "silent", ...env } }).toString();
    let servers: Array<Awaited<ReturnType<typeof spawnServer>>> = [];
    const store = openStore({ dataDir: dir.path, databaseUrl: db.env.DATABASE_URL ?? null });
    try {
      cli("migrate");
      cli("workspace", "create", "crashy");
      const appKey = cli("token", "create", "--app", "--workspace", "crashy").trim();
      const first = await spawnServer(env);
      servers.push(first);
      // People are written straight through the people domain (one group commit per 2,000): the Track API would spend most of the test's time on them.
      const workspaceId = (await new WorkspacesService({ store, clock: systemClock }).get("crashy")).id;
      const people = peopleServiceFor(store, systemClock);
      for (let start = 0; start < PEOPLE; start += PER_BATCH_CALL) {
        const operations: PersonOperation[] = Array.from({ length: PER_BATCH_CALL }, (_, k) => {
          const i = start + k;
          return { op: "identify", who: { kind: "id", value: `p${String(i).padStart(5, "0")}` }, attributes: { plan: i % 2 === 0 ? "crash" : "other", n: i } };
        });
        assert.ok((await people.apply(workspaceId, operations)).every((r) => r.ok));
      }
      const created = await appApi(first.url!, appKey).call("POST", "/exports/customers", { filters: { and: [{ attribute: { field: "plan", operator: "eq", value: "crash" } }] } });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const id = (created.body.export as { id: number }).id;
      // Watched in the database itself, so the kill lands right after a batch committed.
      const progress = async () => (await sql<{ state: string; total: number }>`select state, total from exports where id = ${id}`.execute(store.db)).rows[0]!;
      const atKill = await until("part of the export written", async () => {
        const p = await progress();
        assert.notEqual(p.state, "done", "the export finished before the kill; make it larger");
        return Number(p.total) > 0 ? p : false;
      }, 60_000);
      first.child.kill("SIGKILL");
      await first.exited;
      const partial = await progress();
      assert.equal(partial.state, "running");
      assert.ok(Number(partial.total) >= Number(atKill.total) && Number(partial.total) < MATCHING, `killed mid-way (${partial.total} of ${MATCHING})`);

      const second = await spawnServer(env);
      servers.push(second);
      const api = appApi(second.url!, appKey);
      const done = await until("the export finished after the restart", async () => {
        const e = (await api.call("GET", `/exports/${id}`)).body.export as { status: string; total: number };
        return e.status === "done" || e.status === "failed" ? e : false;
      }, 90_000);
      assert.equal(done.status, "done");
      assert.equal(done.total, MATCHING);
      const { url } = (await api.call("GET", `/exports/${id}/download`)).body as { url: string };
      const text = await (await fetch(url)).text();
      const lines = text.split("\r\n").filter((l) => l !== "");
      assert.equal(lines[0], "id,email,cio_id,created_at,n,plan");
      const ids = lines.slice(1).map((l) => l.split(",")[0]!);
      assert.equal(ids.length, MATCHING, "no row lost or doubled");
      assert.equal(new Set(ids).size, MATCHING, "no row twice");
      const expected = Array.from({ length: MATCHING }, (_, k) => `p${String(k * 2).padStart(5, "0")}`);
      assert.deepEqual([...ids].sort(), expected);
      const seqs = (await sql<{ seq: number }>`select seq from export_chunks where export_id = ${id} order by seq`.execute(store.db)).rows.map((r) => Number(r.seq));
      assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, k) => k), "chunks numbered without a gap");
      const gate = (await sql<{ building: number }>`select building from export_gates`.execute(store.db)).rows;
      assert.deepEqual(gate.map((g) => Number(g.building)), [0], "the building place was given back once");
      second.child.kill("SIGTERM");
      await second.exited;
      servers = [];
    } finally {
      for (const s of servers) s.child.kill("SIGKILL");
      await store.close();
      await db.drop();
      dir.remove();
    }
  });
}
