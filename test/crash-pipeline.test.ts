// A 200 from the pipeline API means the events are on disk: batches are posted over many
// connections to the real CLI, the process is killed with kill -9 in the middle, and after a
// restart every event of every acknowledged batch is in the store (events of batches that got no
// answer may or may not be: the sender retries those, and messageId de-duplication absorbs it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { MAIN_JS, spawnServer, tempDir } from "./support/server.js";
import { openStore } from "../src/store/store.js";

function cli(env: Record<string, string>, ...args: string[]): string {
  return execFileSync(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", ...env } }).toString().trim();
}

const CONNECTIONS = 8;
const BATCH = 50;

test("every event of a batch answered 200 survives a kill -9", { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const env = { POSTHORN_DATA_DIR: dir.path, POSTHORN_HTTP_PORT: "0", POSTHORN_HOSTNAME: "crash.test", POSTHORN_ROLES: "api" };
  try {
    cli(env, "migrate");
    cli(env, "workspace", "create", "shop");
    const { writeKey } = JSON.parse(cli(env, "token", "create", "--track", "--workspace", "shop", "--json")) as { writeKey: string };
    const authorization = `Basic ${Buffer.from(`${writeKey}:`).toString("base64")}`;

    const acknowledged: string[] = [];
    // Failures before the kill are collected, not thrown: the clients are awaited only after it.
    const problems: string[] = [];
    /**
     * One life of the server: batches posted over CONNECTIONS connections until a good number
     * are acknowledged, then kill -9 with more in flight. True when some batch was sent and never
     * answered. The server can have answered every batch in flight just before the kill (a busy
     * machine: the answers wait in the client's sockets); such a life proves nothing about a kill
     * in the middle, and another is lived on the same data.
     */
    const life = async (n: number): Promise<boolean> => {
      const server = await spawnServer(env);
      let sent = 0;
      const answeredBefore = acknowledged.length;
      let killed = false;
      const client = async (c: number): Promise<void> => {
        for (let b = 0; !killed; b++) {
          const ids = Array.from({ length: BATCH }, (_, i) => `l${n}-c${c}-b${b}-e${i}`);
          const batch = ids.map((id, i) => ({ type: "track", userId: `person-${(c * 7 + i) % 40}`, event: "Crash Test", messageId: id, properties: { i } }));
          sent += BATCH;
          try {
            const res = await fetch(`${server.url}/v1/batch`, { method: "POST", headers: { authorization, "content-type": "application/json" }, body: JSON.stringify({ batch }) });
            if (res.status === 200) acknowledged.push(...ids);
            else problems.push(`a batch was answered ${res.status}: ${await res.text()}`);
          } catch (err) {
            if (!killed) problems.push(String(err));
          }
          if (problems.length > 0) return;
        }
      };
      const clients = Array.from({ length: CONNECTIONS }, (_, c) => client(c));
      // Kill once a good number of batches have been acknowledged, with more in flight.
      while (acknowledged.length - answeredBefore < 40 * BATCH && problems.length === 0) await new Promise((r) => setTimeout(r, 20));
      killed = true;
      server.child.kill("SIGKILL");
      await server.exited;
      await Promise.all(clients);
      return sent > acknowledged.length - answeredBefore;
    };
    let inFlight = false;
    for (let n = 0; n < 3 && !inFlight && problems.length === 0; n++) inFlight = await life(n);
    assert.deepEqual(problems, []);
    assert.ok(inFlight, "in three lives, no kill came with a request still in flight");

    // Another life: the server starts on what the last left, and stops cleanly.
    const second = await spawnServer(env);
    second.child.kill("SIGTERM");
    await second.exited;

    const store = openStore({ dataDir: dir.path, databaseUrl: null });
    try {
      const stored = new Set<string>();
      const rows = await store.db.selectFrom("person_events").select("dedupe_key").where("name", "=", "Crash Test").execute();
      for (const row of rows) if (row.dedupe_key) stored.add(row.dedupe_key);
      const lost = acknowledged.filter((id) => !stored.has(id));
      assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged events are missing`);
      assert.equal(rows.length, stored.size, "no event is stored twice");
    } finally {
      await store.close();
    }
  } finally {
    dir.remove();
  }
});
