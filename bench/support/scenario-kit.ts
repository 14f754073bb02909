// What every benchmark scenario shares: printing, the run's settings from the environment, waiting
// for a quiet machine, running a load generator process while sampling the server's CPU, and the
// report lines about CPU use, caveats and the server's own warnings.
import { mkdirSync } from "node:fs";
import os from "node:os";
import { resolve } from "node:path";
import { forkProcess, nextMessage } from "./children.js";
import { busyCores, cpuTimes } from "./machine.js";
import type { RunningPosthorn } from "./posthorn.js";
import { percent } from "./stats.js";

/** The repository's root (this file runs from <root>/dist/bench/support/ or another outDir of the same shape). */
export const ROOT = resolve(import.meta.dirname, "../../..");
export const PROFILE_DIR = resolve(ROOT, ".bench");

export const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(",").map((s) => s.trim()).filter(Boolean)) : null;
export const profile = process.env.BENCH_CPU_PROF === "1";
/** Distinguishes this run's messages (subjects, recipients) and files from another run's. */
export const runId = Date.now().toString(36);
export const CORES = os.availableParallelism();
/** Other processes using less than this many cores count as a quiet machine. */
export const QUIET_CORES = 0.25;

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}
export function note(line: string): void {
  process.stdout.write(`# ${line}\n`);
}

/** Where the server of a scenario writes its CPU profile (BENCH_CPU_PROF=1), or undefined. */
export function profileFile(name: string): string | undefined {
  if (!profile) return undefined;
  mkdirSync(PROFILE_DIR, { recursive: true });
  return resolve(PROFILE_DIR, `server-${name}-${runId}.cpuprofile`);
}

/** What every load generator reports: how long its measured phase took and the CPU it used meanwhile. */
export interface LoadgenResultBase {
  elapsedMs: number;
  cpuMs: number;
}

export interface LoadRun<R extends LoadgenResultBase> {
  result: R;
  /** Server CPU during the measured phase, as a fraction of one core: the whole process, and its main thread. */
  serverCpu: number | null;
  serverMainThreadCpu: number | null;
  /** Server CPU seconds used during the measured phase (whole process). */
  serverCpuSeconds: number | null;
  /** The server's CPU seconds so far when the measured phase began (process, main thread). */
  serverCpuAtStart: number | null;
  serverMainThreadCpuAtStart: number | null;
  /** The whole machine's CPU use during the measured phase, in cores. */
  machineCores: number | null;
  machineAtStart: ReturnType<typeof cpuTimes>;
}

type LoadgenReply<R> = { type: "measuring"; at: number } | { type: "result"; result: R } | { type: "error"; message: string };

/**
 * Forks a load generator (a compiled bench/support/*loadgen.process.js), sends it `{type: "run", spec}`,
 * and samples the server's and the machine's CPU between its "measuring" and its "result".
 */
export async function runLoadProcess<R extends LoadgenResultBase>(moduleJs: string, spec: unknown, server: RunningPosthorn, timeoutMs: number): Promise<LoadRun<R>> {
  const child = forkProcess(moduleJs);
  try {
    child.send({ type: "run", spec });
    const started = Date.now();
    await nextMessage<LoadgenReply<R>>(child, ["measuring"], timeoutMs, "load generator");
    const cpu0 = server.cpuSeconds();
    const main0 = server.mainThreadCpuSeconds();
    const machine0 = cpuTimes();
    const t0 = performance.now();
    const left = Math.max(1_000, timeoutMs - (Date.now() - started));
    const done = await nextMessage<LoadgenReply<R>>(child, ["result"], left, "load generator");
    const cpu1 = server.cpuSeconds();
    const main1 = server.mainThreadCpuSeconds();
    const machine1 = cpuTimes();
    const wallS = (performance.now() - t0) / 1000;
    if (done.type !== "result") throw new Error("unreachable");
    const serverCpuSeconds = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null;
    return {
      result: done.result,
      serverCpu: serverCpuSeconds !== null ? serverCpuSeconds / wallS : null,
      serverMainThreadCpu: main0 !== null && main1 !== null ? (main1 - main0) / wallS : null,
      serverCpuSeconds,
      serverCpuAtStart: cpu0,
      serverMainThreadCpuAtStart: main0,
      machineCores: busyCores(machine0, machine1, CORES),
      machineAtStart: machine0,
    };
  } finally {
    if (child.connected) child.disconnect();
    child.kill("SIGKILL");
  }
}

/**
 * Waits (up to a minute) until the machine is quiet before a scenario, since other work on the
 * same cores would be measured as the server's slowness; returns the busy figure it ended with.
 */
export async function waitForQuiet(): Promise<number | null> {
  const until = Date.now() + 60_000;
  let waiting = false;
  for (;;) {
    const before = cpuTimes();
    await new Promise((r) => setTimeout(r, 1_000));
    const busy = busyCores(before, cpuTimes(), CORES);
    if (busy === null || busy < QUIET_CORES) {
      if (waiting) note("the machine is quiet now");
      return busy;
    }
    if (Date.now() > until) {
      note(`the machine is still busy (other processes use ${busy.toFixed(2)} cores); measuring anyway`);
      return busy;
    }
    if (!waiting) note(`other processes are using ${busy.toFixed(2)} cores; waiting up to a minute for the machine to be quiet`);
    waiting = true;
  }
}

export function quietText(busy: number | null): string {
  return busy === null ? "machine load before the scenario: unknown (no /proc)" : `other processes just before the scenario: ${percent(busy)} of one core (1 s sample of /proc/stat)`;
}

/** CPU use during the measured phase: the server, the load generator, and whatever else ran. */
export function cpuText(run: LoadRun<LoadgenResultBase>): string {
  const { result, serverCpu, serverMainThreadCpu } = run;
  return `CPU while measured (100% = one core of ${CORES}): server ${percent(serverCpu)} (its main thread, the event loop: ${percent(serverMainThreadCpu)}), load generator ${percent(result.cpuMs / result.elapsedMs)}, everything else on the machine ${percent(otherCores(run))}`;
}

/** Cores used by processes other than the server and the load generator during the measured phase. */
export function otherCores(run: LoadRun<LoadgenResultBase>): number | null {
  const { result, serverCpu, machineCores } = run;
  return machineCores !== null && serverCpu !== null ? Math.max(0, machineCores - serverCpu - result.cpuMs / result.elapsedMs) : null;
}

export function caveatsFor(quietBefore: number | null, otherDuring: number | null): string[] {
  const caveats: string[] = [];
  if (quietBefore !== null && quietBefore >= QUIET_CORES) caveats.push(`the machine was not quiet before the scenario: other processes used ${percent(quietBefore)} of one core.`);
  if (otherDuring !== null && otherDuring >= QUIET_CORES) {
    caveats.push(`other processes used ${percent(otherDuring)} of one core while it was measured, on a ${CORES}-core machine; the figures are likely lower than a quiet machine would give.`);
  }
  if (caveats.length > 0) note(`caveat: ${caveats.join(" ")}`);
  return caveats;
}

/** The warnings and errors the server logged, minus those matching `expected` (warnings the scenario causes on purpose). */
export function problemsOf(server: RunningPosthorn, expected: RegExp[] = []): string[] {
  const problems = server.problems().filter((line) => !expected.some((re) => re.test(line)));
  if (problems.length > 0) note(`the server logged ${problems.length} warning/error line(s); first: ${problems[0]!.slice(0, 200)}`);
  return problems;
}

export function envText(server: RunningPosthorn): string {
  const shown = Object.entries(server.env)
    .filter(([k]) => k !== "POSTHORN_DATA_DIR")
    .map(([k, v]) => `\`${k}=${v}\``);
  return `${shown.join(", ")}, \`POSTHORN_DATA_DIR\` = a new temporary directory`;
}
