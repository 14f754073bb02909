// Runs in a worker thread: computes DKIM signatures with mailauth. Signing costs ~1.3 ms of CPU
// per message (RSA-2048 plus mailauth's parsing and PEM loading); on the main thread that alone
// would cap delivery near 750 messages/s per core and stall HTTP and SMTP while it ran.
import { parentPort } from "node:worker_threads";
import crypto from "node:crypto";
import { dkimSign } from "mailauth/lib/dkim/sign.js";
import type { DKIMSignOptions } from "mailauth";

// mailauth turns the PEM into a KeyObject on every signature (0.37 ms of the ~1.3 ms); it takes
// no pre-parsed key. Keys are few and change rarely, so this thread remembers the KeyObject for
// each key text. The patch is confined to this worker's own module instance.
{
  const original = crypto.createPrivateKey;
  const parsed = new Map<string, crypto.KeyObject>();
  const MAX_KEYS = 1000;
  crypto.createPrivateKey = ((input: Parameters<typeof original>[0]) => {
    const options = input as { key?: unknown; format?: string; type?: string };
    if (!Buffer.isBuffer(options.key)) return original(input);
    const id = `${options.format ?? ""}|${options.type ?? ""}|${options.key.toString("base64")}`;
    let key = parsed.get(id);
    if (!key) {
      key = original(input);
      if (parsed.size >= MAX_KEYS) parsed.clear();
      parsed.set(id, key);
    }
    return key;
  }) as typeof original;
}

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
