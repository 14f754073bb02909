// Summarizes a V8 .cpuprofile (from `npm run bench` with BENCH_CPU_PROF=1, or `node --cpu-prof`):
// the functions with the most self time, and self time grouped by where the code lives.
//
//   node dist/bench/support/cpuprofile.summary.js FILE.cpuprofile [TOP]
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a function's code lives: a package, a Posthorn source file, Node's internals, or V8's pseudo-frames. */
function placeOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native / V8)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith("node:")) return "node internals";
  const own = /\/dist\/(src\/.*)\.js$/.exec(url);
  if (own) return `${own[1]}.ts`;
  return url.replace(/^file:\/\//, "");
}

export function summarize(profile: Profile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    total += us;
    if (frame.functionName === "(idle)") idle += us;
    const place = placeOf(frame.url, frame.functionName);
    const fn = `${frame.functionName || "(anonymous)"}  ${place}${frame.url ? `:${frame.lineNumber + 1}` : ""}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byPlace.set(place, (byPlace.get(place) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
  const msText = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  const lines = [
    `profile: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (the main thread; percentages are of busy time)`,
    "",
    `top ${top} functions by self time:`,
  ];
  const rank = (m: Map<string, number>) => [...m.entries()].filter(([k]) => !k.startsWith("(idle)")).sort((a, b) => b[1] - a[1]);
  for (const [fn, us] of rank(byFunction).slice(0, top)) lines.push(`${msText(us)} ${pct(us)}  ${fn}`);
  lines.push("", "self time by package / file:");
  for (const [place, us] of rank(byPlace).slice(0, top)) lines.push(`${msText(us)} ${pct(us)}  ${place}`);
  return lines.join("\n");
}

const [file, topText] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: node dist/bench/support/cpuprofile.summary.js FILE.cpuprofile [TOP]\n");
  process.exit(2);
}
process.stdout.write(`${summarize(JSON.parse(readFileSync(file, "utf8")) as Profile, Number(topText ?? 25))}\n`);
