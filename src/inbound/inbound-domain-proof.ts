// Proof that a workspace controls its custom inbound domain, asked of DNS before the domain
// receives mail. Without it a workspace could name any domain whose mail reaches this
// installation (another customer's, one a sending domain's owner pointed here) and read its mail.
//
// Either proves control:
// - a TXT record on the domain: "posthorn-inbound-verification=<the workspace's InboundHash>",
//   which ties the domain to one workspace; or
// - an MX record on the domain naming POSTHORN_HOSTNAME: the domain's owner sends its mail here.
// The TXT record is the stronger proof on an installation shared by several customers; the MX
// record is what a single-owner installation already has to publish anyway.
//
// Checked at RCPT time (and shown by GET /server), not once: a domain whose records are removed,
// or that changes hands, stops receiving. Answers are cached (positive for 10 minutes, negative
// for 30 s) so a flood of RCPTs makes few lookups; a lookup that fails for a transient reason
// (SERVFAIL, timeout) keeps the last answer, and counts as no proof when there is none.
import { Resolver } from "node:dns/promises";
import type { Clock } from "../shared/clock.js";

export const VERIFICATION_PREFIX = "posthorn-inbound-verification=";
const VERIFIED_TTL_MS = 10 * 60_000;
const UNVERIFIED_TTL_MS = 30_000;
const CACHE_MAX = 10_000;
const DEFAULT_TIMEOUT_MS = 5_000;
const MISSING_CODES = new Set(["ENOTFOUND", "ENODATA"]);

export interface InboundDomainProof {
  /** Whether DNS shows that the holder of `token` (a workspace's inbound hash) controls `domain`. */
  verified(domain: string, token: string): Promise<boolean>;
}

export function createInboundDomainProof(options: {
  /** POSTHORN_HOSTNAME: an MX naming it proves the domain's mail comes here. */
  hostname: string;
  /** POSTHORN_DNS_SERVERS ("ip" or "ip:port"); the system's resolvers when null. */
  dnsServers: readonly string[] | null;
  clock: Clock;
  timeoutMs?: number;
}): InboundDomainProof {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // As in sending-domains/domain-dns.ts: c-ares doubles its timeout per try, so T + 2T fits the budget.
  const resolver = new Resolver({ timeout: Math.max(50, Math.floor(timeoutMs / 3)), tries: 2 });
  if (options.dnsServers?.length) resolver.setServers([...options.dnsServers]);
  const hostname = options.hostname.toLowerCase().replace(/\.$/, "");
  const cache = new Map<string, { verified: boolean; until: number }>();

  /** The records, [] when there are none, null when the lookup failed for a transient reason. */
  async function lookup<T>(query: () => Promise<T[]>): Promise<T[] | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error("timeout"), { code: "ETIMEOUT" })), timeoutMs);
    });
    try {
      return await Promise.race([query(), timeout]);
    } catch (err) {
      return MISSING_CODES.has((err as { code?: string }).code ?? "") ? [] : null;
    } finally {
      clearTimeout(timer);
    }
  }

  async function ask(domain: string, token: string): Promise<boolean | null> {
    const [txt, mx] = await Promise.all([lookup(() => resolver.resolveTxt(domain)), lookup(() => resolver.resolveMx(domain))]);
    const expected = `${VERIFICATION_PREFIX}${token}`.toLowerCase();
    if (txt?.some((chunks) => chunks.join("").trim().toLowerCase() === expected)) return true;
    if (mx?.some((record) => record.exchange.toLowerCase().replace(/\.$/, "") === hostname)) return true;
    return txt === null || mx === null ? null : false;
  }

  return {
    async verified(domain, token) {
      const key = `${domain.toLowerCase()}\u0000${token}`;
      const now = options.clock.now();
      const cached = cache.get(key);
      if (cached && cached.until > now) return cached.verified;
      const answer = await ask(domain.toLowerCase(), token);
      // A transient failure keeps what was known; with nothing known there is no proof.
      const verified = answer ?? cached?.verified ?? false;
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(key, { verified, until: now + (answer === null ? UNVERIFIED_TTL_MS : verified ? VERIFIED_TTL_MS : UNVERIFIED_TTL_MS) });
      return verified;
    },
  };
}
