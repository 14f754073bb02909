// `npm run bench:stats`: the stats calls' latency over a store holding 10 million messages.
//
// Generates a fresh SQLite data directory the way production would have it after 10 million
// accepted messages, then starts the compiled server on it (roles=api, as an operator would) and
// times every GET /stats/outbound call with varied filters.
//
// What is generated (deterministic, seeded):
//   - workspaces: 10; "big" holds 90% of the messages, the other nine share the rest.
//   - per message: a day in the last 365 (UTC), a stream (outbound 80%, broadcast 20%), a tag (one
//     of 50, or none for 1 in 6), open tracking (60%) and link tracking (40%); 3% hard bounces,
//     1% soft, 0.5% transient, 0.05% spam complaints; of messages with open tracking 45% are
//     opened 1–3 times (platform and one of 12 email clients), of those with link tracking 12%
//     clicked 1–2 times (one of 8 browsers, HTML or text).
//   - the rollups (stats_daily) exactly as the stats consumer leaves them: every synthetic event
//     goes through the consumer's own incrementsOf() and is summed by the same key.
//   - message rows: BENCH_STATS_MESSAGE_ROWS of them (default: as many as messages, 10 million)
//     in the messages table with a small MIME body, so the database file has the size and the
//     page cache the pressure of a real one; the stats queries never read them. No delivery or
//     event rows: the log's consumers would have read and the queries never touch them.
//
// Environment:
//   BENCH_STATS_MESSAGES=10000000      messages the rollups count
//   BENCH_STATS_MESSAGE_ROWS=10000000  message rows stored (0 to skip: much faster, smaller file)
//   BENCH_STATS_REQUESTS=300           requests per call
//   BENCH_STATS_DIR=/path              keep the generated data directory here (reused when present)
//
// Prints one line per call (p50/p99 in ms) and a last line with all calls together, and writes
// docs/stats-benchmark.md.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { randomBytes } from "node:crypto";
import SQLite from "better-sqlite3";
import { openStore } from "../src/store/store.js";
import { databaseFile } from "../src/store/data-dir.js";
import { systemClock } from "../src/shared/clock.js";
import { WorkspacesService } from "../src/workspaces/workspaces.service.js";
import { incrementsOf, scopesOf, utcDay, type Increment } from "../src/stats/stats-metrics.js";
import type { RecordedEvent, ReaderData } from "../src/events/event-map.js";
import { spawnServer } from "../test/support/server.js";
import { installCleanupHandlers, removeDir, tempDir, track } from "./support/children.js";
import { percentile } from "./support/stats.js";
import { describeMachine } from "./support/machine.js";
import { rng } from "./support/seeded-random.js";

const MESSAGES = Number(process.env.BENCH_STATS_MESSAGES ?? 10_000_000);
const MESSAGE_ROWS = Number(process.env.BENCH_STATS_MESSAGE_ROWS ?? MESSAGES);
const REQUESTS = Number(process.env.BENCH_STATS_REQUESTS ?? 300);
const DAYS = 365;
const WORKSPACES = 10;
const TAGS = Array.from({ length: 50 }, (_, i) => `tag-${i}`);
const CLIENTS = ["Apple Mail", "Gmail", "Outlook", "Outlook.com", "Yahoo Mail", "Thunderbird", "Samsung Email", "iOS Mail", "Spark", "Superhuman", "Windows Mail", "Unknown"];
const BROWSERS = ["Chrome", "Safari", "Firefox", "Edge", "Opera", "Samsung Internet", "Mobile Safari", "Unknown"];
const PLATFORMS: Array<ReaderData["platform"]> = ["desktop", "mobile", "webmail", "unknown"];
const CALLS = ["", "/sends", "/bounces", "/spam", "/tracked", "/opens", "/opens/platforms", "/opens/emailClients", "/opens/readTimes", "/clicks", "/clicks/browserFamilies", "/clicks/platforms", "/clicks/location"];
const REPORT = resolve(import.meta.dirname, "../../docs/stats-benchmark.md");
const DAY_MS = 86_400_000;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

interface Generated {
  dataDir: string;
  tokens: string[];
  rollupRows: number;
  seconds: number;
}

async function generate(dataDir: string): Promise<Generated> {
  const started = Date.now();
  const store = openStore({ dataDir, databaseUrl: null });
  await store.migrate();
  const workspaces = new WorkspacesService({ store, clock: systemClock });
  const created = [];
  for (let i = 0; i < WORKSPACES; i++) created.push(await workspaces.create(i === 0 ? "big" : `small-${i}`, { sandbox: false }));
  await store.close();
  const ids = created.map((c) => c.workspace.id);

  const random = rng(20261205);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const today = Date.parse(`${utcDay(Date.now())}T12:00:00Z`);
  // The consumer's increments for an event variant, computed once per variant: the same function, not a copy of it.
  const memo = new Map<string, Increment[]>();
  const ev = (type: string, data: object) => ({ id: 0, createdAt: 0, workspaceId: "", messageId: "", recipient: "", type, data });
  const reader = (platform: ReaderData["platform"], family: string): ReaderData => ({ userAgent: "", client: { name: family, company: "", family: family === "Unknown" ? "" : family }, os: { name: "", company: "", family: "" }, platform, ip: null, geo: null, proxied: false });

  // Events are first counted per (variant, day, stream, tag), one map update each; the consumer's
  // increments are expanded into rollup rows per workspace, then written and forgotten.
  const events = new Map<string, number>();
  const add = (day: string, stream: string, tag: string | null, variant: string, make: () => object) => {
    if (!memo.has(variant)) memo.set(variant, incrementsOf(make() as RecordedEvent));
    const key = `${variant}\t${day}\t${stream}\t${tag ?? ""}`;
    events.set(key, (events.get(key) ?? 0) + 1);
  };
  const rollupsOfEvents = (): Map<string, number> => {
    const sums = new Map<string, number>();
    for (const [key, times] of events) {
      const [variant, day, stream, tag] = key.split("\t") as [string, string, string, string];
      for (const scope of scopesOf(stream, tag === "" ? null : tag)) {
        for (const inc of memo.get(variant)!) {
          // In the primary key's order (after the workspace), so the rows can be written sorted.
          const row = `${scope.stream}\t${scope.tag}\t${inc.metric}\t${day}\t${inc.dimension}`;
          sums.set(row, (sums.get(row) ?? 0) + inc.by * times);
        }
      }
    }
    events.clear();
    return sums;
  };
  let rollupRows = 0;

  const sqlite = new SQLite(databaseFile(dataDir));
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = OFF");
  const insertMessage = sqlite.prepare(
    `insert into messages (id, workspace_id, stream, envelope_from, from_json, to_json, cc_json, bcc_json, subject, tag, metadata_json, track_opens, track_links, attachments_json, text_body, html_body, mime, sandboxed, state, created_at)
     values (?, ?, ?, 'shop@bench.test', '{"address":"shop@bench.test","name":"Shop"}', ?, '[]', '[]', ?, ?, '{}', ?, ?, '[]', null, null, ?, 0, 'finished', ?)`,
  );
  const mime = Buffer.from("From: Shop <shop@bench.test>\r\nTo: someone@example.test\r\nSubject: Your order\r\nMessage-ID: <x@bench.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nThanks for your order.\r\n");
  const insertRollup = sqlite.prepare("insert into stats_daily (workspace_id, metric, day, stream, tag, dimension, count) values (?, ?, ?, ?, ?, ?, ?)");
  let n = 0;
  for (const [w, ws] of ids.entries()) {
    const share = w === 0 ? Math.round(MESSAGES * 0.9) : Math.round((MESSAGES * 0.1) / (WORKSPACES - 1));
    const end = w === ids.length - 1 ? MESSAGES : Math.min(MESSAGES, n + share);
    let begun = false;
    for (; n < end; n++) {
      if (n % 50_000 === 0) {
        if (begun) sqlite.exec("commit");
        begun = n < MESSAGE_ROWS;
        if (begun) sqlite.exec("begin");
        if (n % 1_000_000 === 0) say(`  generating: ${n.toLocaleString("en-US")} messages`);
      }
      const at = today - Math.floor(random() * DAYS) * DAY_MS;
      const day = utcDay(at);
      const stream = random() < 0.8 ? "outbound" : "broadcast";
      const tag = random() < 1 / 6 ? null : pick(TAGS);
      const opens = random() < 0.6;
      const links = random() < 0.4 ? "html-and-text" : "none";
      add(day, stream, tag, `a${opens}${links}`, () => ev("message.accepted", { stream, recipients: 1, tag, sandboxed: false, trackOpens: opens, trackLinks: links }));
      const b = random();
      const bounce = b < 0.03 ? "HardBounce" : b < 0.04 ? "SoftBounce" : b < 0.045 ? "Transient" : null;
      if (bounce) add(day, stream, tag, `b${bounce}`, () => ev("bounce.recorded", { bounceId: 1, bounceType: bounce, stream, cause: 0 }));
      if (random() < 0.0005) add(day, stream, tag, "c", () => ev("complaint.recorded", { bounceId: 1, stream, cause: 0 }));
      if (opens && !bounce && random() < 0.45) {
        const platform = pick(PLATFORMS);
        const client = pick(CLIENTS);
        const times = 1 + Math.floor(random() * 3);
        for (let k = 0; k < times; k++) {
          const first = k === 0;
          add(day, stream, tag, `o${platform}${client}${first}`, () => ev("delivery.opened", { ...reader(platform, client), stream, firstOpen: first }));
        }
      }
      if (links !== "none" && !bounce && random() < 0.12) {
        const platform = pick(PLATFORMS);
        const browser = pick(BROWSERS);
        const times = 1 + Math.floor(random() * 2);
        for (let k = 0; k < times; k++) {
          const location = random() < 0.85 ? "html" : "text";
          const first = k === 0;
          add(day, stream, tag, `k${platform}${browser}${location}${first}`, () => ev("delivery.clicked", { ...reader(platform, browser), stream, link: "https://bench.test/", location, firstClick: first }));
        }
      }
      if (n < MESSAGE_ROWS) {
        insertMessage.run(`${at.toString(36)}-${n.toString(36).padStart(6, "0")}-bench`, ws, stream, `[{"address":"r${n}@example.test","name":""}]`, "Your order", tag, opens ? 1 : 0, links, mime, at + (n % DAY_MS));
      }
    }
    if (begun) sqlite.exec("commit");
    const sums = rollupsOfEvents();
    const writing = Date.now();
    sqlite.exec("begin");
    for (const key of [...sums.keys()].sort()) {
      const [stream, tag, metric, day, dimension] = key.split("\t");
      insertRollup.run(ws, metric, day, stream, tag, dimension, sums.get(key)!);
    }
    sqlite.exec("commit");
    rollupRows += sums.size;
    if (w === 0) say(`  workspace ${w}: ${sums.size.toLocaleString("en-US")} rollup rows written in ${((Date.now() - writing) / 1000).toFixed(1)} s`);
  }
  say(`  ${rollupRows.toLocaleString("en-US")} rollup rows written`);
  sqlite.exec("analyze");
  sqlite.pragma("wal_checkpoint(TRUNCATE)");
  sqlite.close();
  return { dataDir, tokens: created.map((c) => c.serverToken), rollupRows, seconds: (Date.now() - started) / 1000 };
}

/** A query string of varied filters: none, a tag, a stream, a date range (1 day to a year), or all three. */
function filterFor(random: () => number): string {
  const today = Date.now();
  const range = () => {
    const end = today - Math.floor(random() * 60) * DAY_MS;
    const start = end - Math.floor(random() * DAYS) * DAY_MS;
    return `fromDate=${utcDay(start)}&toDate=${utcDay(end)}`;
  };
  const tag = () => `tag=${TAGS[Math.floor(random() * TAGS.length)]}`;
  const stream = () => `messageStream=${random() < 0.5 ? "outbound" : "broadcast"}`;
  switch (Math.floor(random() * 5)) {
    case 0:
      return "";
    case 1:
      return tag();
    case 2:
      return stream();
    case 3:
      return range();
    default:
      return [tag(), stream(), range()].join("&");
  }
}

async function main(): Promise<void> {
  installCleanupHandlers();
  const kept = process.env.BENCH_STATS_DIR;
  const dataDir = kept ?? tempDir("posthorn-stats-bench-");
  if (kept && !existsSync(kept)) mkdirSync(kept, { recursive: true });
  const encryptionKey = randomBytes(32).toString("hex");
  let generated: Generated;
  const tokensFile = resolve(dataDir, "bench-tokens.json");
  if (kept && existsSync(tokensFile)) {
    generated = JSON.parse(readFileSync(tokensFile, "utf8")) as Generated;
    // Tokens are stored hashed: new ones are made for this run.
    const store = openStore({ dataDir, databaseUrl: null });
    const workspaces = new WorkspacesService({ store, clock: systemClock });
    generated.tokens = [];
    for (let i = 0; i < WORKSPACES; i++) generated.tokens.push(await workspaces.createServerToken(i === 0 ? "big" : `small-${i}`));
    await store.close();
    say(`reusing the data in ${dataDir}`);
  } else {
    say(`generating ${MESSAGES.toLocaleString("en-US")} messages' rollups and ${MESSAGE_ROWS.toLocaleString("en-US")} message rows in ${dataDir}`);
    generated = await generate(dataDir);
    writeFileSync(tokensFile, JSON.stringify(generated));
    say(`generated in ${generated.seconds.toFixed(0)} s: ${generated.rollupRows.toLocaleString("en-US")} rollup rows`);
  }
  const server = await spawnServer({ POSTHORN_DATA_DIR: dataDir, POSTHORN_ROLES: "api", POSTHORN_HTTP_PORT: "0", POSTHORN_HOSTNAME: "bench.test", POSTHORN_ENCRYPTION_KEY: encryptionKey, LOG_LEVEL: "warn" }, 120_000);
  track(server.child);
  const results: Array<{ call: string; p50: number; p99: number; max: number }> = [];
  const all: number[] = [];
  try {
    const random = rng(7);
    const big = generated.tokens[0]!;
    for (const call of CALLS) {
      const samples: number[] = [];
      for (let i = 0; i < REQUESTS + 10; i++) {
        // Mostly the big workspace (the worst case), sometimes a small one.
        const token = random() < 0.8 ? big : generated.tokens[1 + Math.floor(random() * (WORKSPACES - 1))]!;
        const query = filterFor(random);
        const t0 = performance.now();
        const response = await fetch(`${server.url}/stats/outbound${call}${query ? `?${query}` : ""}`, { headers: { Accept: "application/json", "X-Postmark-Server-Token": token } });
        await response.arrayBuffer();
        const took = performance.now() - t0;
        if (response.status !== 200) throw new Error(`GET /stats/outbound${call}?${query}: ${response.status}`);
        if (i >= 10) samples.push(took); // the first ten warm the caches
      }
      samples.sort((a, b) => a - b);
      all.push(...samples);
      const r = { call: `/stats/outbound${call}`, p50: percentile(samples, 50), p99: percentile(samples, 99), max: samples[samples.length - 1]! };
      results.push(r);
      say(`${r.call.padEnd(42)} p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  max ${r.max.toFixed(1)} ms`);
    }
  } finally {
    server.child.kill("SIGTERM");
    await server.exited;
    if (!kept) removeDir(dataDir);
  }
  all.sort((a, b) => a - b);
  const p99 = percentile(all, 99);
  say(`stats calls over ${MESSAGES.toLocaleString("en-US")} messages: p50 ${percentile(all, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (target p99 < 100 ms: ${p99 < 100 ? "met" : "missed"})`);
  writeFileSync(
    REPORT,
    [
      "# Stats benchmark (`npm run bench:stats`)",
      "",
      `Run ${new Date().toISOString()} on ${machineLine()}. The machine is shared with other work: figures are provisional.`,
      "",
      `Data: ${MESSAGES.toLocaleString("en-US")} messages over ${DAYS} days in ${WORKSPACES} workspaces (90% in one), ${generated.rollupRows.toLocaleString("en-US")} rollup rows, ${MESSAGE_ROWS.toLocaleString("en-US")} message rows (bench/stats.bench.ts says what is generated and how).`,
      `Requests: ${REQUESTS} per call, one at a time over keep-alive, 80% to the largest workspace, filters varied (none, tag, stream, a date range of 1–365 days, or all three).`,
      "",
      "| Call | p50 ms | p99 ms | max ms |",
      "|---|---:|---:|---:|",
      ...results.map((r) => `| \`GET ${r.call}\` | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} |`),
      `| all calls | ${percentile(all, 50).toFixed(1)} | ${p99.toFixed(1)} | ${all[all.length - 1]!.toFixed(1)} |`,
      "",
      `Target: p99 under 100 ms — ${p99 < 100 ? "met" : "missed"}.`,
      "",
    ].join("\n"),
  );
}

function machineLine(): string {
  const m = describeMachine();
  return `${m.nproc} × ${m.cpuModel}, ${m.memory}, Node ${m.node}, data on ${m.dataFilesystem}`;
}

await main();
