// The worker threads that compute DKIM signatures (dkim-sign.worker.ts), so signing uses the
// other cores instead of the event loop. Requests go round-robin; a worker is referenced only
// while it has work, so an idle pool never keeps the process alive.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { SignRequest, SignResponse } from "./dkim-sign.worker.js";
import type { SignFunction } from "./dkim-sign.request.js";
import { batchPoster } from "../shared/thread-batches.js";

interface PoolWorker {
  worker: Worker;
  /** Requests go over in batches (shared/thread-batches.ts), as do the answers. */
  post: (request: SignRequest) => void;
  pending: Map<number, { resolve: (signatures: string) => void; reject: (e: Error) => void }>;
  /** The key and field-list numbers this worker has been sent. */
  knows: Set<number>;
}

/** Most keys and field lists numbered; past it the numbering starts over (workers are told again). */
const MAX_REFS = 10_000;

export interface DkimSignPool {
  sign: SignFunction;
  close(): Promise<void>;
}

/** One worker per core but one, at least one: the main thread keeps a core for HTTP and SMTP. */
export function createDkimSignPool(size: number = Math.max(1, availableParallelism() - 1)): DkimSignPool {
  const workers: PoolWorker[] = [];
  let next = 0;
  let nextId = 1;
  // Keys and field lists by their text, numbered once. The signer passes the same strings and
  // arrays for every message of a domain, so lookups hit without hashing a PEM each time.
  const refs = new Map<string | readonly string[], number>();
  let nextRef = 1;
  const refOf = (value: string | readonly string[]): number => {
    let ref = refs.get(value);
    if (ref === undefined) {
      if (refs.size >= MAX_REFS) {
        refs.clear();
        for (const w of workers) w.knows.clear();
      }
      ref = nextRef++;
      refs.set(value, ref);
    }
    return ref;
  };

  const spawn = (): PoolWorker => {
    const worker = new Worker(new URL("./dkim-sign.worker.js", import.meta.url));
    const entry: PoolWorker = { worker, post: batchPoster((batch: SignRequest[]) => worker.postMessage(batch)), pending: new Map(), knows: new Set() };
    worker.unref();
    worker.on("message", (responses: SignResponse[]) => {
      for (const response of responses) {
        const waiter = entry.pending.get(response.id);
        if (!waiter) continue;
        entry.pending.delete(response.id);
        if (entry.pending.size === 0) worker.unref();
        if ("failure" in response) waiter.reject(new Error(response.failure));
        else waiter.resolve(response.signatures);
      }
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
        const message: SignRequest = { id, raw, keys: [], headerRef: refOf(request.headerNames), timeSeconds: request.timeSeconds };
        for (const k of request.keys) {
          const ref = refOf(k.privateKeyPem);
          message.keys.push({ domain: k.domain, selector: k.selector, algorithm: k.algorithm, ref });
          if (!entry.knows.has(ref)) (message.newKeys ??= []).push([ref, k.privateKeyPem]);
        }
        if (!entry.knows.has(message.headerRef)) message.newHeaders = [[message.headerRef, [...request.headerNames]]];
        for (const [ref] of message.newKeys ?? []) entry.knows.add(ref);
        entry.knows.add(message.headerRef);
        entry.post(message);
      });
    },
    async close() {
      await Promise.all(workers.splice(0).map((w) => w.worker.terminate()));
    },
  };
}
