// `npm run bench:start`: what starting a server costs, as `npm start` starts it (every role, the
// embedded SQLite database). Each process start pays this — a server, a restart after a crash,
// every CLI command that opens the app, and each of the test suite's ~hundreds of servers — so
// it is CPU, not only seconds to wait: on two cores the suite is bound by it.
//
// The compiled CLI is started STARTS times (default 9) on one data directory, after a first start
// that migrates it and creates the default workspace (timed apart). For each start: CPU seconds
// of the whole process (every thread, from /proc) and wall seconds from spawn until it prints
// "Posthorn is running"; then SIGTERM and wait for the exit. Prints medians and extremes; the
// figures are copied into docs/benchmarks.md by hand.
import { performance } from "node:perf_hooks";
import { spawnServer } from "../test/support/server.js";
import { installCleanupHandlers, processCpuSeconds, removeDir, tempDir, track } from "./support/children.js";
import { describeMachine } from "./support/machine.js";

const STARTS = Number(process.env.STARTS ?? 9);

installCleanupHandlers();
const dir = tempDir("start-bench");
const env = { POSTHORN_DATA_DIR: dir, POSTHORN_HTTP_PORT: "0" };

async function startOnce(): Promise<{ cpu: number; wall: number }> {
  const began = performance.now();
  const server = await spawnServer(env, 60_000);
  track(server.child);
  const wall = (performance.now() - began) / 1000;
  const cpu = processCpuSeconds(server.child.pid);
  server.child.kill("SIGTERM");
  await server.exited;
  if (cpu === null) throw new Error("no /proc here: CPU time cannot be read");
  return { cpu, wall };
}

try {
  const machine = describeMachine();
  console.log(`start: ${machine.nproc} CPUs (${machine.cpuModel}), ${machine.node}, data on ${machine.dataFilesystem}`);
  const first = await startOnce();
  console.log(`start.first (migrate + default workspace): cpu ${first.cpu.toFixed(2)} s, wall ${first.wall.toFixed(2)} s`);
  const runs: Array<{ cpu: number; wall: number }> = [];
  for (let i = 0; i < STARTS; i++) runs.push(await startOnce());
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const cpus = runs.map((r) => r.cpu);
  const walls = runs.map((r) => r.wall);
  console.log(`start.again (${STARTS} starts): cpu median ${median(cpus).toFixed(2)} s (${Math.min(...cpus).toFixed(2)}–${Math.max(...cpus).toFixed(2)}), wall median ${median(walls).toFixed(2)} s (${Math.min(...walls).toFixed(2)}–${Math.max(...walls).toFixed(2)})`);
} finally {
  removeDir(dir);
}
