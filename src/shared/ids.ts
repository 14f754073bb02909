import { randomUUID, randomBytes, createHash } from "node:crypto";

/** Message IDs are UUIDs, as Postmark's are; clients parse them as opaque strings. */
export function newMessageId(): string {
  return randomUUID();
}

export function newId(): string {
  return randomUUID();
}

/**
 * A secret token, shown once and stored only as its hash. Shaped like a UUID because Postmark's
 * server tokens are, and some client code checks that shape; 122 random bits are plenty.
 */
export function newSecretToken(): string {
  return randomUUID();
}

/** Random bytes as hex, for lease owners and other non-secret unique names. */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

/** Tokens are high-entropy, so a fast hash is enough; a slow KDF would add nothing but latency. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}
