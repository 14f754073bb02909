// Runs in a worker thread: computes DKIM signatures with mailauth. Signing costs ~1.3 ms of CPU
// per message (RSA-2048 plus mailauth's parsing and PEM loading); on the main thread that alone
// would cap delivery near 750 messages/s per core and stall HTTP and SMTP while it ran.
import { parentPort } from "node:worker_threads";
import { dkimSign } from "mailauth/lib/dkim/sign.js";
import type { DKIMSignOptions } from "mailauth";

export interface SignRequest {
  id: number;
  raw: Uint8Array;
  options: DKIMSignOptions;
}

export type SignResponse = { id: number; signatures: string; errors: string[] } | { id: number; failure: string };

parentPort!.on("message", (request: SignRequest) => {
  const raw = Buffer.from(request.raw.buffer, request.raw.byteOffset, request.raw.byteLength);
  // Dates do not survive as Date objects in every clone path; rebuild the one mailauth reads.
  const options = { ...request.options, signTime: new Date(request.options.signTime as unknown as string | number) };
  dkimSign(raw, options).then(
    (result) => {
      const errors = result.errors.map((e) => {
        // Only the selector and the message: no key material may leave through an error.
        const entry = e as { selector?: string; err?: { message?: string }; message?: string };
        return `${entry.selector ?? "?"}: ${entry.err?.message ?? entry.message ?? "unknown error"}`;
      });
      parentPort!.postMessage({ id: request.id, signatures: result.signatures, errors } satisfies SignResponse);
    },
    (err: unknown) => parentPort!.postMessage({ id: request.id, failure: err instanceof Error ? err.message : String(err) } satisfies SignResponse),
  );
});
