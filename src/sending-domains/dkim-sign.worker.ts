// Runs in a worker thread: computes DKIM signatures (dkim-sign.ts), so that RSA signing uses
// another core instead of stalling HTTP and SMTP on the event loop.
import { parentPort } from "node:worker_threads";
import { createLocalSigner, type SignRequestData } from "./dkim-sign.request.js";

export interface SignRequest {
  id: number;
  raw: Uint8Array;
  request: SignRequestData;
}

export type SignResponse = { id: number; signatures: string } | { id: number; failure: string };

const signLocally = createLocalSigner();

parentPort!.on("message", ({ id, raw, request }: SignRequest) => {
  try {
    const signatures = signLocally(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), request);
    parentPort!.postMessage({ id, signatures } satisfies SignResponse);
  } catch (err) {
    parentPort!.postMessage({ id, failure: err instanceof Error ? err.message : String(err) } satisfies SignResponse);
  }
});
