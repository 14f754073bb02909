// What the benchmark prints and the docs/benchmarks.md it writes. Every figure here comes from a
// measurement made in the same run; nothing is computed from a model or carried over.
import { writeFileSync, mkdirSync } from "node:fs";
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

export function figureLine(f: Figure): string {
  const target = f.target ? `   (target ${f.target.text}: ${f.target.met ? "met" : "MISSED"})` : "";
  return `${f.name.padEnd(30)} ${f.display}${target}`;
}

export function writeReport(path: string, data: { date: Date; machine: Machine; durationMs: number; scenarios: ScenarioReport[] }): void {
  const { machine } = data;
  const lines: string[] = [
    "# Benchmarks",
    "",
    "Measured by `npm run bench` (`bench/api.bench.ts`, run as `npm run build && node dist/bench/api.bench.js`);",
    "the command rewrites this page on every full run. Every figure below was measured in that run;",
    "none is estimated. Targets are the goals for a 2-core machine on SQLite; a missed one is reported",
    "as measured, not adjusted.",
    "",
    `- Date: ${data.date.toISOString()} (the whole run took ${Math.round(data.durationMs / 1000)} s)`,
    `- CPUs (\`nproc\`): ${machine.nproc}`,
    `- CPU model (/proc/cpuinfo): ${machine.cpuModel}${machine.cpuMHz ? ` at ${Number(machine.cpuMHz).toFixed(0)} MHz` : ""}`,
    `- Memory: ${machine.memory}`,
    `- Node.js: ${machine.node}; OS: ${machine.os}`,
    `- Store: SQLite (the default store), a fresh database per scenario in a temporary directory on ${machine.dataFilesystem}`,
    "",
    "## Results",
    "",
    "| scenario | figure | measured | target |",
    "|---|---|---|---|",
  ];
  for (const s of data.scenarios) {
    for (const f of s.figures) {
      const target = f.target ? `${f.target.text}: ${f.target.met ? "met" : "**missed**"}` : "—";
      lines.push(`| ${s.title} | \`${f.name}\` | ${f.display} | ${target} |`);
    }
  }
  const caveats = data.scenarios.flatMap((s) => s.caveats.map((c) => `${s.title}: ${c}`));
  if (caveats.length > 0) lines.push("", "**Caveats of this run:**", "", ...caveats.map((c) => `- ${c}`));
  lines.push("", "The lines `npm run bench` printed:", "", "```");
  for (const s of data.scenarios) for (const f of s.figures) lines.push(figureLine(f));
  lines.push("```", "");

  for (const s of data.scenarios) {
    lines.push(`## ${s.title}`, "", ...s.settings.map((x) => `- ${x}`), "", "Measured:", "", ...s.figures.map((f) => `- \`${f.name}\`: ${f.display}`));
    if (s.details.length > 0) lines.push("", "Alongside:", "", ...s.details.map((x) => `- ${x}`));
    if (s.caveats.length > 0) lines.push("", ...s.caveats.map((x) => `**Caveat:** ${x}`));
    if (s.serverProblems.length > 0) {
      lines.push("", `The server logged ${s.serverProblems.length} warning/error line(s) during this scenario; the first ones:`, "", "```");
      lines.push(...s.serverProblems.slice(0, 5).map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l)), "```");
    }
    lines.push("");
  }

  lines.push(
    "## How it is measured",
    "",
    "- Posthorn runs as the real CLI in a child process (`posthorn workspace create bench`, then `posthorn start`), on a",
    "  fresh SQLite database in a temporary directory, listening on 127.0.0.1 only. Each scenario starts its own server.",
    "- The load generator is a separate Node process (`bench/support/loadgen.process.ts`) using `node:http` with a",
    "  keep-alive agent whose `maxSockets` equals the number of concurrent clients; each client sends its next request",
    "  as soon as the previous response has been read. Every request body is serialized before the clock starts, and",
    "  every response is parsed and checked: HTTP 200 and `ErrorCode` 0 for every message, or the run fails.",
    "- Throughput is the measured requests (or messages) divided by the time from the first measured request to the",
    "  last response, after a warm-up on the same connections. Latency is per request, from sending it to reading the",
    "  whole response, on the load generator's clock; percentiles are nearest-rank.",
    "- End to end, a loopback SMTP sink (`smtp-server`, `bench/support/sink.process.ts`) in its own process answers",
    "  250 to everything and counts connections and distinct Message-IDs. The figure is 20,000 divided by the time from",
    "  the first batch being sent to the sink receiving its 20,000th distinct message (wall clocks of two processes on",
    "  the same machine).",
    "- The load generator and the sink run on the same two cores as the server, so they take CPU from it; the",
    "  server's and the load generator's CPU use are listed above (server from /proc/PID/stat; 100% = one core).",
    "- The API-only scenarios run the server with `POSTHORN_ROLES=api`: they measure acceptance alone (validation,",
    "  MIME building, the durable commit of messages and delivery rows), with no MTA claiming deliveries meanwhile.",
    "- Before each scenario the benchmark waits (up to a minute) for the machine to be idle, and it reports the CPU",
    "  other processes used while measuring; a run on a busy machine is marked with a caveat above.",
    "",
    "To see where the server spends its time, `BENCH_CPU_PROF=1 npm run bench` writes a CPU profile of each",
    "scenario's server to `.bench/` (and leaves this page alone); `node dist/bench/support/cpuprofile.summary.js FILE`",
    "lists the functions with the most self time.",
    "",
  );
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, lines.join("\n"));
}
