// A Transport whose SMTP work runs in a worker thread (the entry is given by the caller: the
// app's transport.thread.ts). Jobs go over in batches (shared/thread-batches.ts; the signed bytes
// copied: a 2 KB message costs microseconds, and a pooled Buffer must not be transferred away from
// its pool) and their results come back the same way. A thread that dies fails the attempts in flight, which the MTA
// defers like any internal error, and is started again for the next job.
import { Worker } from "node:worker_threads";
import type { Logger } from "../../shared/logger.js";
import type { AttemptResult, DeliveryJob, OpenConnections, Transport } from "../mta.types.js";
import { batchPoster } from "../../shared/thread-batches.js";

export type TransportRequest = { type: "deliver"; id: number; job: DeliveryJob } | { type: "connections"; id: number } | { type: "close" };
export type TransportResponse =
  | { type: "result"; id: number; result: AttemptResult }
  | { type: "connections"; id: number; open: OpenConnections }
  | { type: "error"; id: number; message: string }
  | { type: "closed" };

interface Pending {
  resolve: (result: AttemptResult) => void;
  reject: (err: Error) => void;
}

/** A scrape asking the thread for its connections does not wait longer than this (a thread busy past it answers the next one). */
const CONNECTIONS_TIMEOUT_MS = 2_000;

export function createThreadedTransport(entry: URL, workerData: unknown, logger: Logger): Transport {
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let worker: Worker | null = null;
  let post: (request: TransportRequest) => void = () => undefined;
  let closing: Promise<void> | null = null;
  const asked = new Map<number, (open: OpenConnections) => void>();

  const start = (): Worker => {
    const w = new Worker(entry, { workerData });
    post = batchPoster((batch: TransportRequest[]) => w.postMessage(batch));
    w.on("message", (responses: TransportResponse[]) => {
      for (const response of responses) {
        if (response.type === "closed") continue;
        if (response.type === "connections") {
          asked.get(response.id)?.(response.open);
          asked.delete(response.id);
          continue;
        }
        const entry = pending.get(response.id);
        if (!entry) continue;
        pending.delete(response.id);
        if (response.type === "result") entry.resolve(response.result);
        else entry.reject(new Error(response.message));
      }
    });
    const fail = (err: Error) => {
      if (worker === w) worker = null;
      for (const [id, entry] of pending) {
        pending.delete(id);
        entry.reject(err);
      }
    };
    w.on("error", (err) => {
      logger.error({ event: "mta.thread.failed", err }, "the transport thread failed; attempts in flight are deferred, and it starts again");
      fail(err);
    });
    w.on("exit", (code) => {
      if (!closing) fail(new Error(`the transport thread exited (code ${code})`));
    });
    return w;
  };

  return {
    deliver(job: DeliveryJob): Promise<AttemptResult> {
      if (closing) return Promise.reject(new Error("the transport is closing"));
      worker ??= start();
      const id = nextId++;
      return new Promise<AttemptResult>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        post({ type: "deliver", id, job });
      });
    },
    openConnections(): Promise<OpenConnections> {
      // No thread yet (nothing sent) or closing: nothing open.
      if (!worker || closing) return Promise.resolve([]);
      const id = nextId++;
      return new Promise<OpenConnections>((resolve, reject) => {
        const timer = setTimeout(() => {
          asked.delete(id);
          reject(new Error("the transport thread did not say its connections in time"));
        }, CONNECTIONS_TIMEOUT_MS);
        asked.set(id, (open) => {
          clearTimeout(timer);
          resolve(open);
        });
        post({ type: "connections", id });
      });
    },
    close(): Promise<void> {
      closing ??= (async () => {
        const w = worker;
        if (!w) return;
        // The thread closes its connections after the attempts in flight, then says so.
        await new Promise<void>((resolve) => {
          w.on("message", (responses: TransportResponse[]) => responses.some((m) => m.type === "closed") && resolve());
          w.once("exit", () => resolve());
          // Through the batch, so that it follows every job posted before it.
          post({ type: "close" });
        });
        await w.terminate();
      })();
      return closing;
    },
  };
}
