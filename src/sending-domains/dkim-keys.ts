// DKIM key material: generation, selectors and the TXT records that publish the public halves.
import { generateKeyPair as generateKeyPairCallback, type KeyObject } from "node:crypto";
import { promisify } from "node:util";

const generateKeyPair = promisify(generateKeyPairCallback);

/** RFC 8301 §3.2: signers MUST use at least 1024 bits and SHOULD use 2048; larger keys do not fit one TXT string and some DNS panels choke. */
export const RSA_MODULUS_BITS = 2048;

export type DkimAlgorithm = "rsa" | "ed25519";

export interface DkimKeyPair {
  /** The p= value: base64 of the SubjectPublicKeyInfo (RSA) or of the raw 32-byte key (Ed25519, RFC 8463 §4). */
  publicKey: string;
  /** PKCS#8 PEM, the form mailauth signs with. Seal it before it goes anywhere. */
  privateKeyPem: string;
}

export interface DkimKeySet {
  selector: string;
  ed25519Selector: string;
  rsa: DkimKeyPair;
  ed25519: DkimKeyPair;
}

/**
 * Generates both keys for a new selector. The Ed25519 key is always made (it costs well under a
 * millisecond), so turning POSTHORN_DKIM_ED25519 on later needs no new keys, only a DNS record.
 * RSA generation takes ~50–300 ms of CPU; the async form runs it on libuv's thread pool.
 */
export async function generateDkimKeySet(selector: string): Promise<DkimKeySet> {
  const [rsa, ed25519] = await Promise.all([generateKeyPair("rsa", { modulusLength: RSA_MODULUS_BITS }), generateKeyPair("ed25519")]);
  return {
    selector,
    ed25519Selector: ed25519SelectorFor(selector),
    rsa: { publicKey: rsaPublicValue(rsa.publicKey), privateKeyPem: pem(rsa.privateKey) },
    ed25519: { publicKey: ed25519PublicValue(ed25519.publicKey), privateKeyPem: pem(ed25519.privateKey) },
  };
}

function pem(privateKey: KeyObject): string {
  return privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

function rsaPublicValue(publicKey: KeyObject): string {
  return publicKey.export({ type: "spki", format: "der" }).toString("base64");
}

function ed25519PublicValue(publicKey: KeyObject): string {
  // The SPKI DER of an Ed25519 key is a fixed 12-byte prefix followed by the 32-byte key.
  const der = publicKey.export({ type: "spki", format: "der" });
  return der.subarray(der.length - 32).toString("base64");
}

/**
 * Date-based selectors, as Postmark's are ("ph" + the UTC date), so an operator can tell keys
 * apart by age in their DNS. A second key on the same day gets "-2", "-3", …; the Ed25519
 * selector adds "-ed", which no RSA selector ends with, so the two families never collide.
 */
export function nextSelector(now: number, taken: Iterable<string>): string {
  const date = new Date(now).toISOString().slice(0, 10).replaceAll("-", "");
  const used = new Set(taken);
  const base = `ph${date}`;
  if (!used.has(base)) return base;
  for (let n = 2; ; n += 1) if (!used.has(`${base}-${n}`)) return `${base}-${n}`;
}

export function ed25519SelectorFor(selector: string): string {
  return `${selector}-ed`;
}

/** Where a selector's key is published (RFC 6376 §3.6.2.1). */
export function dkimHost(selector: string, domain: string): string {
  return `${selector}._domainkey.${domain}`;
}

/** The TXT record value (RFC 6376 §3.6.1); v= first as that section requires when present. */
export function dkimTxtValue(algorithm: DkimAlgorithm, publicKey: string): string {
  return `v=DKIM1; k=${algorithm}; p=${publicKey}`;
}
