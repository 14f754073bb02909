// Tracking tokens: what a pixel, a tracked link or an unsubscribe link names, signed so that no
// one can forge one or change what it says. A token is base64url of
//
//   kind (1 byte) · message id (16 bytes, the UUID) · [delivery id (6 bytes)] · [clicks: location (1 byte) · original URL] · MAC (12 bytes)
//
// A token of a message to one recipient names the message only (it is made once, at acceptance).
// A message to several recipients is tracked per recipient: its tokens are made for each delivery
// when the delivery is attempted (src/compose/delivery-tracking.ts), and name the delivery row too,
// so an open or click is the recipient's it was sent to. Those kinds have their own kind bytes.
//
// The MAC is HMAC-SHA256 over everything before it, cut to 96 bits: a forger gets one guess per
// HTTP request, so 2^96 is far beyond reach, and the cut keeps an open pixel's URL at 39
// characters. The key is derived from the installation's encryption key (src/app/encryption-key.ts)
// with its own label, as the VERP key is, so that a tracking token can never stand for anything
// else. The original URL travels in the token rather than in a table: nothing is written at
// acceptance for it, and the redirect target is exactly the signed bytes, so no lookup can be
// steered to another address.
import { createHmac, timingSafeEqual } from "node:crypto";

export type TokenKind = "open" | "click" | "unsubscribe";
export type LinkLocation = "html" | "text";

/** deliveryId: the delivery (one recipient) the token was made for; absent when it names the message only. */
export type TrackingToken =
  | { kind: "open"; messageId: string; deliveryId?: number }
  | { kind: "unsubscribe"; messageId: string; deliveryId?: number }
  | { kind: "click"; messageId: string; location: LinkLocation; url: string; deliveryId?: number };

const KIND_BYTES: Record<TokenKind, number> = { open: 1, click: 2, unsubscribe: 3 };
/** The same kinds naming a delivery: the kind byte plus this. */
const PER_DELIVERY = 3;
const MAC_BYTES = 12;
const ID_BYTES = 16;
/** Delivery row ids as a 48-bit number: 2.8e14 rows. */
const DELIVERY_BYTES = 6;
/** Links longer than this are left as written: a token must fit in a URL that every client keeps whole. */
export const MAX_TRACKED_URL_CHARS = 2_000;
/** The longest token any link can make, in characters; longer input is refused before decoding. */
export const MAX_TOKEN_CHARS = Math.ceil(((1 + ID_BYTES + DELIVERY_BYTES + 1 + MAX_TRACKED_URL_CHARS * 3 + MAC_BYTES) * 4) / 3);

export function trackingKey(encryptionKey: Buffer): Buffer {
  return createHmac("sha256", encryptionKey).update("posthorn tracking signing key").digest();
}

export class TrackingTokens {
  constructor(private readonly key: Buffer) {}

  sign(token: TrackingToken): string {
    const id = Buffer.from(token.messageId.replace(/-/g, ""), "hex");
    if (id.length !== ID_BYTES) throw new Error(`not a message id: ${token.messageId}`);
    const perDelivery = token.deliveryId !== undefined;
    const parts = [Buffer.of(KIND_BYTES[token.kind] + (perDelivery ? PER_DELIVERY : 0)), id];
    if (perDelivery) {
      const delivery = Buffer.alloc(DELIVERY_BYTES);
      delivery.writeUIntBE(token.deliveryId!, 0, DELIVERY_BYTES);
      parts.push(delivery);
    }
    if (token.kind === "click") parts.push(Buffer.of(token.location === "html" ? 1 : 2), Buffer.from(token.url, "utf8"));
    const body = Buffer.concat(parts);
    return Buffer.concat([body, this.mac(body)]).toString("base64url");
  }

  /** The token's content, or null for anything this installation did not sign exactly so. */
  verify(text: string): TrackingToken | null {
    if (text.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) return null;
    const raw = Buffer.from(text, "base64url");
    // base64url decoding ignores trailing bits: a token must re-encode to itself, so no two
    // spellings of one token exist.
    if (raw.length < 1 + ID_BYTES + MAC_BYTES || raw.toString("base64url") !== text) return null;
    const body = raw.subarray(0, raw.length - MAC_BYTES);
    if (!timingSafeEqual(raw.subarray(raw.length - MAC_BYTES), this.mac(body))) return null;
    const hex = body.subarray(1, 1 + ID_BYTES).toString("hex");
    const messageId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    const perDelivery = body[0]! > PER_DELIVERY;
    const kind = perDelivery ? body[0]! - PER_DELIVERY : body[0]!;
    let at = 1 + ID_BYTES;
    let named: { messageId: string; deliveryId?: number } = { messageId };
    if (perDelivery) {
      if (body.length < at + DELIVERY_BYTES) return null;
      named = { messageId, deliveryId: body.readUIntBE(at, DELIVERY_BYTES) };
      at += DELIVERY_BYTES;
    }
    switch (kind) {
      case KIND_BYTES.open:
        return body.length === at ? { kind: "open", ...named } : null;
      case KIND_BYTES.unsubscribe:
        return body.length === at ? { kind: "unsubscribe", ...named } : null;
      case KIND_BYTES.click: {
        const location = body[at];
        if (location !== 1 && location !== 2) return null;
        const url = body.subarray(at + 1).toString("utf8");
        return isTrackableUrl(url) ? { kind: "click", ...named, location: location === 1 ? "html" : "text", url } : null;
      }
      default:
        return null;
    }
  }

  private mac(body: Buffer): Buffer {
    return createHmac("sha256", this.key).update(body).digest().subarray(0, MAC_BYTES);
  }
}

/**
 * Only absolute http and https URLs are tracked, and so only they can ever be redirected to:
 * mailto:, tel:, javascript:, data: and relative links stay as written.
 */
export function isTrackableUrl(url: string): boolean {
  // Printable ASCII only: bodies are scanned as latin1 (src/compose/mime-text-rewrite.ts), so a
  // link with other bytes is not known to be read right, and is left as written.
  if (url.length > MAX_TRACKED_URL_CHARS || !/^[\x21-\x7e]+$/.test(url) || /[<>"\\^`{|}]/.test(url)) return false;
  if (!/^https?:\/\/[^/?#]/i.test(url)) return false;
  try {
    const parsed = new URL(url);
    return (parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.hostname !== "";
  } catch {
    return false;
  }
}

/**
 * A token as the local part of a mail address (the mailto: form of a one-click unsubscribe link):
 * `unsub+<token in base32>`. Base64url is case-sensitive and some mail systems change the case of
 * local parts, so the mailbox form uses lowercase base32, which survives that. A per-delivery
 * token is 35 bytes: 56 characters, 62 with the prefix, within RFC 5321's 64-octet local part.
 */
export const MAILBOX_PREFIX = "unsub+";
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

export function tokenMailbox(token: string): string {
  const bytes = Buffer.from(token, "base64url");
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return MAILBOX_PREFIX + out;
}

/** The token a mailbox names (any letter case), or null when it is not a token's mailbox form; the token is not verified here. */
export function tokenOfMailbox(localPart: string): string | null {
  const local = localPart.toLowerCase();
  if (!local.startsWith(MAILBOX_PREFIX)) return null;
  const text = local.slice(MAILBOX_PREFIX.length);
  if (text.length === 0 || text.length > 200 || !/^[a-z2-7]+$/.test(text)) return null;
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of text) {
    value = ((value << 5) | BASE32.indexOf(c)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(bytes).toString("base64url");
}
