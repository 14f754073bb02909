// Runs in a worker thread: computes DKIM signatures (dkim-sign.ts), so that RSA signing uses
// another core instead of stalling HTTP and SMTP on the event loop. Keys and the list of fields
// to sign cross over once and are then named by number: each crossing copies them, and a PEM is
// most of a request.
import { parentPort } from "node:worker_threads";
import { createLocalSigner, type SignRequestData } from "./dkim-sign.request.js";
import { batchPoster } from "../shared/thread-batches.js";

export interface SignRequest {
  id: number;
  raw: Uint8Array;
  keys: Array<{ domain: string; selector: string; algorithm: "rsa-sha256" | "ed25519-sha256"; ref: number }>;
  headerRef: number;
  timeSeconds: number;
  /** Keys and field lists this thread has not seen yet, by their numbers. */
  newKeys?: Array<[ref: number, pem: string]>;
  newHeaders?: Array<[ref: number, names: string[]]>;
}

export type SignResponse = { id: number; signatures: string } | { id: number; failure: string };

const signLocally = createLocalSigner();
const pems = new Map<number, string>();
const headerLists = new Map<number, string[]>();

const post = batchPoster((batch: SignResponse[]) => parentPort!.postMessage(batch));

parentPort!.on("message", (requests: SignRequest[]) => {
  for (const request of requests) sign(request);
});

function sign(message: SignRequest): void {
  for (const [ref, pem] of message.newKeys ?? []) pems.set(ref, pem);
  for (const [ref, names] of message.newHeaders ?? []) headerLists.set(ref, names);
  try {
    const request: SignRequestData = {
      keys: message.keys.map((k) => ({ domain: k.domain, selector: k.selector, algorithm: k.algorithm, privateKeyPem: pems.get(k.ref)! })),
      headerNames: headerLists.get(message.headerRef)!,
      timeSeconds: message.timeSeconds,
    };
    const signatures = signLocally(Buffer.from(message.raw.buffer, message.raw.byteOffset, message.raw.byteLength), request);
    post({ id: message.id, signatures });
  } catch (err) {
    post({ id: message.id, failure: err instanceof Error ? err.message : String(err) });
  }
}
