// An export built by one process is downloadable through another, on SQLite (one data directory)
// and PostgreSQL: a worker-only process (POSTHORN_ROLES=worker) builds it, an api-only process
// (POSTHORN_ROLES=api) records it, answers its status and serves its file through the signed link,
// because the file lives in the database, not on the builder's disk.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { MAIN_JS, spawnServer, tempDir } from "./support/server.js";
import { appApi, until } from "./support/segments.js";
import { serverDatabases } from "./support/stores.js";
import { openStore } from "../src/store/store.js";
import { WorkspacesService } from "../src/workspaces/workspaces.service.js";
import { peopleServiceFor } from "../src/people/testing/people-service.js";
import { systemClock } from "../src/shared/clock.js";

for (const database of serverDatabases()) {
  test(`[${database.name}] a file built by a worker-only process downloads through an api-only process`, { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const db = await database.open();
    const env = { POSTHORN_DATA_DIR: dir.path, POSTHORN_HTTP_PORT: "0", ...db.env };
    const cli = (...args: string[]) => execFileSync(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "silent", ...env } }).toString();
    const servers: Array<Awaited<ReturnType<typeof spawnServer>>> = [];
    try {
      cli("migrate");
      cli("workspace", "create", "split");
      const appKey = cli("token", "create", "--app", "--workspace", "split").trim();
      const store = openStore({ dataDir: dir.path, databaseUrl: db.env.DATABASE_URL ?? null });
      try {
        const workspaceId = (await new WorkspacesService({ store, clock: systemClock }).get("split")).id;
        const results = await peopleServiceFor(store, systemClock).apply(workspaceId, ["a", "b", "c"].map((n) => ({ op: "identify", who: { kind: "id", value: `s-${n}` }, attributes: { team: "blue" } })));
        assert.ok(results.every((r) => r.ok));
      } finally {
        await store.close();
      }
      const api = await spawnServer({ ...env, POSTHORN_ROLES: "api" });
      servers.push(api);
      const worker = await spawnServer({ ...env, POSTHORN_ROLES: "worker" });
      servers.push(worker);
      const app = appApi(api.url!, appKey);
      const created = await app.call("POST", "/exports/customers", { filters: { and: [{ attribute: { field: "team", operator: "eq", value: "blue" } }] } });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const id = (created.body.export as { id: number }).id;
      await until("the worker process built it", async () => ((await app.call("GET", `/exports/${id}`)).body.export as { status: string }).status === "done", 30_000);
      const { url } = (await app.call("GET", `/exports/${id}/download`)).body as { url: string };
      assert.ok(url.startsWith(api.url!), url);
      const file = await fetch(url);
      assert.equal(file.status, 200);
      const ids = (await file.text()).split("\r\n").slice(1, -1).map((l) => l.split(",")[0]);
      assert.deepEqual(ids.sort(), ["s-a", "s-b", "s-c"]);
    } finally {
      for (const s of servers) s.child.kill("SIGKILL");
      await Promise.all(servers.map((s) => s.exited));
      await db.drop();
      dir.remove();
    }
  });
}
