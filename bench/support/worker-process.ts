// The life of a forked load generator: it runs one spec sent by the benchmark over IPC, answers
// with a result or an error, exits when its parent goes away, and never outlives MAX_LIFETIME_MS.

/** The longest a load generator may live, whatever happens to its parent. */
export const MAX_LIFETIME_MS = 10 * 60_000;

type Reply<R> = { type: "result"; result: R } | { type: "error"; message: string };

export function serveOneRun<S, R>(name: string, run: (spec: S) => Promise<R>): void {
  const send = (message: Reply<R>) => process.send?.(message);
  if (!process.send) {
    process.stderr.write(`${name} is started by the benchmark (bench/api.bench.ts), with an IPC channel\n`);
    process.exit(2);
  }
  setTimeout(() => {
    send({ type: "error", message: `${name} ran longer than ${MAX_LIFETIME_MS} ms` });
    process.exit(3);
  }, MAX_LIFETIME_MS).unref();
  process.on("disconnect", () => process.exit(0));
  process.once("message", (message: { type: string; spec?: S }) => {
    if (message.type !== "run" || !message.spec) {
      send({ type: "error", message: `unexpected command ${JSON.stringify(message)}` });
      return;
    }
    run(message.spec).then(
      (result) => send({ type: "result", result }),
      (err: unknown) => send({ type: "error", message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
}
