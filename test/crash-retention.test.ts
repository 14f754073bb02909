// Retention survives kill -9 mid-pass: a worker process removing bodies and events in small
// batches is killed while it works; every message is then whole (its body kept with its bounce
// dump, or both gone with body_removed_at set: never half), the bodies mark is behind no kept
// body, and the restarted process takes the dead one's lease at once (SQLite: one process) and
// finishes from the mark. The hand-over between live workers is proven in
// src/retention/retention.worker.test.ts on both stores.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import Database from "better-sqlite3";
import { MAIN_JS, spawnServer, tempDir } from "./support/server.js";
import { eventually } from "./support/eventually.js";
import { openStore } from "../src/store/store.js";
import { databaseFile } from "../src/store/data-dir.js";
import { newMessageId } from "../src/shared/ids.js";

const DAY_MS = 86_400_000;
const MESSAGES = 10_000;
const EVENTS = 2_000;

function cli(env: Record<string, string>, ...args: string[]): string {
  return execFileSync(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", ...env } }).toString().trim();
}

test("a retention pass killed with kill -9 leaves every message whole, and the restarted process finishes it", { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const env = { POSTHORN_DATA_DIR: dir.path, POSTHORN_HOSTNAME: "crash.test", POSTHORN_ROLES: "worker", POSTHORN_RETENTION_INTERVAL: "1s", POSTHORN_RETENTION_BATCH: "100", POSTHORN_RETENTION_PAUSE: "20ms" };
  try {
    cli(env, "migrate");
    cli(env, "workspace", "create", "acme");
    const store = openStore({ dataDir: dir.path, databaseUrl: null });
    const at = Date.now() - 60 * DAY_MS;
    const workspaceId = (await store.db.selectFrom("workspaces").select("id").where("name", "=", "acme").executeTakeFirstOrThrow()).id;
    const mime = Buffer.from(`Subject: old\r\n\r\n${"old body text ".repeat(70)}\r\n`);
    for (let i = 0; i < MESSAGES; i += 1_000) {
      // A millisecond each, as acceptance spreads them (the search index keys 1,024 messages per millisecond).
      const ids = Array.from({ length: 1_000 }, (_, j) => newMessageId(at + i + j));
      await store.write(async (trx) => {
        for (let j = 0; j < ids.length; j += 200) {
          const chunk = ids.slice(j, j + 200);
          await trx.insertInto("messages").values(chunk.map((id, k) => ({ id, workspace_id: workspaceId, stream: "outbound", envelope_from: "a@acme.test", from_json: '{"address":"a@acme.test","name":""}', to_json: '[{"address":"b@example.test","name":""}]', cc_json: "[]", bcc_json: "[]", subject: "old", tag: null, metadata_json: "{}", track_opens: 0, track_links: "none", attachments_json: "[]", text_body: "old body", html_body: null, mime, sandboxed: 0, state: "finished" as const, created_at: at + i + j + k }))).execute();
          await trx.insertInto("bounce_reports").values(chunk.map((id) => ({ workspace_id: workspaceId, message_id: id, email_key: "b@example.test", raw: "report", received_at: at }))).execute();
        }
      });
    }
    await store.write(async (trx) => {
      for (let i = 0; i < EVENTS; i += 500) {
        await trx.insertInto("events").values(Array.from({ length: 500 }, () => ({ type: "suppression.added", workspace_id: workspaceId, message_id: null, recipient: "b@example.test", data_json: '{"stream":"outbound","reason":"HardBounce","origin":"Recipient"}', created_at: at - 40 * DAY_MS }))).execute();
      }
    });
    await store.close();

    const reader = new Database(databaseFile(dir.path), { readonly: true });
    const removed = () => (reader.prepare("select count(*) as n from messages where body_removed_at is not null").get() as { n: number }).n;
    try {
      const first = await spawnServer(env);
      await eventually(async () => removed() >= 1_500, 30_000);
      first.child.kill("SIGKILL");
      await first.exited;

      const gone = removed();
      assert.ok(gone < MESSAGES, `killed before the end (${gone} removed)`);
      const half = reader.prepare("select count(*) as n from messages where (body_removed_at is null) <> (length(mime) > 0 and text_body is not null)").get() as { n: number };
      assert.equal(half.n, 0, "no message is half removed");
      const dumps = reader.prepare("select count(*) as n from bounce_reports r join messages m on m.id = r.message_id where m.body_removed_at is not null").get() as { n: number };
      assert.equal(dumps.n, 0, "a removed body's dump went with it");
      assert.equal((reader.prepare("select count(*) as n from bounce_reports").get() as { n: number }).n, MESSAGES - gone);
      const mark = (reader.prepare("select bodies_after from retention_progress").get() as { bodies_after: string }).bodies_after;
      const keptBehind = reader.prepare("select count(*) as n from messages where id <= ? and body_removed_at is null").get(mark) as { n: number };
      assert.equal(keptBehind.n, 0, "the mark is behind no kept body");

      const second = await spawnServer(env);
      try {
        await eventually(async () => removed() === MESSAGES, 60_000);
        await eventually(async () => (reader.prepare("select count(*) as n from events").get() as { n: number }).n === 0, 30_000);
        assert.equal((reader.prepare("select count(*) as n from bounce_reports").get() as { n: number }).n, 0);
      } finally {
        second.child.kill("SIGTERM");
        await second.exited;
      }
    } finally {
      reader.close();
    }
  } finally {
    dir.remove();
  }
});
