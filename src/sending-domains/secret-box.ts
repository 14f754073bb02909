// Secrets at rest (DKIM private keys): AES-256-GCM from node:crypto. Each sealed value carries a
// version, the id of the key that sealed it and a random 96-bit nonce (NIST SP 800-38D §8.2.2:
// random nonces are safe well beyond the number of keys we will ever seal with one key). The
// caller's context (e.g. the DNS name of the key) is authenticated as additional data, so a
// sealed value copied into another row does not open there.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

const FORMAT = "v1";
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface SecretBox {
  /** A short, non-secret fingerprint of the key, stored with each sealed value. */
  readonly keyId: string;
  seal(plaintext: string | Buffer, context: string): string;
  /** Throws when the value was sealed with another key, for another context, or altered. */
  open(sealed: string, context: string): Buffer;
}

/** 32 bits of a hash of the key: enough to tell keys apart in an error, useless to an attacker. */
export function keyFingerprint(key: Buffer): string {
  return createHash("sha256").update("posthorn secret-box key id\0").update(key).digest("hex").slice(0, 8);
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== KEY_BYTES) throw new Error(`the encryption key must be ${KEY_BYTES} bytes, got ${key.length}`);
  const keyId = keyFingerprint(key);
  return {
    keyId,
    seal(plaintext, context) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv("aes-256-gcm", key, nonce);
      cipher.setAAD(Buffer.from(context, "utf8"));
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return `${FORMAT}:${keyId}:${Buffer.concat([nonce, cipher.getAuthTag(), body]).toString("base64")}`;
    },
    open(sealed, context) {
      const [format, sealedKeyId, payload] = sealed.split(":");
      if (format !== FORMAT || !sealedKeyId || payload === undefined) throw new Error("not a sealed secret (unknown format)");
      // Plain errors, not coded ones: a wrong key is a deployment fault to fix, never an API answer.
      if (sealedKeyId !== keyId) {
        throw new Error(
          `secret was sealed with another encryption key (key id ${sealedKeyId}; this process has ${keyId}): ` +
            "every process must use the same POSTHORN_ENCRYPTION_KEY (or the same <dataDir>/encryption.key)",
        );
      }
      const bytes = Buffer.from(payload, "base64");
      if (bytes.length < NONCE_BYTES + TAG_BYTES) throw new Error("sealed secret is truncated");
      const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, NONCE_BYTES));
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(bytes.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
      try {
        return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]);
      } catch {
        throw new Error(`sealed secret failed authentication (altered, or stored under another name than '${context}')`);
      }
    },
  };
}
