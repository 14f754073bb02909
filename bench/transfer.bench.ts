// `node dist/bench/transfer.bench.js`: how long `posthorn export` and `posthorn import` take to move
// an installation SQLite → PostgreSQL → SQLite (docs/operations.md, "Moving to PostgreSQL").
//
// Seeds a SQLite installation directly (the API would take far longer): BENCH_TRANSFER_MESSAGES
// messages (default 100,000) in one workspace, each with a 3 KB MIME body, one delivery (delivered)
// and two events (message.accepted, delivery.delivered). Then runs the real CLI, one step at a
// time, and prints each step's wall time, the file's size and the rows moved.
//
// Environment: BENCH_TRANSFER_MESSAGES, BENCH_TRANSFER_DATABASE_URL (a PostgreSQL server where a
// fresh database is made and dropped; default postgres://postgres@127.0.0.1:5432/postgres).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import pg from "pg";
import { databaseFile } from "../src/store/data-dir.js";
import { MAIN_JS } from "../test/support/server.js";

const MESSAGES = Number(process.env.BENCH_TRANSFER_MESSAGES ?? 100_000);
const SERVER = process.env.BENCH_TRANSFER_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const KEY = "42".repeat(32);
const MIME = Buffer.from(`From: Shop <shop@bench.test>\r\nTo: someone@example.test\r\nSubject: Your order\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n${"Thanks for your order. ".repeat(140)}\r\n`);

function posthorn(env: Record<string, string>, args: string[]): { seconds: number; stdout: string } {
  const began = Date.now();
  const stdout = execFileSync(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", POSTHORN_ENCRYPTION_KEY: KEY, ...env }, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return { seconds: (Date.now() - began) / 1000, stdout };
}

function seed(dataDir: string): void {
  posthorn({ POSTHORN_DATA_DIR: dataDir }, ["workspace", "create", "big"]);
  const db = new SQLite(databaseFile(dataDir));
  db.pragma("synchronous = OFF");
  const workspace = (db.prepare("select id from workspaces where name = 'big'").get() as { id: string }).id;
  const message = db.prepare(
    `insert into messages (id, workspace_id, stream, envelope_from, from_json, to_json, cc_json, bcc_json, subject, tag, metadata_json, track_opens, track_links, attachments_json, text_body, html_body, mime, sandboxed, state, created_at)
     values (?, ?, 'outbound', 'shop@bench.test', '{"address":"shop@bench.test","name":"Shop"}', ?, '[]', '[]', ?, 'receipt', '{}', 0, 'none', '[]', null, null, ?, 0, 'finished', ?)`,
  );
  const delivery = db.prepare(`insert into deliveries (message_id, workspace_id, recipient, domain, stream, state, attempts, next_attempt_at, lease_owner, last_reply, created_at, updated_at) values (?, ?, ?, 'example.test', 'outbound', 'delivered', 1, ?, null, '250 2.0.0 Ok', ?, ?)`);
  const event = db.prepare(`insert into events (type, workspace_id, message_id, recipient, data_json, created_at) values (?, ?, ?, ?, ?, ?)`);
  const start = Date.now() - MESSAGES * 1000;
  db.exec("begin");
  for (let n = 0; n < MESSAGES; n++) {
    const at = start + n * 1000;
    const id = `${at.toString(16).padStart(12, "0").slice(0, 8)}-${at.toString(16).padStart(12, "0").slice(8)}-7000-8000-${n.toString(16).padStart(12, "0")}`;
    const to = `user${n}@example.test`;
    message.run(id, workspace, JSON.stringify([{ address: to, name: "" }]), `Your receipt #${n}`, MIME, at);
    delivery.run(id, workspace, to, at, at, at);
    event.run("message.accepted", workspace, id, null, JSON.stringify({ stream: "outbound", recipients: [to] }), at);
    event.run("delivery.delivered", workspace, id, to, JSON.stringify({ reply: "250 2.0.0 Ok", attempt: 1 }), at + 500);
  }
  db.exec("commit");
  db.close();
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "posthorn-transfer-bench-"));
  const name = `posthorn_transfer_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  try {
    const first = join(dir, "first");
    posthorn({ POSTHORN_DATA_DIR: first }, ["migrate"]);
    seed(first);
    const size = statSync(databaseFile(first)).size;
    process.stdout.write(`seeded ${MESSAGES.toLocaleString("en-US")} messages (SQLite file ${(size / 1e6).toFixed(0)} MB)\n`);
    const steps: Array<[string, Record<string, string>, string[]]> = [
      ["export from SQLite", { POSTHORN_DATA_DIR: first }, ["export", join(dir, "a.ndjson.gz")]],
      ["import into PostgreSQL", { POSTHORN_DATA_DIR: join(dir, "pg"), DATABASE_URL: url.toString() }, ["import", join(dir, "a.ndjson.gz")]],
      ["export from PostgreSQL", { POSTHORN_DATA_DIR: join(dir, "pg"), DATABASE_URL: url.toString() }, ["export", join(dir, "b.ndjson.gz")]],
      ["import into SQLite", { POSTHORN_DATA_DIR: join(dir, "last") }, ["import", join(dir, "b.ndjson.gz")]],
    ];
    for (const [label, env, args] of steps) {
      const { seconds, stdout } = posthorn(env, args);
      const rows = /(\d+) rows of (\d+) tables/.exec(stdout);
      const file = args[0] === "export" ? `, file ${(statSync(args[1]!).size / 1e6).toFixed(0)} MB` : "";
      process.stdout.write(`${label}: ${seconds.toFixed(1)} s (${rows?.[1]} rows${file}, ${Math.round(Number(rows?.[1]) / seconds).toLocaleString("en-US")} rows/s)\n`);
    }
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
