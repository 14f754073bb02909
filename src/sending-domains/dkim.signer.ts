// DKIM signing at delivery (RFC 6376, with RFC 8463 Ed25519 as a second signature). A message is
// signed only when its From domain is itself a sending domain with an active (verified) key:
// exact match, as Postmark does. A subdomain is not signed with its parent's key, because a d=
// of the parent aligns under relaxed DMARC only, and a domain owner who wants mail from
// news.example.com signed can add that domain.
import { createLocalSigner, type SignFunction } from "./dkim-sign.request.js";
import type { Clock } from "../shared/clock.js";
import { systemClock } from "../shared/clock.js";
import { canonicalHostName } from "./domain-names.js";
import type { SendingDomainsService, SigningKeys } from "./sending-domains.service.js";
import type { DkimData, DkimUnsignedReason } from "../events/event-map.js";

/**
 * Header fields covered by the signature, when present (RFC 6376 §5.4.1 lists From as required
 * and these as recommended). List-Unsubscribe and List-Unsubscribe-Post must be signed for
 * one-click unsubscribe to count (RFC 8058 §4). Content-Transfer-Encoding and the threading
 * fields are signed too: a relay that changes them changes what the reader sees.
 */
export const SIGNED_HEADER_FIELDS: readonly string[] = [
  "From",
  "To",
  "Cc",
  "Reply-To",
  "Subject",
  "Date",
  "Message-ID",
  "In-Reply-To",
  "References",
  "MIME-Version",
  "Content-Type",
  "Content-Transfer-Encoding",
  "List-Unsubscribe",
  "List-Unsubscribe-Post",
];

/** Short, so a deleted domain or a rotation seen by another process takes effect quickly. */
const DEFAULT_CACHE_TTL_MS = 60_000;
const MAX_CACHED_DOMAINS = 10_000;

export interface DkimSigner {
  /**
   * The message with DKIM-Signature fields prepended, or the same bytes when `fromDomain` has no
   * verified key. Rejects only on infrastructure faults (database unreachable, a key that cannot
   * be decrypted); the caller should then defer the delivery rather than send it unsigned.
   */
  sign(raw: Buffer, fromDomain: string): Promise<Buffer>;
  /** As sign, with what was done: the signatures' d=, s= and a=, or why none was made (for the attempt's record). */
  signWithResult(raw: Buffer, fromDomain: string): Promise<SignedMessage>;
  /** Forgets every cached key (tests; after a key change made by another tool). */
  clearCache(): void;
}

export interface SignedMessage {
  raw: Buffer;
  dkim: DkimData;
}

export interface DkimSignerDeps {
  service: Pick<SendingDomainsService, "signingKeys" | "unsignedReason" | "onDomainChanged">;
  clock?: Clock;
  /** Computes the signatures; default on this thread. */
  sign?: SignFunction;
  /** How long decrypted keys (and "no key" answers) are kept in memory. Default 60 s. */
  cacheTtlMs?: number;
}

export function createDkimSigner(deps: DkimSignerDeps): DkimSigner {
  const clock = deps.clock ?? systemClock;
  const ttlMs = deps.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
  const signWith = deps.sign ?? signHere();
  // Decrypting a key costs an AES-GCM open and a database read; per message that would double
  // the signing cost. Entries hold the decrypted PEM for at most ttlMs, in this process only.
  // A miss is cached with its reason (not a sending domain, or no verified key), read once per TTL.
  const cache = new Map<string, { keys: Promise<SigningKeys | DkimUnsignedReason>; until: number }>();
  deps.service.onDomainChanged((name) => cache.delete(name));

  function keysFor(domain: string): Promise<SigningKeys | DkimUnsignedReason> {
    const now = clock.now();
    const hit = cache.get(domain);
    if (hit && hit.until > now) return hit.keys;
    if (cache.size >= MAX_CACHED_DOMAINS) cache.clear();
    // The promise itself is cached, so concurrent deliveries from one domain share one lookup.
    const keys = deps.service.signingKeys(domain).then((found): Promise<SigningKeys | DkimUnsignedReason> | SigningKeys => found ?? deps.service.unsignedReason(domain));
    const entry = { keys, until: now + ttlMs };
    cache.set(domain, entry);
    keys.catch(() => {
      if (cache.get(domain) === entry) cache.delete(domain); // do not remember a failure
    });
    return keys;
  }

  async function signWithResult(raw: Buffer, fromDomain: string): Promise<SignedMessage> {
    const domain = canonicalHostName(fromDomain);
    if (!domain) return { raw, dkim: { unsigned: "no-domain" } };
    const keys = await keysFor(domain);
    if (typeof keys === "string") return { raw, dkim: { unsigned: keys, d: domain } };
    const used = [
      { domain, selector: keys.rsa.selector, algorithm: "rsa-sha256" as const, privateKeyPem: keys.rsa.privateKeyPem },
      ...(keys.ed25519 ? [{ domain, selector: keys.ed25519.selector, algorithm: "ed25519-sha256" as const, privateKeyPem: keys.ed25519.privateKeyPem }] : []),
    ];
    const signatures = await signWith(raw, { keys: used, headerNames: SIGNED_HEADER_FIELDS, timeSeconds: Math.floor(clock.now() / 1000) });
    return { raw: Buffer.concat([Buffer.from(signatures, "latin1"), raw]), dkim: { signed: used.map((k) => ({ d: k.domain, s: k.selector, a: k.algorithm })) } };
  }

  return {
    async sign(raw, fromDomain) {
      return (await signWithResult(raw, fromDomain)).raw;
    },
    signWithResult,
    clearCache() {
      cache.clear();
    },
  };
}

/** Signing on the calling thread; the MTA passes a worker pool's sign instead (dkim-sign.pool.ts). */
function signHere(): SignFunction {
  const signLocally = createLocalSigner();
  return async (raw, request) => signLocally(raw, request);
}
