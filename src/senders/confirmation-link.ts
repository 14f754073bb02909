// The confirmation link of a sender signature: /confirm/sender/<id>/<mac>, where the MAC is an
// HMAC-SHA256 over the signature's id, address key and per-signature nonce under a key derived
// from the installation's encryption key. Nothing about the link is stored, so a link cannot be
// guessed from the database alone, a link for one signature does not confirm another, and a
// signature deleted and created again (a new nonce) is not confirmed by its old mail.
//
// The MAC is lower-case hex: the HTTP router matches paths case-insensitively (http.server.ts),
// and hex survives mail clients that change case in URLs no worse than base64url would not.
import { createHmac, timingSafeEqual } from "node:crypto";

/** 128 bits of the MAC: enough against guessing at any rate an HTTP listener can be asked. */
const MAC_HEX_CHARS = 32;
export const CONFIRMATION_PATH_PREFIX = "/confirm/sender";

export interface LinkSubject {
  id: number;
  emailKey: string;
  nonce: string;
}

export class ConfirmationLinks {
  private readonly key: Buffer;

  /** `secret`: the installation's encryption key; a purpose-bound key is derived from it. */
  constructor(
    secret: Buffer,
    private readonly baseUrl: string,
  ) {
    this.key = createHmac("sha256", secret).update("posthorn sender-signature confirmation links v1").digest();
  }

  url(subject: LinkSubject): string {
    return `${this.baseUrl.replace(/\/+$/, "")}${CONFIRMATION_PATH_PREFIX}/${subject.id}/${this.mac(subject)}`;
  }

  /** Whether `mac` (from a link) was made for this signature. Constant-time. */
  verify(subject: LinkSubject, mac: string): boolean {
    if (!/^[0-9a-f]+$/.test(mac) || mac.length !== MAC_HEX_CHARS) return false;
    return timingSafeEqual(Buffer.from(mac), Buffer.from(this.mac(subject)));
  }

  private mac(subject: LinkSubject): string {
    return createHmac("sha256", this.key).update(`${subject.id}\u0000${subject.emailKey}\u0000${subject.nonce}`).digest("hex").slice(0, MAC_HEX_CHARS);
  }
}
