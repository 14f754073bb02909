// Preloaded into the server process (NODE_OPTIONS=--import=…) when the benchmark runs with
// BENCH_CPU_PROF: records a V8 CPU profile of the whole process and writes it to
// BENCH_CPU_PROF_FILE when the process exits. (Node 20 refuses --cpu-prof in NODE_OPTIONS, and the
// server is started through the shared spawnServer helper, which passes no node flags.)
import { Session } from "node:inspector";
import { writeFileSync } from "node:fs";

const file = process.env.BENCH_CPU_PROF_FILE;
if (file) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 500 });
  session.post("Profiler.start");
  process.on("exit", () => {
    // In-process inspector sessions answer synchronously, so this completes before the exit.
    session.post("Profiler.stop", (err, result) => {
      if (err) process.stderr.write(`cpu profile: ${err.message}\n`);
      else writeFileSync(file, JSON.stringify(result.profile));
    });
  });
}
