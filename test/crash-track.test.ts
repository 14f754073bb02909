// Nothing acknowledged is lost from the Track API: the real CLI takes events over 32 connections
// (v1 single events and v2 batches), is killed with SIGKILL midway, and is restarted; every event
// that got a 200 is in the event store, exactly once, and sending them all again after the restart
// adds nothing (their ids de-duplicate). The CLI also serves HTTPS: the certificate it generated on
// its first start is the one it serves after the restart, and customerio-node reaches it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TrackClient } from "customerio-node";
import { MAIN_JS, spawnServer, tempDir, type ChildServer } from "./support/server.js";
import { openStore } from "../src/store/store.js";

const CONNECTIONS = 32;

function cli(env: Record<string, string>, ...args: string[]): string {
  return execFileSync(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", ...env } }).toString();
}

/** The HTTPS listener's URL and certificate fingerprint, as `posthorn start` prints them. */
function httpsOf(server: ChildServer): { port: number; fingerprint: string } {
  const match = /HTTPS:\s+https:\/\/[^:\s]+:(\d+).*SHA-256 (\S+)\)/.exec(server.output());
  assert.ok(match, `no HTTPS line in:\n${server.output()}`);
  return { port: Number(match[1]), fingerprint: match[2]! };
}

interface Sent {
  /** Event ids answered 200. */
  acknowledged: string[];
}

function sender(url: string, auth: string, connection: number, sent: Sent, stop: { now: boolean }): Promise<void> {
  return (async () => {
    for (let n = 0; !stop.now; n++) {
      // Every fourth request is a v2 batch of 10 events, the rest single v1 events.
      const batch = n % 4 === 3;
      const ids = batch ? Array.from({ length: 10 }, (_, i) => `c${connection}-${n}-${i}`) : [`c${connection}-${n}`];
      const request = batch
        ? { path: "/api/v2/batch", body: { batch: ids.map((id) => ({ type: "person", identifiers: { id: `user-${connection}` }, action: "event", name: "crash_event", id, attributes: { id } })) } }
        : { path: `/api/v1/customers/user-${connection}/events`, body: { name: "crash_event", id: ids[0], data: { id: ids[0] } } };
      try {
        const response = await fetch(url + request.path, { method: "POST", headers: { "content-type": "application/json", authorization: auth }, body: JSON.stringify(request.body) });
        if (response.status !== 200) throw new Error(`status ${response.status}: ${await response.text()}`);
        sent.acknowledged.push(...ids);
      } catch (err) {
        if (stop.now) return; // the server died under this request: never answered, never acknowledged
        throw err;
      }
    }
  })();
}

test("kill -9 during Track API ingest, then restart: every event answered 200 is stored, once", { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const env = { POSTHORN_DATA_DIR: dir.path, POSTHORN_HTTP_PORT: "0", POSTHORN_HOSTNAME: "crash.test", POSTHORN_ROLES: "api", POSTHORN_TRACK_HTTPS_PORT: "0" };
  try {
    cli(env, "migrate");
    cli(env, "workspace", "create", "crash");
    const creds = JSON.parse(cli(env, "token", "create", "--track", "--workspace", "crash", "--json")) as { siteId: string; apiKey: string };
    const auth = `Basic ${Buffer.from(`${creds.siteId}:${creds.apiKey}`).toString("base64")}`;

    const first = await spawnServer(env);
    const sent: Sent = { acknowledged: [] };
    const stop = { now: false };
    const senders = Array.from({ length: CONNECTIONS }, (_, c) => sender(first.url!, auth, c, sent, stop));
    const until = Date.now() + 20_000;
    while (sent.acknowledged.length < 2000 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    stop.now = true;
    first.child.kill("SIGKILL");
    await Promise.all(senders);
    await first.exited;
    const acknowledged = [...sent.acknowledged];
    assert.ok(acknowledged.length >= 500, `only ${acknowledged.length} events were acknowledged before the kill`);

    const second = await spawnServer(env);
    try {
      assert.equal(httpsOf(second).fingerprint, httpsOf(first).fingerprint, "the generated certificate is kept across restarts");
      const cio = new TrackClient(creds.siteId, creds.apiKey, { url: "https://127.0.0.1/api/v1", port: httpsOf(second).port, ca: readFileSync(join(dir.path, "track-tls", "cert.pem")) });
      await cio.track("after-restart", { name: "crash_event", id: "after-restart-1" });
      // Everything acknowledged, sent again: each id is a duplicate now and must not be stored twice.
      for (let i = 0; i < acknowledged.length; i += 100) {
        const slice = acknowledged.slice(i, i + 100);
        const response = await fetch(`${second.url}/api/v2/batch`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: auth },
          body: JSON.stringify({ batch: slice.map((id) => ({ type: "person", identifiers: { id: `user-${id.split("-")[0]!.slice(1)}` }, action: "event", name: "crash_event", id, attributes: { id } })) }),
        });
        assert.equal(response.status, 200);
      }
    } finally {
      second.child.kill("SIGTERM");
      assert.equal(await second.exited, 0, "SIGTERM should drain and exit cleanly");
    }

    const store = openStore({ dataDir: dir.path, databaseUrl: null });
    try {
      const rows = await store.db.selectFrom("person_events").select("dedupe_key").where("name", "=", "crash_event").execute();
      const counts = new Map<string, number>();
      for (const row of rows) counts.set(row.dedupe_key!, (counts.get(row.dedupe_key!) ?? 0) + 1);
      assert.equal(counts.get("after-restart-1"), 1, "the event sent over HTTPS after the restart is stored");
      const missing = acknowledged.filter((id) => !counts.has(id));
      assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${acknowledged.length} acknowledged events are missing`);
      const twice = [...counts.entries()].filter(([, n]) => n > 1);
      assert.deepEqual(twice, [], "an event id is stored more than once");
    } finally {
      await store.close();
    }
  } finally {
    dir.remove();
  }
});
