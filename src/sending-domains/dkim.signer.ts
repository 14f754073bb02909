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
  /** Forgets every cached key (tests; after a key change made by another tool). */
  clearCache(): void;
}

export interface DkimSignerDeps {
  service: Pick<SendingDomainsService, "signingKeys" | "onDomainChanged">;
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
  const cache = new Map<string, { keys: Promise<SigningKeys | null>; until: number }>();
  deps.service.onDomainChanged((name) => cache.delete(name));

  function keysFor(domain: string): Promise<SigningKeys | null> {
    const now = clock.now();
    const hit = cache.get(domain);
    if (hit && hit.until > now) return hit.keys;
    if (cache.size >= MAX_CACHED_DOMAINS) cache.clear();
    // The promise itself is cached, so concurrent deliveries from one domain share one lookup.
    const keys = deps.service.signingKeys(domain);
    const entry = { keys, until: now + ttlMs };
    cache.set(domain, entry);
    keys.catch(() => {
      if (cache.get(domain) === entry) cache.delete(domain); // do not remember a failure
    });
    return keys;
  }

  return {
    async sign(raw, fromDomain) {
      const domain = canonicalHostName(fromDomain);
      if (!domain) return raw;
      const keys = await keysFor(domain);
      if (!keys) return raw;
      const signatures = await signWith(raw, {
        keys: [
          { domain, selector: keys.rsa.selector, algorithm: "rsa-sha256", privateKeyPem: keys.rsa.privateKeyPem },
          ...(keys.ed25519 ? [{ domain, selector: keys.ed25519.selector, algorithm: "ed25519-sha256" as const, privateKeyPem: keys.ed25519.privateKeyPem }] : []),
        ],
        headerNames: SIGNED_HEADER_FIELDS,
        timeSeconds: Math.floor(clock.now() / 1000),
      });
      return Buffer.concat([Buffer.from(signatures, "latin1"), raw]);
    },
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
