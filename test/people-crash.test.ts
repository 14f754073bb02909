// Nothing acknowledged is lost: a process ingesting events through the people service from 32
// concurrent callers is killed with SIGKILL; every event whose apply() had resolved is stored
// after the database is opened again (the group commit answers only after its fsync).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { openStore } from "../src/store/store.js";
import { WorkspacesService } from "../src/workspaces/workspaces.service.js";
import { systemClock } from "../src/shared/clock.js";
import { tempDir } from "./support/server.js";
import { toEvents } from "../src/events/events.repository.js";
import { isEvent } from "../src/events/event-map.js";

const CHILD_JS = resolve(import.meta.dirname, "support/people-ingest.child.js");

test("kill -9 during ingest loses no acknowledged event", { timeout: 60_000 }, async () => {
  const dir = tempDir("posthorn-people-crash-");
  try {
    const setup = openStore({ dataDir: dir.path, databaseUrl: null });
    await setup.migrate();
    const workspaceId = (await new WorkspacesService({ store: setup, clock: systemClock }).create("crash", { sandbox: true })).workspace.id;
    await setup.close();

    const child = spawn(process.execPath, [CHILD_JS, dir.path, workspaceId], { stdio: ["ignore", "pipe", "inherit"] });
    const acknowledged = new Set<string>();
    let buffered = "";
    let ready = false;
    const enough = new Promise<void>((done, fail) => {
      child.on("exit", (code) => fail(new Error(`the child exited early (${code})`)));
      child.stdout.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split("\n");
        buffered = lines.pop()!;
        for (const line of lines) {
          if (line === "ready") ready = true;
          else if (line) acknowledged.add(line);
        }
        if (acknowledged.size >= 3_000) done();
      });
    });
    await enough;
    assert.ok(ready);
    child.removeAllListeners("exit");
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    // A line cut short by the kill was never a whole acknowledgement: drop nothing, count only whole lines.
    const store = openStore({ dataDir: dir.path, databaseUrl: null });
    try {
      const rows = await store.db.selectFrom("person_events").select(["id", "dedupe_key"]).where("workspace_id", "=", workspaceId).execute();
      const stored = new Set(rows.map((r) => r.dedupe_key));
      const lost = [...acknowledged].filter((k) => !stored.has(k));
      assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${acknowledged.size} acknowledged events are missing`);
      // Each stored event has its outbox event, written in the same transaction (a request's share one row).
      const outbox = (await store.db.selectFrom("events").selectAll().where("type", "=", "person.event").where("workspace_id", "=", workspaceId).execute()).flatMap(toEvents);
      const named = outbox.map((e) => (isEvent(e, "person.event") ? e.data.eventRowId : -1));
      assert.deepEqual(named.sort((a, b) => a - b), rows.map((r) => Number(r.id)).sort((a, b) => a - b));
      assert.equal(new Set(outbox.map((e) => e.id)).size, outbox.length, "each outbox event has an id of its own");
      assert.ok(rows.length >= acknowledged.size);
    } finally {
      await store.close();
    }
  } finally {
    dir.remove();
  }
});
