// Child processes and temporary directories of the benchmark: every one is registered here and
// is killed / removed when the benchmark exits, however it exits.
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const children = new Set<ChildProcess>();
const dirs = new Set<string>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** Kills every child still running and removes every temporary directory (synchronous: safe in an exit handler). */
export function cleanupAll(): void {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  children.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

let installed = false;
export function installCleanupHandlers(): void {
  if (installed) return;
  installed = true;
  process.on("exit", cleanupAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}: stopping the children\n`);
      cleanupAll();
      process.exit(130);
    });
  }
}

/** Forks a compiled bench/support/*.process.js with an IPC channel and no inherited node flags. */
export function forkProcess(modulePath: string): ChildProcess {
  return track(fork(modulePath, [], { execArgv: [], stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "json" }));
}

/**
 * Waits for the first IPC message of a type in `types` from `child`; rejects when the child
 * reports `{type: "error"}`, exits, or the time runs out.
 */
export function nextMessage<M extends { type: string }>(child: ChildProcess, types: ReadonlyArray<M["type"]>, timeoutMs: number, what: string): Promise<M> {
  return new Promise<M>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    const onMessage = (message: M & { message?: string }) => {
      if (message.type === "error") {
        done();
        reject(new Error(`${what}: ${message.message ?? "failed"}`));
      } else if (types.includes(message.type)) {
        done();
        resolve(message);
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      done();
      reject(new Error(`${what}: the process exited (${signal ?? `code ${code}`}) before answering`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what}: no answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * Bytes a process (all its threads) has passed to write calls so far, files and sockets alike
 * (wchar of /proc/PID/io, whether or not the page cache has reached the disk yet); null where that
 * is not available. Unlike its CPU time, it does not move with the machine's speed.
 */
export function processWrittenBytes(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const match = /^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc; null where that is not available. */
export function processCpuSeconds(pid: number | undefined, options: { mainThreadOnly?: boolean } = {}): number | null {
  if (pid === undefined) return null;
  try {
    // The main thread's task id is the process id; the process's stat sums all its threads.
    const stat = readFileSync(options.mainThreadOnly ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat; fields[0] here is field 3 (the state).
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return null;
  }
}
