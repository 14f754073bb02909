// Signing webhook posts, so a receiver can tell a post came from this Posthorn and is fresh:
// `X-Posthorn-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed by the
// workspace's signing secret. The timestamp is inside what is signed, so a captured post cannot
// be replayed later with a new time; receivers refuse a t too far from their clock (5 minutes).
//
// The secret is derived from the installation's encryption key and the workspace id (HMAC), so
// nothing more is stored and every process computes the same one; `posthorn token create
// --webhook-secret --workspace NAME` shows it. Changing the encryption key changes every secret.
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-posthorn-signature";
/** How far a receiver may let t be from its clock: retries are signed again, so this only bounds replays. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** The workspace's signing secret, as shown to its users ("whsec_" and 43 base64url characters). */
export function signingSecret(encryptionKey: Buffer, workspaceId: string): string {
  return `whsec_${createHmac("sha256", encryptionKey).update(`posthorn webhook signing\0${workspaceId}`).digest("base64url")}`;
}

export function signatureHeader(secret: string, body: string, timestampSeconds: number): string {
  return `t=${timestampSeconds},v1=${hmac(secret, timestampSeconds, body)}`;
}

/** What a receiver does (docs/api.md shows the same in a few lines): true when the header signs this body within the tolerance. */
export function verifySignature(secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS): boolean {
  const parts = new Map(header.split(",").map((p) => p.split("=", 2) as [string, string]));
  const t = Number(parts.get("t"));
  const given = parts.get("v1");
  if (!Number.isInteger(t) || !given || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(hmac(secret, t, body), "hex");
  const actual = Buffer.from(given, "hex");
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function hmac(secret: string, t: number, body: string): string {
  return createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
}
