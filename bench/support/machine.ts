// The facts about the machine a benchmark ran on, for the report.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";

export interface Machine {
  nproc: string;
  cpuModel: string;
  cpuMHz: string | null;
  memory: string;
  node: string;
  os: string;
  /** Filesystem holding the temporary directory where each scenario's SQLite database lives. */
  dataFilesystem: string;
}

function run(command: string, args: string[]): string | null {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

function cpuinfo(field: string): string | null {
  try {
    const match = new RegExp(`^${field}\\s*:\\s*(.*)$`, "m").exec(readFileSync("/proc/cpuinfo", "utf8"));
    return match ? match[1]!.trim() : null;
  } catch {
    return null;
  }
}

export function describeMachine(): Machine {
  let memory = `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`;
  try {
    const match = /^MemTotal:\s*(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
    if (match) memory = `${(Number(match[1]) / 2 ** 20).toFixed(1)} GiB (MemTotal ${Number(match[1]).toLocaleString("en-US")} kB)`;
  } catch {
    // keep os.totalmem()
  }
  const df = run("df", ["-PT", os.tmpdir()])?.split("\n")[1]?.split(/\s+/);
  return {
    nproc: run("nproc", []) ?? String(os.availableParallelism()),
    cpuModel: cpuinfo("model name") ?? os.cpus()[0]?.model ?? "unknown",
    cpuMHz: cpuinfo("cpu MHz"),
    memory,
    node: process.version,
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    dataFilesystem: df && df.length >= 2 ? `${df[1]} on ${df[0]} (${os.tmpdir()})` : os.tmpdir(),
  };
}

/** Jiffies all CPUs have spent busy and in total since boot (/proc/stat), or null without /proc. */
export function cpuTimes(): { busy: number; total: number } | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** How busy the whole machine was between two cpuTimes() samples, in cores (1 = one core fully busy). */
export function busyCores(before: ReturnType<typeof cpuTimes>, after: ReturnType<typeof cpuTimes>, cores: number): number | null {
  if (!before || !after || after.total <= before.total) return null;
  return ((after.busy - before.busy) / (after.total - before.total)) * cores;
}
