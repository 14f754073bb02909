// The worker threads that compute DKIM signatures (dkim-sign.worker.ts), so signing uses the
// other cores instead of the event loop. Requests go round-robin; a worker is referenced only
// while it has work, so an idle pool never keeps the process alive.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { SignRequest, SignResponse } from "./dkim-sign.worker.js";
import type { SignFunction } from "./dkim-sign.request.js";

interface PoolWorker {
  worker: Worker;
  pending: Map<number, { resolve: (signatures: string) => void; reject: (e: Error) => void }>;
}

export interface DkimSignPool {
  sign: SignFunction;
  close(): Promise<void>;
}

/** One worker per core but one, at least one: the main thread keeps a core for HTTP and SMTP. */
export function createDkimSignPool(size: number = Math.max(1, availableParallelism() - 1)): DkimSignPool {
  const workers: PoolWorker[] = [];
  let next = 0;
  let nextId = 1;

  const spawn = (): PoolWorker => {
    const entry: PoolWorker = { worker: new Worker(new URL("./dkim-sign.worker.js", import.meta.url)), pending: new Map() };
    entry.worker.unref();
    entry.worker.on("message", (response: SignResponse) => {
      const waiter = entry.pending.get(response.id);
      if (!waiter) return;
      entry.pending.delete(response.id);
      if (entry.pending.size === 0) entry.worker.unref();
      if ("failure" in response) waiter.reject(new Error(response.failure));
      else waiter.resolve(response.signatures);
    });
    const failAll = (err: Error) => {
      for (const waiter of entry.pending.values()) waiter.reject(err);
      entry.pending.clear();
      // A dead worker is replaced on the next request.
      const index = workers.indexOf(entry);
      if (index >= 0) workers.splice(index, 1);
    };
    entry.worker.on("error", failAll);
    entry.worker.on("exit", (code) => failAll(new Error(`the DKIM signing thread exited (code ${code})`)));
    return entry;
  };

  return {
    sign(raw, request) {
      while (workers.length < size) workers.push(spawn());
      const entry = workers[next++ % workers.length]!;
      const id = nextId++;
      return new Promise<string>((resolve, reject) => {
        if (entry.pending.size === 0) entry.worker.ref();
        entry.pending.set(id, { resolve, reject });
        entry.worker.postMessage({ id, raw, request } satisfies SignRequest);
      });
    },
    async close() {
      await Promise.all(workers.splice(0).map((w) => w.worker.terminate()));
    },
  };
}
