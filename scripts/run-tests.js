#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js), each in its own Node process, a few at a
// time. Fails when no test file is found, so a broken build cannot pass as "no tests".
//
// Why not one `node --test --test-concurrency=N` over all files, as before: that runner reports no
// time per file, so a run could not say where its minutes went, and it starts files in name order,
// so a slow file named late ran alone at the end. Here each file's wall time is measured, the
// slowest are listed after the run, and the times are kept (.test-durations.json) so the next
// run starts the slowest files first: the long ones overlap instead of trailing.
//
// TEST_CONCURRENCY: files at once (default 2, the machine's cores). Beyond that, up to twice as
// many, a file is started while the files running are known to leave a core idle: the last run
// kept each file's CPU as well as its time, and a file that mostly waits (for a lease to run out,
// a process to restart) uses a fraction of a core. A file never timed counts as a whole core; a
// checkout's own times (.test-durations.json) go over the committed test/durations.json, which
// is all a clean clone (CI's) has.
// Each file runs from the test bundle (dist/test-bundle/, scripts/bundle-tests.js says why) when the
// build made one, and is named by its compiled path all the same; POSTHORN_TEST_UNBUNDLED=1 runs
// the compiled files themselves.
// Arguments: substrings of the dist paths to run only those files.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { relative, resolve } from "node:path";
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { bundledTestFile, compiledTestFiles } from "./bundle-tests.js";

// Kept beside dist/, not in it: every build removes dist/ whole, and the times with it.
const DURATIONS = ".test-durations.json";
// A full run's times as committed, for a checkout that has none of its own (CI's clean clone):
// without them the first run goes in name order, a slow file named late trails alone at the end,
// and no file may run beyond TEST_CONCURRENCY. Refreshed by copying .test-durations.json after a
// full run (README.md, Tests); a file added since is simply untimed, renamed ones are ignored.
const COMMITTED_DURATIONS = "test/durations.json";
const SHOWN = 15;

const only = process.argv.slice(2);
const files = compiledTestFiles(resolve("dist"))
  .map((f) => relative(process.cwd(), f))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
if (files.length === 0) {
  console.error("no test files found under dist/ (did the build run?)");
  process.exit(1);
}
const concurrency = Math.max(1, Number(process.env.TEST_CONCURRENCY) || 2);
/** Files at once at most, those beyond `concurrency` only while the cores have room (see above). */
const mostAtOnce = concurrency * 2;
const cores = availableParallelism();

/** file → the last run's wall time (ms) and CPU (s, null when unmeasured); older files held the time alone. */
let known = {};
// The committed times first, this checkout's own over them: a partial run keeps the rest known.
for (const source of [COMMITTED_DURATIONS, DURATIONS]) {
  try {
    const kept = JSON.parse(readFileSync(source, "utf8"));
    for (const [file, v] of Object.entries(kept)) known[file] = typeof v === "number" ? { ms: v, cpu: null } : v;
  } catch {
    // Not there (or unreadable): name order for what no source times.
  }
}
const msOf = (file) => known[file]?.ms ?? Infinity;
/** Cores a file keeps busy on average, from the last run; a whole one when unknown. */
const coresOf = (file) => {
  const k = known[file];
  return k && k.cpu !== null && k.ms > 0 ? Math.min(1, (k.cpu * 1000) / k.ms) : 1;
};
// Slowest first by the last run's times; files never timed (new ones) first of all.
files.sort((a, b) => msOf(b) - msOf(a) || a.localeCompare(b));

/**
 * CPU seconds (user + system) of this process's reaped children so far, from /proc (Linux; null
 * elsewhere). Read as each file's process closes, the difference is about that file's CPU, its
 * servers and browsers included (they are its descendants); two files ending in the same instant
 * may swap a little of theirs.
 */
function childrenCpuSeconds() {
  try {
    const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
    // After "pid (comm) ": state is fields[0], so cutime and cstime (stat fields 16 and 17) are 13 and 14.
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}

const unbundled = process.env.POSTHORN_TEST_UNBUNDLED === "1";
/** What runs for a compiled test file: its entry in the test bundle when there is one. */
function runnable(file) {
  if (unbundled) return file;
  const bundled = bundledTestFile(resolve("dist"), resolve(file));
  return existsSync(bundled) ? bundled : file;
}

/** Runs one file; resolves with its output, exit code, wall time, CPU time and the counts its reporter printed. */
function runFile(file) {
  return new Promise((resolve) => {
    const started = performance.now();
    // The file itself, not `node --test file`: that starts a runner process which starts the file
    // in another, ~0.2 s of CPU per file for nothing a single file needs (the exit code and the
    // spec reporter's output, counts included, are the same).
    const child = spawn(process.execPath, ["--test-reporter=spec", runnable(file)], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: process.stdout.isTTY ? "1" : "0" } });
    const chunks = [];
    child.stdout.on("data", (c) => chunks.push(c));
    child.stderr.on("data", (c) => chunks.push(c));
    child.on("close", (code, signal) => {
      const cpuNow = childrenCpuSeconds();
      const cpu = cpuNow === null || cpuSeen === null ? null : cpuNow - cpuSeen;
      cpuSeen = cpuNow;
      const output = Buffer.concat(chunks).toString("utf8");
      const count = (name) => Number(new RegExp(`^ℹ ${name} (\\d+)`, "m").exec(output)?.[1] ?? 0);
      resolve({ file, output, ok: code === 0, code: code ?? signal, ms: performance.now() - started, cpu, tests: count("tests"), pass: count("pass"), fail: count("fail"), skipped: count("skipped") + count("todo") });
    });
  });
}

let cpuSeen = childrenCpuSeconds();
const started = performance.now();
const results = [];
const queue = [...files];
const running = new Set();
let mostSeen = 0;
await new Promise((allDone) => {
  const start = (file) => {
    running.add(file);
    mostSeen = Math.max(mostSeen, running.size);
    void runFile(file).then((result) => {
      running.delete(file);
      results.push(result);
      // A file's output is printed whole when it ends, so parallel files never interleave.
      process.stdout.write(`\n▶ ${result.file} (${(result.ms / 1000).toFixed(1)} s)${result.ok ? "" : ` FAILED (exit ${result.code})`}\n${result.output}`);
      fill();
    });
  };
  const fill = () => {
    while (queue.length > 0 && running.size < concurrency) start(queue.shift());
    // Past `concurrency`: the first waiting file (slowest first) that fits in the cores left.
    while (queue.length > 0 && running.size < mostAtOnce) {
      const busy = [...running].reduce((n, f) => n + coresOf(f), 0);
      const fits = queue.findIndex((f) => busy + coresOf(f) <= cores);
      if (fits < 0) break;
      start(queue.splice(fits, 1)[0]);
    }
    if (queue.length === 0 && running.size === 0) allDone();
  };
  fill();
});
const wallMs = performance.now() - started;

for (const r of results) known[r.file] = { ms: Math.round(r.ms), cpu: r.cpu === null ? null : Math.round(r.cpu * 10) / 10 };
try {
  writeFileSync(DURATIONS, JSON.stringify(known, null, 1));
} catch {
  // Keeping the times is a convenience; a read-only dist/ does not fail the run.
}

const sum = (k) => results.reduce((n, r) => n + r[k], 0);
const failed = results.filter((r) => !r.ok);
const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, SHOWN);
console.log(`\nslowest test files (${results.length} files, ${(sum("ms") / 1000).toFixed(0)} s of file time, ${concurrency} at once, up to ${mostSeen} while the cores had room):`);
for (const r of slowest) console.log(`${(r.ms / 1000).toFixed(1).padStart(7)} s  ${r.file}`);
if (results.every((r) => r.cpu !== null)) {
  // The suite is CPU-bound on a small machine: what a file costs the cores is what holds the run up.
  const busiest = [...results].sort((a, b) => b.cpu - a.cpu).slice(0, SHOWN);
  console.log(`\nbusiest test files by CPU (${sum("cpu").toFixed(0)} s of CPU in all):`);
  for (const r of busiest) console.log(`${r.cpu.toFixed(1).padStart(7)} s  ${r.file}`);
}
console.log(`\ntests ${sum("tests")}, pass ${sum("pass")}, fail ${sum("fail")}, skipped/todo ${sum("skipped")}; files ${results.length}, failed ${failed.length}; ${(wallMs / 1000).toFixed(1)} s`);
// A failed file's own account again at the very end, where a log cut to its tail still shows it:
// the spec reporter's "failing tests" section (each failure with its error), else the output's end.
for (const r of failed) {
  const at = r.output.lastIndexOf("✖ failing tests:");
  const account = at >= 0 ? r.output.slice(at) : r.output.slice(-4000);
  console.log(`\nFAILED ${r.file} (exit ${r.code})\n${account.length > 6000 ? `${account.slice(0, 6000)}\n…` : account}`);
}
for (const r of failed) console.log(`FAILED ${r.file} (exit ${r.code})`);
process.exit(failed.length > 0 ? 1 : 0);
