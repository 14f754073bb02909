// What the benchmark prints and the docs/benchmarks.md it writes. Every figure here comes from a
// measurement made in a run of the benchmark; nothing is computed from a model.
//
// The page is rendered from one record per scenario (its report and the run it comes from), each
// kept in the page itself as an HTML comment under the scenario's section, so that a run of some
// scenarios (BENCH_ONLY) can replace their records and render the page again with the others as
// they were, dates and machine included. A full run replaces every record.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Machine } from "./machine.js";

export interface Target {
  text: string;
  met: boolean;
}

export interface Figure {
  /** Stable name, printed first on the figure's line. */
  name: string;
  /** The figure as printed, with its unit. */
  display: string;
  target?: Target;
}

export interface ScenarioReport {
  title: string;
  /** What was run, one Markdown bullet each. */
  settings: string[];
  figures: Figure[];
  /** Context measured alongside the figures (CPU use, sizes, sink counts). */
  details: string[];
  /** Warnings and errors the server logged during the scenario. */
  serverProblems: string[];
  /** Conditions that make the figures less trustworthy (another process busy on the machine). */
  caveats: string[];
}

/** One run of the benchmark. */
export interface RunInfo {
  /** When it started (ISO 8601). */
  date: string;
  /** How long the whole run took. */
  durationMs: number;
  machine: Machine;
  /** The scenarios BENCH_ONLY named, or null for a full run. */
  only: string[] | null;
}

/** A scenario's report as the page keeps it: with its key (the BENCH_ONLY name) and its run. */
export interface ScenarioRecord {
  key: string;
  run: RunInfo;
  report: ScenarioReport;
}

const RECORD_PREFIX = "<!-- bench-record ";
const RECORD_SUFFIX = " -->";

export function figureLine(f: Figure): string {
  const target = f.target ? `   (target ${f.target.text}: ${f.target.met ? "met" : "MISSED"})` : "";
  return `${f.name.padEnd(30)} ${f.display}${target}`;
}

/**
 * Writes the page after a run. A full run (run.only null) writes exactly the scenarios that ran.
 * A partial run reads the records already on the page, replaces those of the scenarios that ran
 * and keeps the others; it refuses (throws, leaving the page alone) when the page exists but keeps
 * no records, since rendering would then drop figures nobody asked to drop. Scenarios are listed in
 * `order`; kept records of scenarios the runner no longer knows come last.
 */
export function updateReport(path: string, data: { run: RunInfo; order: string[]; ran: Array<{ key: string; report: ScenarioReport }> }): { replaced: string[]; kept: string[] } {
  const fresh = new Map(data.ran.map(({ key, report }) => [key, { key, run: data.run, report } satisfies ScenarioRecord]));
  const previous = new Map<string, ScenarioRecord>();
  const page = existsSync(path) ? readFileSync(path, "utf8") : "";
  if (data.run.only !== null && page !== "") {
    const text = page;
    const records = readRecords(text);
    if (records.length === 0 && text.trim() !== "") {
      throw new Error(`${path} keeps no scenario records (it was written before partial runs could update it); run the full benchmark once, or move the page away`);
    }
    for (const r of records) previous.set(r.key, r);
  }
  const keys = [...data.order, ...[...previous.keys()].filter((k) => !data.order.includes(k))];
  const records: ScenarioRecord[] = [];
  for (const key of keys) {
    const record = fresh.get(key) ?? previous.get(key);
    if (record) records.push(record);
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderReport(records, peerSection(page)));
  return { replaced: [...fresh.keys()], kept: [...previous.keys()].filter((k) => !fresh.has(k)) };
}

const PEER_START = "<!-- peer-comparison:start -->";
const PEER_END = "<!-- peer-comparison:end -->";

/**
 * The comparison with Postfix on the page, kept as it is: `../shared/bench/mta/compare.sh` runs
 * outside this benchmark (as root, in its own network namespace), and its figures are recorded by
 * hand between the two markers, with the command that made them.
 */
export function peerSection(page: string): string | null {
  const start = page.indexOf(PEER_START);
  const end = page.indexOf(PEER_END, start);
  return start >= 0 && end > start ? page.slice(start, end + PEER_END.length) : null;
}

/** The records kept in a page written by renderReport. */
export function readRecords(text: string): ScenarioRecord[] {
  const records: ScenarioRecord[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(RECORD_PREFIX) || !line.endsWith(RECORD_SUFFIX)) continue;
    const json = line.slice(RECORD_PREFIX.length, line.length - RECORD_SUFFIX.length);
    let record: ScenarioRecord;
    try {
      record = JSON.parse(json) as ScenarioRecord;
    } catch (err) {
      throw new Error(`a scenario record on the benchmark page is not valid JSON (${(err as Error).message}): ${json.slice(0, 120)}…`);
    }
    if (typeof record.key !== "string" || typeof record.run?.date !== "string" || !Array.isArray(record.report?.figures)) {
      throw new Error(`a scenario record on the benchmark page lacks its key, run or figures: ${json.slice(0, 120)}…`);
    }
    records.push(record);
  }
  return records;
}

/** The record as one line of HTML comment: "<" and ">" (only ever inside JSON strings) are escaped so "-->" cannot occur. */
function recordLine(record: ScenarioRecord): string {
  return `${RECORD_PREFIX}${JSON.stringify(record).replace(/</g, "\\u003c").replace(/>/g, "\\u003e")}${RECORD_SUFFIX}`;
}

function runLabel(run: RunInfo): string {
  return run.only === null ? "full run" : `\`BENCH_ONLY=${run.only.join(",")}\``;
}

/** "2026-11-22 14:03 UTC": how the table names a run. */
function shortDate(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function machineLines(machine: Machine): string[] {
  return [
    `- CPUs (\`nproc\`): ${machine.nproc}`,
    `- CPU model (/proc/cpuinfo): ${machine.cpuModel}${machine.cpuMHz ? ` at ${Number(machine.cpuMHz).toFixed(0)} MHz` : ""}`,
    `- Memory: ${machine.memory}`,
    `- Node.js: ${machine.node}; OS: ${machine.os}`,
    `- Store: SQLite (the default store), a fresh database per scenario in a temporary directory on ${machine.dataFilesystem}`,
  ];
}

export function renderReport(records: ScenarioRecord[], peers: string | null = null): string {
  // The runs the records come from, oldest first.
  const runs = new Map<string, { run: RunInfo; keys: string[] }>();
  for (const r of records) {
    const entry = runs.get(r.run.date) ?? { run: r.run, keys: [] };
    entry.keys.push(r.key);
    runs.set(r.run.date, entry);
  }
  const runList = [...runs.values()].sort((a, b) => a.run.date.localeCompare(b.run.date));
  const sameMachine = runList.every((r) => JSON.stringify(r.run.machine) === JSON.stringify(runList[0]!.run.machine));

  const lines: string[] = [
    "# Benchmarks",
    "",
    "Measured by `npm run bench` (`bench/api.bench.ts`, run as `node dist/bench/api.bench.js` after a build when a source changed).",
    "A full run rewrites this page. A run of some scenarios (`BENCH_ONLY=…`, as `npm run bench:mta` and",
    "`npm run bench:smtp` do) replaces the rows and sections of those scenarios and keeps the others as they",
    "were, so each scenario names the run it was measured in. Every figure below was measured in that run;",
    "none is estimated. Targets are the goals for a 2-core machine on SQLite; a missed one is reported",
    "as measured, not adjusted.",
    "",
    "## Runs on this page",
    "",
  ];
  for (const { run, keys } of runList) {
    lines.push(`- ${run.date}, ${runLabel(run)} (the whole run took ${Math.round(run.durationMs / 1000)} s): ${keys.map((k) => `\`${k}\``).join(", ")}`);
  }
  if (sameMachine && runList.length > 0) {
    lines.push("", runList.length > 1 ? "Machine (the same for every run):" : "Machine:", "", ...machineLines(runList[0]!.run.machine));
  } else {
    for (const { run } of runList) lines.push("", `Machine of the run of ${run.date}:`, "", ...machineLines(run.machine));
  }

  lines.push("", "## Results", "", "| scenario | figure | measured | target | run |", "|---|---|---|---|---|");
  for (const { report: s, run } of records) {
    for (const f of s.figures) {
      const target = f.target ? `${f.target.text}: ${f.target.met ? "met" : "**missed**"}` : "—";
      lines.push(`| ${s.title} | \`${f.name}\` | ${f.display} | ${target} | ${shortDate(run.date)} |`);
    }
  }
  const caveats = records.flatMap(({ report: s }) => s.caveats.map((c) => `${s.title}: ${c}`));
  if (caveats.length > 0) lines.push("", "**Caveats of these runs:**", "", ...caveats.map((c) => `- ${c}`));
  lines.push("", runList.length > 1 ? "The lines the benchmark printed (each scenario's in its own run):" : "The lines `npm run bench` printed:", "", "```");
  for (const { report: s } of records) for (const f of s.figures) lines.push(figureLine(f));
  lines.push("```", "");

  for (const record of records) {
    const { report: s, run } = record;
    lines.push(`## ${s.title}`, "", `Measured ${run.date} (${runLabel(run)}; scenario \`${record.key}\`).`, "");
    lines.push(...s.settings.map((x) => `- ${x}`), "", "Measured:", "", ...s.figures.map((f) => `- \`${f.name}\`: ${f.display}`));
    if (s.details.length > 0) lines.push("", "Alongside:", "", ...s.details.map((x) => `- ${x}`));
    if (s.caveats.length > 0) lines.push("", ...s.caveats.map((x) => `**Caveat:** ${x}`));
    if (s.serverProblems.length > 0) {
      lines.push("", `The server logged ${s.serverProblems.length} warning/error line(s) during this scenario; the first ones:`, "", "```");
      lines.push(...s.serverProblems.slice(0, 5).map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l)), "```");
    }
    lines.push("", recordLine(record), "");
  }

  if (peers) lines.push(peers, "");
  lines.push(
    "## How it is measured",
    "",
    "- Posthorn runs as the real CLI in a child process (`posthorn workspace create bench`, then `posthorn start`), on a",
    "  fresh SQLite database in a temporary directory, listening on 127.0.0.1 only. Each scenario starts its own server.",
    "- The HTTP load generator is a separate Node process (`bench/support/loadgen.process.ts`) using `node:http` with a",
    "  keep-alive agent whose `maxSockets` equals the number of concurrent clients; each client sends its next request",
    "  as soon as the previous response has been read. Every request body is serialized before the clock starts, and",
    "  every response is parsed and checked: HTTP 200 and `ErrorCode` 0 for every message, or the run fails.",
    "- The SMTP load generator is a separate Node process too (`bench/support/smtp-loadgen.process.ts`): one nodemailer",
    "  transport with `pool: true`, `maxConnections` equal to the number of sessions and `maxMessages: Infinity`, kept",
    "  busy by as many senders, each calling `sendMail` again as soon as its previous message was answered. Every",
    "  message is composed (nodemailer's MailComposer) before the clock starts and sent as `raw` with its envelope;",
    "  every reply must be a 250 for its one recipient, or the run fails after counting the failures.",
    "- Throughput is the measured requests (or messages) divided by the time from the first measured request to the",
    "  last response, after a warm-up on the same connections. Latency is per request (per message for SMTP, from",
    "  `sendMail` to its 250), on the load generator's clock; percentiles are nearest-rank.",
    "- End to end, a loopback SMTP sink (`smtp-server`, `bench/support/sink.process.ts`) in its own process answers",
    "  250 to everything and counts connections and distinct Message-IDs. The figure is 20,000 divided by the time from",
    "  the first batch being sent to the sink receiving its 20,000th distinct message (wall clocks of two processes on",
    "  the same machine).",
    "- The load generator and the sink run on the same two cores as the server, so they take CPU from it; the",
    "  server's and the load generator's CPU use are listed above (server from /proc/PID/stat; 100% = one core).",
    "- The acceptance-only scenarios run the server with `POSTHORN_ROLES=api` (HTTP) or `POSTHORN_ROLES=smtp` (SMTP",
    "  submission): they measure acceptance alone (parsing, validation, MIME handling, the durable commit of messages",
    "  and delivery rows), with no MTA claiming deliveries meanwhile.",
    "- Before each scenario the benchmark waits (up to a minute) for the machine to be idle, and it reports the CPU",
    "  other processes used while measuring; a run on a busy machine is marked with a caveat above.",
    "",
    "To see where the server spends its time, `BENCH_CPU_PROF=1 npm run bench` writes a CPU profile of each",
    "scenario's server to `.bench/` (and leaves this page alone); `node dist/bench/support/cpuprofile.summary.js FILE`",
    "lists the functions with the most self time.",
    "",
  );
  return lines.join("\n");
}
