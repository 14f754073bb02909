// VERP return paths (variable envelope return path): the MAIL FROM of each delivery names that
// delivery, so a bounce that arrives later, even one too mangled to parse, can be matched to the
// message and recipient it is about. The address is signed so that nobody can forge bounces
// that would suppress arbitrary recipients.
//
// Form: bounce+<delivery id, base 36>.<signature>@<return-path domain>, e.g.
// bounce+2s9k.4f1c09a2be@pm-bounces.example.com. Only letters, digits, '+' and '.': valid as an
// unquoted local part everywhere (RFC 5321 §4.1.2).
import { createHmac, timingSafeEqual } from "node:crypto";

const PREFIX = "bounce+";
/** 40 bits of HMAC: forging one needs ~10^12 tries, each a message someone must get us to accept. */
const SIGNATURE_HEX_CHARS = 10;

function signature(deliveryId: number, secret: Buffer): string {
  return createHmac("sha256", secret).update(`verp:${deliveryId}`).digest("hex").slice(0, SIGNATURE_HEX_CHARS);
}

export function verpAddress(deliveryId: number, returnPathDomain: string, secret: Buffer): string {
  return `${PREFIX}${deliveryId.toString(36)}.${signature(deliveryId, secret)}@${returnPathDomain}`;
}

/** The delivery a VERP address names, or null if the address is not one of ours or its signature is wrong. */
export function parseVerp(address: string, secret: Buffer): { deliveryId: number; domain: string } | null {
  const at = address.lastIndexOf("@");
  if (at < 0) return null;
  const local = address.slice(0, at).toLowerCase();
  const domain = address.slice(at + 1).toLowerCase();
  if (!local.startsWith(PREFIX)) return null;
  const match = /^([0-9a-z]{1,12})\.([0-9a-f]+)$/.exec(local.slice(PREFIX.length));
  if (!match) return null;
  const deliveryId = parseInt(match[1]!, 36);
  if (!Number.isSafeInteger(deliveryId) || deliveryId <= 0) return null;
  const expected = Buffer.from(signature(deliveryId, secret));
  const given = Buffer.from(match[2]!);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return { deliveryId, domain };
}

/** The VERP signing key, derived from the installation's encryption key so there is no second secret to manage. */
export function verpSecret(encryptionKey: Buffer): Buffer {
  return createHmac("sha256", encryptionKey).update("posthorn verp signing key").digest();
}
