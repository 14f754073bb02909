// `npm run bench:activity`: the dashboard's activity list over a workspace holding 10 million
// messages (issue 13: every page kind under 200 ms, on SQLite and PostgreSQL).
//
// Seeds the store directly (not through the API: that would take hours), in large transactions
// with the list's indexes dropped and made again after, as a restore would; then starts the
// compiled server on it (roles=api), signs in as a dashboard user and times each page kind over
// real HTTP, one call at a time.
//
// What is seeded (deterministic, seeded generator), all in one workspace "big":
//   - acceptance times spread evenly over the last 365 days, ids time-ordered as real ones are;
//   - a recipient from a pool of 1,000,000 addresses (so one address has ~10 messages), 5% of
//     messages with a second (Cc) recipient;
//   - stream outbound 80%, broadcast 20%; a tag from 50 (skewed: the first few are common) or
//     none for 1 in 6; a subject from 12 patterns, most with an order number;
//   - each delivery: delivered 93.5%, bounced 3%, suppressed 2%, expired 0.2%, deferred 0.5%,
//     queued 0.8%; a last reply for attempted ones; a 300-byte MIME per message.
//
// Environment:
//   BENCH_ACTIVITY_MESSAGES=10000000   messages to seed
//   BENCH_ACTIVITY_CALLS=50            calls timed per page kind (after 5 to warm up)
//   BENCH_ACTIVITY_DATABASE_URL=postgres://…  seed and run on PostgreSQL (a fresh database on that server)
//   BENCH_ACTIVITY_SEED_ONLY=1         seed and index, time nothing (with BENCH_ACTIVITY_DIR)
//   BENCH_ACTIVITY_CAVEAT="…"          what else the machine was doing, written beside the figures
//   POSTHORN_DATABASE_NAMED_STATEMENTS=false  passed on to the server (PostgreSQL: statements unnamed)
//   BENCH_ACTIVITY_DIR=/path           keep the data here, reused when present: SQLite's data
//                                      directory; on PostgreSQL the seeded database is kept (not
//                                      dropped) and named in this folder's bench-activity.json, so
//                                      that a later run on a quiet machine times pages without seeding
//
// The search index (migration 038) is filled by the seed too, a document per message made by the
// indexer's own documentOf, and built in one go after (FTS5's 'rebuild'; PostgreSQL's CREATE
// INDEX), as a restore would: the worker's backfill, at its rate, would take hours at 10 million.
// That rate is timed on the full index instead: the newest 100,000 messages' entries are removed
// and made again by the backfill's code, then by the live indexer's batches (messages by id,
// 1,000 a batch, as the outbox consumer takes them).
//
// Prints one line per page kind (median and p99 in ms) and writes its record into docs/benchmarks.md.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { randomBytes } from "node:crypto";
import SQLite from "better-sqlite3";
import pg from "pg";
import { openStore } from "../src/store/store.js";
import { databaseFile } from "../src/store/data-dir.js";
import { systemClock } from "../src/shared/clock.js";
import { WorkspacesService } from "../src/workspaces/workspaces.service.js";
import { MAIN_JS, spawnServer } from "../test/support/server.js";
import { createTempDatabase } from "../test/support/stores.js";
import { installCleanupHandlers, removeDir, tempDir, track } from "./support/children.js";
import { percentile } from "./support/stats.js";
import { describeMachine } from "./support/machine.js";
import { readRecords, updateReport } from "./support/report.js";
import { rng } from "./support/seeded-random.js";
import { SearchIndexRepository, SLOTS, documentOf, slotOf, type SourceRow } from "../src/messages/activity/search-index.repository.js";
import { workspaceToken } from "../src/messages/activity/search-words.js";
import { BACKFILL_BATCH } from "../src/messages/activity/search-indexer.js";
import { sql } from "../src/store/kysely.js";

const MESSAGES = Number(process.env.BENCH_ACTIVITY_MESSAGES ?? 10_000_000);
const CALLS = Number(process.env.BENCH_ACTIVITY_CALLS ?? 50);
const WARMUP = 5;
const PG_URL = process.env.BENCH_ACTIVITY_DATABASE_URL ?? null;
const TARGET_MS = 200;
const DAY_MS = 86_400_000;
const SPAN_MS = 365 * DAY_MS;
const ADDRESSES = 1_000_000;
const TAGS = Array.from({ length: 50 }, (_, i) => `tag-${i}`);
const SUBJECTS = ["Your receipt #", "Order # shipped", "Order # delivered", "Invoice # is ready", "Password reset", "Welcome to Shop", "Your weekly digest", "Refund for order #", "Confirm your address", "Your cart misses you", "Sale: 20% off", "Review order #"];
const STATES: Array<[state: string, share: number]> = [["delivered", 0.935], ["bounced", 0.03], ["suppressed", 0.02], ["expired", 0.002], ["deferred", 0.005], ["queued", 0.008]];
const REPORT = resolve(import.meta.dirname, "../../docs/benchmarks.md");
const PASSWORD = "bench password for the dashboard";
const BATCH = 20_000;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

const address = (k: number) => `user${k}@example${k % 97}.test`;
const MIME = Buffer.from("From: Shop <shop@bench.test>\r\nTo: someone@example.test\r\nSubject: Your order\r\nMessage-ID: <x@bench.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nThanks for your order. It is on its way and should arrive within three to five days.\r\n".padEnd(300, " "));

interface MessageSeed {
  id: string;
  stream: string;
  toJson: string;
  ccJson: string;
  subject: string;
  tag: string | null;
  state: string;
  at: number;
  deliveries: Array<{ recipient: string; domain: string; state: string; reply: string | null }>;
}

/** The n-th message of the seed (n from 0, oldest first). */
function messageSeeds(start: number): (n: number, random: () => number) => MessageSeed {
  return (n, random) => {
    const at = start + Math.floor((n * SPAN_MS) / MESSAGES);
    const hex = at.toString(16).padStart(12, "0");
    const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${n.toString(16).padStart(3, "0").slice(-3)}-8000-${n.toString(16).padStart(12, "0")}`;
    const recipients = [address(Math.floor(random() * ADDRESSES))];
    if (random() < 0.05) recipients.push(address(Math.floor(random() * ADDRESSES)));
    const tag = random() < 1 / 6 ? null : TAGS[Math.floor(TAGS.length * random() * random())]!;
    const subject = SUBJECTS[Math.floor(random() * SUBJECTS.length)]!.replace("#", `#${100_000 + n}`);
    const deliveries = recipients.map((recipient) => {
      let r = random();
      let state = "delivered";
      for (const [s, share] of STATES) {
        if (r < share) {
          state = s;
          break;
        }
        r -= share;
      }
      const reply = state === "delivered" ? "250 2.0.0 Ok: queued" : state === "bounced" ? "550 5.1.1 User unknown" : state === "deferred" ? "451 4.7.1 Try again later" : null;
      return { recipient, domain: recipient.slice(recipient.indexOf("@") + 1), state, reply };
    });
    const waiting = deliveries.some((d) => d.state === "queued" || d.state === "deferred");
    return {
      id,
      stream: random() < 0.8 ? "outbound" : "broadcast",
      toJson: JSON.stringify([{ address: recipients[0], name: "" }]),
      ccJson: JSON.stringify(recipients.slice(1).map((a) => ({ address: a, name: "" }))),
      subject,
      tag,
      state: waiting ? "queued" : "finished",
      at,
      deliveries,
    };
  };
}

/** The search table's indexes on PostgreSQL (migration 038), dropped while seeding and built after. */
const SEARCH_INDEXES = ["message_search_doc", "message_search_list"];

/** A seeded message as the search indexer reads it from the messages table. */
function sourceOf(m: MessageSeed, workspaceId: string): SourceRow {
  return { id: m.id, workspace_id: workspaceId, created_at: m.at, subject: m.subject, to_json: m.toJson, cc_json: m.ccJson, bcc_json: "[]" };
}

const LIST_INDEXES = ["messages_activity", "messages_activity_tag", "messages_activity_stream", "deliveries_activity_recipient", "deliveries_activity_outcome", "deliveries_message", "deliveries_workspace_recipient", "deliveries_due", "deliveries_due_by_workspace"];

async function seedSqlite(dataDir: string, workspaceId: string, start: number): Promise<void> {
  const db = new SQLite(databaseFile(dataDir));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  db.pragma("cache_size = -400000");
  const indexes = db.prepare(`select name, sql from sqlite_master where type = 'index' and sql is not null and name in (${LIST_INDEXES.map(() => "?").join(",")})`).all(...LIST_INDEXES) as Array<{ name: string; sql: string }>;
  for (const i of indexes) db.exec(`drop index ${i.name}`);
  const insertMessage = db.prepare(
    `insert into messages (id, workspace_id, stream, envelope_from, from_json, to_json, cc_json, bcc_json, subject, tag, metadata_json, track_opens, track_links, attachments_json, text_body, html_body, mime, sandboxed, state, created_at)
     values (?, ?, ?, 'shop@bench.test', '{"address":"shop@bench.test","name":"Shop"}', ?, ?, '[]', ?, ?, '{}', 0, 'none', '[]', null, null, ?, 0, ?, ?)`,
  );
  const insertDelivery = db.prepare(
    `insert into deliveries (message_id, workspace_id, recipient, domain, stream, state, attempts, next_attempt_at, lease_owner, last_reply, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, null, ?, ?, ?)`,
  );
  // The search documents go in beside their messages, without the trigger that feeds FTS5 row by
  // row; the FTS5 index is then built in one go ('rebuild'), as after a restore. The seeded times
  // are seconds apart, so no two messages share a millisecond and each key is its first slot.
  const trigger = db.prepare(`select sql from sqlite_master where type = 'trigger' and name = 'message_search_docs_added'`).get() as { sql: string };
  db.exec("drop trigger message_search_docs_added");
  const insertDoc = db.prepare(`insert into message_search_docs (id, message_id, workspace_id, created_at, ws, body) values (?, ?, ?, ?, ?, ?)`);
  const seed = messageSeeds(start);
  const random = rng(20261206);
  const began = Date.now();
  for (let n = 0; n < MESSAGES; n += BATCH) {
    db.exec("begin");
    for (let k = n; k < Math.min(MESSAGES, n + BATCH); k++) {
      const m = seed(k, random);
      insertMessage.run(m.id, workspaceId, m.stream, m.toJson, m.ccJson, m.subject, m.tag, MIME, m.state, m.at);
      for (const d of m.deliveries) insertDelivery.run(m.id, workspaceId, d.recipient, d.domain, m.stream, d.state, d.reply ? 1 : 0, m.at, d.reply, m.at, m.at);
      const doc = documentOf(sourceOf(m, workspaceId));
      insertDoc.run(doc.at * SLOTS + slotOf(doc.messageId), doc.messageId, workspaceId, doc.at, workspaceToken(workspaceId), doc.body);
    }
    db.exec("commit");
    if ((n / BATCH) % 50 === 0) say(`  seeded ${n.toLocaleString("en-US")} messages (${((Date.now() - began) / 1000).toFixed(0)} s)`);
  }
  say(`  making ${indexes.length} indexes again`);
  for (const i of indexes) db.exec(i.sql);
  const fts = Date.now();
  db.exec("insert into message_search (message_search) values ('rebuild')");
  db.exec(trigger.sql);
  db.exec("update message_search_backfill set below = null, done = 1 where id = 1");
  say(`  built the search index in ${((Date.now() - fts) / 1000).toFixed(0)} s`);
  db.exec("analyze");
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
}

async function seedPostgres(url: string, workspaceId: string, start: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // The search documents go in beside their messages with the search table's indexes dropped too,
    // and are indexed in one go after (its tsvector column is generated as each row goes in).
    const indexes = (await client.query<{ indexname: string; indexdef: string }>(`select indexname, indexdef from pg_indexes where indexname = any($1)`, [[...LIST_INDEXES, ...SEARCH_INDEXES]])).rows;
    for (const i of indexes) await client.query(`drop index ${i.indexname}`);
    const seed = messageSeeds(start);
    const random = rng(20261206);
    const began = Date.now();
    for (let n = 0; n < MESSAGES; n += BATCH) {
      const m: MessageSeed[] = [];
      for (let k = n; k < Math.min(MESSAGES, n + BATCH); k++) m.push(seed(k, random));
      const d = m.flatMap((x) => x.deliveries.map((y) => ({ ...y, id: x.id, stream: x.stream, at: x.at })));
      await client.query("begin");
      await client.query(
        `insert into messages (id, workspace_id, stream, envelope_from, from_json, to_json, cc_json, bcc_json, subject, tag, metadata_json, track_opens, track_links, attachments_json, text_body, html_body, mime, sandboxed, state, created_at)
         select id, $1, stream, 'shop@bench.test', '{"address":"shop@bench.test","name":"Shop"}', to_json, cc_json, '[]', subject, tag, '{}', 0, 'none', '[]', null, null, $2, 0, state, created_at
         from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[]) as t(id, stream, to_json, cc_json, subject, tag, state, created_at)`,
        [workspaceId, MIME, m.map((x) => x.id), m.map((x) => x.stream), m.map((x) => x.toJson), m.map((x) => x.ccJson), m.map((x) => x.subject), m.map((x) => x.tag), m.map((x) => x.state), m.map((x) => x.at)],
      );
      await client.query(
        `insert into deliveries (message_id, workspace_id, recipient, domain, stream, state, attempts, next_attempt_at, lease_owner, last_reply, created_at, updated_at)
         select message_id, $1, recipient, domain, stream, state, case when last_reply is null then 0 else 1 end, created_at, null, last_reply, created_at, created_at
         from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[]) as t(message_id, recipient, domain, stream, state, last_reply, created_at)`,
        [workspaceId, d.map((x) => x.id), d.map((x) => x.recipient), d.map((x) => x.domain), d.map((x) => x.stream), d.map((x) => x.state), d.map((x) => x.reply), d.map((x) => x.at)],
      );
      const docs = m.map((x) => documentOf(sourceOf(x, workspaceId)));
      await client.query(
        `insert into message_search (message_id, workspace_id, created_at, body) select * from unnest($1::text[], $2::text[], $3::bigint[], $4::text[])`,
        [docs.map((x) => x.messageId), docs.map((x) => x.workspaceId), docs.map((x) => x.at), docs.map((x) => x.body)],
      );
      await client.query("commit");
      if ((n / BATCH) % 50 === 0) say(`  seeded ${n.toLocaleString("en-US")} messages (${((Date.now() - began) / 1000).toFixed(0)} s)`);
    }
    say(`  making ${indexes.length} indexes again`);
    await client.query("set maintenance_work_mem = '512MB'");
    for (const i of indexes) await client.query(i.indexdef);
    // What autovacuum does in time on a live database: statistics, and the visibility map that lets
    // the list's index-only scans skip the table.
    await client.query("vacuum analyze messages");
    await client.query("vacuum analyze deliveries");
    await client.query("vacuum analyze message_search");
    await client.query("update message_search_backfill set below = null, done = 1 where id = 1");
  } finally {
    await client.end();
  }
}

function cli(env: Record<string, string>, args: string[], stdin: string): Promise<void> {
  return new Promise((resolveDone, reject) => {
    const child = execFile(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" }, (err, _stdout, stderr) => (err ? reject(new Error(`${args.join(" ")}: ${stderr}`)) : resolveDone()));
    child.stdin!.end(stdin);
  });
}

/** A list position as the API's cursor ("<ms>.<id>" in base64url): "~" sorts after every id of that millisecond. */
const cursorAt = (at: number) => Buffer.from(`${at}.~`).toString("base64url");

interface PageKind {
  name: string;
  query: (random: () => number) => string;
}

function pageKinds(start: number, newest: string): PageKind[] {
  const someAt = (random: () => number) => start + Math.floor(random() * SPAN_MS);
  const day = (at: number) => new Date(at).toISOString().slice(0, 10);
  return [
    { name: "first page", query: () => "" },
    { name: "deep page (a random point in the year)", query: (r) => `before=${cursorAt(someAt(r))}` },
    { name: "tag (one of 50)", query: (r) => `tag=${TAGS[Math.floor(r() * TAGS.length)]}` },
    { name: "tag, deep", query: (r) => `tag=${TAGS[Math.floor(r() * TAGS.length)]}&before=${cursorAt(someAt(r))}` },
    { name: "stream=broadcast", query: () => "stream=broadcast" },
    { name: "state=bounced", query: () => "state=bounced" },
    { name: "state=expired (0.2%), deep", query: (r) => `state=expired&before=${cursorAt(someAt(r))}` },
    { name: "state=delivered, deep (walks the list)", query: (r) => `state=delivered&before=${cursorAt(someAt(r))}` },
    { name: "state=queued (0.8%, walks the list)", query: () => "state=queued" },
    { name: "recipient (~10 messages each)", query: (r) => `recipient=${encodeURIComponent(address(Math.floor(r() * ADDRESSES)))}` },
    { name: "a week (from/to)", query: (r) => { const at = someAt(r); return `from=${day(at)}&to=${day(at + 6 * DAY_MS)}`; } },
    { name: "search, common word (q=receipt, 1 in 12)", query: () => "q=receipt" },
    { name: "search, common word, deep", query: (r) => `q=order&before=${cursorAt(someAt(r))}` },
    { name: "search, rare term (one order number)", query: (r) => `q=%23${100_000 + Math.floor(r() * MESSAGES)}` },
    { name: "search, address fragment (@exampleN.test, 1 in 97)", query: (r) => `q=%40example${Math.floor(r() * 97)}.test` },
    { name: "search, one address (~10 messages)", query: (r) => `q=${encodeURIComponent(address(Math.floor(r() * ADDRESSES)))}` },
    { name: "search + tag", query: (r) => `q=order&tag=${TAGS[Math.floor(r() * 5)]}` },
    { name: "tag + state=bounced + stream", query: (r) => `tag=${TAGS[Math.floor(r() * 5)]}&state=bounced&stream=outbound` },
    { name: "poll for newer (after=newest)", query: () => `after=${newest}` },
  ];
}

interface Indexing {
  /** Messages this run's backfill indexed (fewer than seeded when an earlier run had begun). */
  indexed: number;
  backfillS: number;
  backfillPerS: number;
  livePerS: number;
}

/** Messages whose index entries are removed and made again by the backfill's and then the live indexer's code. */
const SAMPLE = 100_000;

/**
 * Times the worker's own indexing code (SearchIndexRepository) over the newest SAMPLE messages,
 * on an index that holds every other message (the seed filled it): their entries are removed,
 * then made again by the backfill (newest first, in its batches, stopped once past the sample),
 * and removed and made again by the live indexer's batches (1,000 messages by id).
 */
async function fillSearchIndex(dataDir: string, url: string | null): Promise<Indexing> {
  const store = openStore({ dataDir, databaseUrl: url });
  try {
    await store.migrate();
    const index = new SearchIndexRepository(store.dialect);
    const newestIds = (await store.db.selectFrom("messages").select("id").orderBy("id", "desc").limit(SAMPLE).execute()).map((r) => r.id).reverse();
    const table = store.dialect === "postgres" ? "message_search" : "message_search_docs";
    const unindex = async () => {
      for (let i = 0; i < newestIds.length; i += 1_000) {
        const ids = newestIds.slice(i, i + 1_000);
        await store.write((trx) => sql`delete from ${sql.table(table)} where message_id in (${sql.join(ids)})`.execute(trx), { durability: "relaxed" });
      }
    };
    say(`  timing the backfill over the newest ${SAMPLE.toLocaleString("en-US")} messages`);
    await unindex();
    await store.write((trx) => sql`update message_search_backfill set below = null, done = 0 where id = 1`.execute(trx));
    const t0 = performance.now();
    let total = 0;
    while (total < SAMPLE) {
      const { indexed, done } = await store.write((trx) => index.backfill(trx, BACKFILL_BATCH), { durability: "relaxed" });
      total += indexed;
      if (done) break;
    }
    const backfillS = (performance.now() - t0) / 1000;
    await store.write((trx) => sql`update message_search_backfill set below = null, done = 1 where id = 1`.execute(trx));
    await unindex();
    const t1 = performance.now();
    for (let i = 0; i < newestIds.length; i += 1_000) {
      const ids = newestIds.slice(i, i + 1_000);
      await store.write((trx) => index.indexMessages(trx, ids), { durability: "relaxed" });
    }
    const liveS = (performance.now() - t1) / 1000;
    if (store.dialect === "postgres") await sql`vacuum analyze message_search`.execute(store.db);
    else await sql`analyze`.execute(store.db);
    return { indexed: total, backfillS, backfillPerS: total / backfillS, livePerS: newestIds.length / liveS };
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  installCleanupHandlers();
  const started = Date.now();
  const kept = process.env.BENCH_ACTIVITY_DIR;
  const dataDir = kept ?? tempDir("posthorn-activity-bench-");
  if (kept && !existsSync(kept)) mkdirSync(kept, { recursive: true });
  const info = resolve(dataDir, "bench-activity.json");
  type Seeded = { workspaceId: string; start: number; seconds: number; indexing?: Indexing; databaseUrl?: string; messages?: number };
  const earlier = kept && existsSync(info) ? (JSON.parse(readFileSync(info, "utf8")) as Seeded) : null;
  // A kept PostgreSQL database is reused only for the same server and size; otherwise a fresh one.
  const reusePg = PG_URL !== null && earlier?.databaseUrl !== undefined && earlier.messages === MESSAGES && new URL(earlier.databaseUrl).host === new URL(PG_URL).host;
  const pgDb = PG_URL ? (reusePg ? { url: earlier!.databaseUrl!, drop: async () => undefined } : await createTempDatabase(PG_URL, { durable: true })) : null;
  const storeName = pgDb ? "postgres" : "sqlite";
  const env: Record<string, string> = pgDb ? { DATABASE_URL: pgDb.url, POSTHORN_DATA_DIR: dataDir } : { POSTHORN_DATA_DIR: dataDir };
  const start = Date.now() - SPAN_MS - DAY_MS;
  let seeded: Seeded;
  if (earlier && (pgDb ? reusePg : earlier.databaseUrl === undefined)) {
    seeded = earlier;
    say(`reusing the data ${pgDb ? `in ${new URL(pgDb.url).pathname.slice(1)}` : `in ${dataDir}`}`);
  } else {
    say(`seeding ${MESSAGES.toLocaleString("en-US")} messages on ${storeName}`);
    const store = openStore({ dataDir, databaseUrl: pgDb?.url ?? null });
    await store.migrate();
    const { workspace } = await new WorkspacesService({ store, clock: systemClock }).create("big", { sandbox: false });
    await store.close();
    if (pgDb) await seedPostgres(pgDb.url, workspace.id, start);
    else await seedSqlite(dataDir, workspace.id, start);
    await cli(env, ["user", "create", "bench@bench.test", "--role", "viewer", "--workspace", "big", "--password-stdin"], `${PASSWORD}\n`);
    seeded = { workspaceId: workspace.id, start, seconds: (Date.now() - started) / 1000, messages: MESSAGES, ...(pgDb ? { databaseUrl: pgDb.url } : {}) };
    if (kept) writeFileSync(info, JSON.stringify(seeded));
    say(`seeded in ${seeded.seconds.toFixed(0)} s`);
  }
  if (!seeded.indexing) {
    seeded.indexing = await fillSearchIndex(dataDir, pgDb?.url ?? null);
    if (kept) writeFileSync(info, JSON.stringify(seeded));
  }
  const indexing = seeded.indexing;
  say(`search index: backfill ${indexing.backfillPerS.toFixed(0)} messages/s (${indexing.backfillS.toFixed(0)} s), live batches ${indexing.livePerS.toFixed(0)} messages/s`);
  if (process.env.BENCH_ACTIVITY_SEED_ONLY === "1" && !kept) throw new Error("BENCH_ACTIVITY_SEED_ONLY needs BENCH_ACTIVITY_DIR: what is seeded must be kept");
  if (process.env.BENCH_ACTIVITY_SEED_ONLY === "1") {
    // Seeded (and kept, with BENCH_ACTIVITY_DIR) on a busy machine, to be timed on a quiet one.
    say("seed only: no pages timed");
    return;
  }
  // Passed on when set, so that one seeded database can be timed with statements named and not.
  const named = process.env.POSTHORN_DATABASE_NAMED_STATEMENTS;
  const server = await spawnServer({ ...env, ...(named !== undefined ? { POSTHORN_DATABASE_NAMED_STATEMENTS: named } : {}), POSTHORN_ROLES: "api", POSTHORN_HTTP_PORT: "0", POSTHORN_HOSTNAME: "bench.test", POSTHORN_ENCRYPTION_KEY: randomBytes(32).toString("hex"), LOG_LEVEL: "warn" }, 600_000);
  track(server.child);
  const results: Array<{ name: string; p50: number; p99: number; rows: number }> = [];
  try {
    const signIn = await fetch(`${server.url}/api/app/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "bench@bench.test", password: PASSWORD }) });
    if (signIn.status !== 200) throw new Error(`sign-in: ${signIn.status} ${await signIn.text()}`);
    const cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0]!;
    const base = `${server.url}/api/app/workspaces/${seeded.workspaceId}/messages`;
    const call = async (query: string) => {
      const res = await fetch(`${base}?count=50${query ? `&${query}` : ""}`, { headers: { cookie } });
      const body = (await res.json()) as { messages: unknown[]; newest: string | null };
      if (res.status !== 200) throw new Error(`GET ${query}: ${res.status} ${JSON.stringify(body)}`);
      return body;
    };
    const newest = (await call("")).newest!;
    const random = rng(7);
    for (const kind of pageKinds(seeded.start, newest)) {
      const samples: number[] = [];
      let rows = 0;
      for (let i = 0; i < CALLS + WARMUP; i++) {
        const query = kind.query(random);
        const t0 = performance.now();
        const body = await call(query);
        const took = performance.now() - t0;
        if (i >= WARMUP) {
          samples.push(took);
          rows += body.messages.length;
        }
      }
      samples.sort((a, b) => a - b);
      const r = { name: kind.name, p50: percentile(samples, 50), p99: percentile(samples, 99), rows: rows / CALLS };
      results.push(r);
      say(`activity ${storeName} ${r.name.padEnd(42)} median ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  (${r.rows.toFixed(1)} rows a page)`);
    }
  } finally {
    server.child.kill("SIGTERM");
    await server.exited;
    if (!kept) removeDir(dataDir);
    if (!kept) await pgDb?.drop();
  }
  // A run at another size than the issue's 10 million keeps its own record, beside that one.
  const scenarioKey = `activity_${storeName}${MESSAGES === 10_000_000 ? "" : `_${MESSAGES}`}`;
  const worst = Math.max(...results.map((r) => r.p99));
  say(`activity list over ${MESSAGES.toLocaleString("en-US")} messages on ${storeName}: worst p99 ${worst.toFixed(1)} ms (target < ${TARGET_MS} ms: ${worst < TARGET_MS ? "met" : "missed"})`);
  const machine = describeMachine();
  updateReport(REPORT, {
    run: { date: new Date(started).toISOString(), durationMs: Date.now() - started, machine, only: [scenarioKey] },
    // The other scenarios' records first, as they were; this store's last.
    order: [...readRecords(existsSync(REPORT) ? readFileSync(REPORT, "utf8") : "").map((r) => r.key).filter((k) => k !== scenarioKey), scenarioKey],
    ran: [
      {
        key: scenarioKey,
        report: {
          title: `Dashboard activity list, ${MESSAGES.toLocaleString("en-US")} messages in one workspace (${storeName})`,
          settings: [
            "`npm run bench:activity` (`bench/activity.bench.ts`): the store seeded directly (what is seeded: the file's head comment), then a server with `POSTHORN_ROLES=api` and a dashboard session",
            `${CALLS} calls per page kind after ${WARMUP} to warm up, one at a time over keep-alive, 50 messages a page; filters and cursors varied by a seeded generator`,
          ],
          figures: results.map((r) => ({ name: `${scenarioKey}.${r.name}`, display: `median ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms (${r.rows.toFixed(1)} rows a page)`, target: { text: `< ${TARGET_MS} ms`, met: r.p99 < TARGET_MS } })),
          details: [
            `seeded in ${seeded.seconds.toFixed(0)} s`,
            `search index: filled by the seed and built in one go; then, over the newest ${SAMPLE.toLocaleString("en-US")} messages on that full index, the backfill indexed ${indexing.indexed.toLocaleString("en-US")} in ${indexing.backfillS.toFixed(0)} s (${indexing.backfillPerS.toFixed(0)} messages/s, batches of ${BACKFILL_BATCH}) and the live indexer's batches (1,000 messages by id) ${indexing.livePerS.toFixed(0)} messages/s`,
          ],
          serverProblems: [],
          // What else the machine was doing, when it was not quiet (BENCH_ACTIVITY_CAVEAT): said beside the figures.
          caveats: process.env.BENCH_ACTIVITY_CAVEAT ? [process.env.BENCH_ACTIVITY_CAVEAT] : [],
        },
      },
    ],
  });
}

await main();
