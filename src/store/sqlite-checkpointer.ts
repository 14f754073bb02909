// The SQLite store's checkpoint thread (sqlite-checkpoint.worker.ts), started a moment after the
// store's first write rather than when it opens. Starting a worker thread costs ~55 ms of CPU (a
// Node environment and better-sqlite3 loaded again), about a seventh of a CLI command such as `posthorn
// token create`, and the test suite opens a few hundred short-lived stores. A store that lives less
// than START_AFTER_MS past its first write never needs the thread: its WAL stays small, and SQLite
// checkpoints it when the last connection closes. Until the thread runs, the committing
// connection's own auto-checkpoint (~64 MB, store.ts) remains the bound on the WAL, as it is
// whenever the thread falls behind.
import { Worker } from "node:worker_threads";

/** How long after the first write the thread starts. */
const START_AFTER_MS = 1_000;

export class SqliteCheckpointer {
  private worker: Worker | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly file: string,
    private readonly options: { intervalMs: number; startAfterMs?: number },
  ) {}

  /** Whether the thread has been started (for tests). */
  get running(): boolean {
    return this.worker !== null;
  }

  /** A write committed: the thread starts START_AFTER_MS later, if it has not yet. */
  wrote(): void {
    if (this.worker || this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.start();
    }, this.options.startAfterMs ?? START_AFTER_MS);
    this.timer.unref();
  }

  /** Stops the thread after a last checkpoint; a thread never started is simply not started. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const worker = this.worker;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      worker.once("message", () => resolve());
      worker.once("exit", () => resolve());
      worker.postMessage("stop");
    });
    await worker.terminate();
  }

  private start(): void {
    if (this.stopped || this.worker) return;
    this.worker = new Worker(new URL("./sqlite-checkpoint.worker.js", import.meta.url), {
      workerData: { file: this.file, intervalMs: this.options.intervalMs },
    });
    this.worker.unref();
  }
}
