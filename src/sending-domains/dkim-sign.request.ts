// What signing one message needs, as the signer sends it to a signing thread: the keys as PEM
// (KeyObjects do not cross threads as such; each thread keeps the ones it has made), the fields to
// sign and the time. The signing itself is dkim-sign.ts.
import { createPrivateKey, type KeyObject } from "node:crypto";
import { dkimSignatures } from "./dkim-sign.js";

export interface SignRequestData {
  keys: Array<{ domain: string; selector: string; algorithm: "rsa-sha256" | "ed25519-sha256"; privateKeyPem: string }>;
  headerNames: readonly string[];
  /** t=, in seconds since the epoch. */
  timeSeconds: number;
}

/** The DKIM-Signature fields to prepend, or throws (a key that cannot be read: no key material in the message). */
export type SignFunction = (raw: Buffer, request: SignRequestData) => Promise<string>;

const MAX_KEYS = 1_000;

/** Signs on the calling thread, keeping the KeyObjects it makes (parsing a PEM costs more than an RSA signature). */
export function createLocalSigner(): (raw: Buffer, request: SignRequestData) => string {
  const parsed = new Map<string, KeyObject>();
  const keyOf = (pem: string, label: string): KeyObject => {
    let key = parsed.get(pem);
    if (!key) {
      try {
        key = createPrivateKey(pem);
      } catch {
        throw new Error(`the private key of ${label} cannot be read`);
      }
      if (parsed.size >= MAX_KEYS) parsed.clear();
      parsed.set(pem, key);
    }
    return key;
  };
  return (raw, request) =>
    dkimSignatures(
      raw,
      request.keys.map((k) => ({ domain: k.domain, selector: k.selector, algorithm: k.algorithm, key: keyOf(k.privateKeyPem, `${k.selector}._domainkey.${k.domain}`) })),
      request.headerNames,
      request.timeSeconds,
    );
}
