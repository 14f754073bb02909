// Where mail for a domain goes: MX lookup (RFC 5321 §5.1), null MX (RFC 7505), implicit MX, and
// the addresses of each MX host. Answers are cached for a bounded time in a bounded map, so a
// burst of deliveries to one domain costs one lookup, and concurrent lookups of one name share
// one query.
import { Resolver } from "node:dns/promises";
import net from "node:net";
import { domainToASCII } from "node:url";

export interface MxHost {
  /** Lower-case host name without the trailing dot (or an IP for an address-literal domain). */
  host: string;
  /** MX preference; lower is tried first. 0 for an implicit MX. */
  priority: number;
}

export type Route =
  /** MX hosts in the order to try them: by preference, equal preferences shuffled. */
  | { kind: "hosts"; hosts: MxHost[] }
  /** RFC 7505: the domain publishes a single MX "." and accepts no mail. Bounce at once. */
  | { kind: "null-mx" }
  /** The domain does not exist, or has neither MX nor address records (RFC 5321 §5.1). */
  | { kind: "nxdomain" }
  /** SERVFAIL, refused, timed out: try again later. */
  | { kind: "temp-fail"; reason: string };

export type HostAddresses =
  /** IPv4 addresses first, then IPv6 (see resolveHostAddresses). */
  | { kind: "addresses"; addresses: string[] }
  | { kind: "none" }
  | { kind: "temp-fail"; reason: string };

export interface MxResolver {
  resolve(domain: string): Promise<Route>;
  resolveHostAddresses(host: string): Promise<HostAddresses>;
}

export type TxtAnswer =
  /** Each record as its character-strings (RFC 1035 §3.3.14), to be joined by the caller. */
  | { kind: "records"; records: string[][] }
  | { kind: "none" }
  | { kind: "temp-fail"; reason: string };

/** TXT lookups through the same servers, for MTA-STS discovery (RFC 8461 §3.1). Not cached here:
 *  the MTA-STS cache keeps what it needs for as long as it needs it. */
export interface TxtResolver {
  resolveTxt(name: string): Promise<TxtAnswer>;
}

export interface MxResolverOptions {
  /** "ip" or "ip:port" entries for Resolver.setServers; the system's servers when absent. */
  dnsServers?: string[];
  /** Longest time any positive answer is cached, whatever its TTL says. Default 5 min. */
  cacheTtlMs?: number;
  /** How long NXDOMAIN, null MX and "no address" answers are cached. Default 60 s. */
  negativeCacheTtlMs?: number;
  /** How long a temporary failure is remembered, so a burst does not hammer a broken server. */
  tempFailCacheTtlMs?: number;
  /** Whole time one lookup may take before it counts as a temporary failure. Default 5 s. */
  lookupTimeoutMs?: number;
  /** Bound on cached names (least recently used dropped first). Default 10,000. */
  maxCacheEntries?: number;
  /** For tests: the shuffle of equal preferences. */
  random?: () => number;
  now?: () => number;
}

const DEFAULT_CACHE_TTL_MS = 5 * 60_000;
const DEFAULT_NEGATIVE_CACHE_TTL_MS = 60_000;
const DEFAULT_TEMP_FAIL_CACHE_TTL_MS = 5_000;
const DEFAULT_LOOKUP_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_CACHE_ENTRIES = 10_000;

/** node:dns error codes meaning "this name, or this type at this name, does not exist". */
const NOT_FOUND_CODES = new Set(["ENOTFOUND"]);
const NO_DATA_CODES = new Set(["ENODATA"]);

/** A Map used as an LRU with per-entry expiry. */
class BoundedTtlCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  constructor(private readonly maxEntries: number) {}

  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    this.entries.set(key, entry); // most recently used goes last
    return entry.value;
  }

  set(key: string, value: V, expiresAt: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}

type MxAnswer =
  | { kind: "records"; records: MxHost[] }
  | { kind: "null-mx" }
  | { kind: "nxdomain" }
  | { kind: "temp-fail"; reason: string };

function errorCode(err: unknown): string {
  return typeof err === "object" && err !== null && "code" in err ? String(err.code) : "";
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function normalizeDomain(domain: string): string {
  const lower = domain.trim().toLowerCase().replace(/\.$/, "");
  // IDNs go on the wire as A-labels (RFC 5890); domainToASCII returns "" for invalid names.
  return !/[^\x20-\x7e]/.test(lower) ? lower : domainToASCII(lower) || lower;
}

/** "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 §4.1.3) → the address, else null. */
function addressLiteral(domain: string): string | null {
  const match = /^\[(?:ipv6:)?([^\]]+)\]$/i.exec(domain);
  const address = match?.[1];
  return address && net.isIP(address) ? address : null;
}

/** RFC 5321 §5.1: equal preferences SHOULD be tried in random order to spread the load. */
function orderByPreference(records: MxHost[], random: () => number): MxHost[] {
  const keyed = records.map((record) => ({ record, tieBreak: random() }));
  keyed.sort((a, b) => a.record.priority - b.record.priority || a.tieBreak - b.tieBreak);
  return keyed.map(({ record }) => record);
}

export function createMxResolver(options: MxResolverOptions = {}): MxResolver & TxtResolver {
  const cacheTtlMs = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
  const negativeTtlMs = Math.min(options.negativeCacheTtlMs ?? DEFAULT_NEGATIVE_CACHE_TTL_MS, cacheTtlMs);
  const tempFailTtlMs = Math.min(options.tempFailCacheTtlMs ?? DEFAULT_TEMP_FAIL_CACHE_TTL_MS, cacheTtlMs);
  const lookupTimeoutMs = options.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS;
  const maxEntries = options.maxCacheEntries ?? DEFAULT_MAX_CACHE_ENTRIES;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;

  // c-ares doubles its timeout on each retry, so a third of the budget for the first try and
  // one retry (T + 2T) fits the whole budget; the race below enforces it regardless.
  const resolver = new Resolver({ timeout: Math.max(50, Math.floor(lookupTimeoutMs / 3)), tries: 2 });
  if (options.dnsServers?.length) resolver.setServers(options.dnsServers);

  const mxCache = new BoundedTtlCache<MxAnswer>(maxEntries);
  const addressCache = new BoundedTtlCache<HostAddresses>(maxEntries);
  const inFlight = new Map<string, Promise<unknown>>();

  /** Runs one lookup per key at a time; later callers share the pending promise. */
  function shared<T>(key: string, lookup: () => Promise<T>): Promise<T> {
    const pending = inFlight.get(key);
    if (pending) return pending as Promise<T>;
    const started = lookup().finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  }

  function withTimeout<T>(query: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error(`${what} timed out after ${lookupTimeoutMs} ms`), { code: "ETIMEOUT" })),
        lookupTimeoutMs,
      );
    });
    return Promise.race([query, timeout]).finally(() => clearTimeout(timer));
  }

  async function lookupMx(domain: string): Promise<MxAnswer> {
    try {
      const records = await withTimeout(resolver.resolveMx(domain), `MX lookup for ${domain}`);
      const hosts = records.map((r) => ({ host: normalizeDomain(r.exchange), priority: r.priority }));
      // RFC 7505 §3: a null MX is a single record whose exchange is the root (c-ares gives "").
      // A domain that mixes "." with real MX records is misconfigured; use the real ones.
      const real = hosts.filter((h) => h.host !== "" && h.host !== ".");
      if (real.length === 0) return hosts.length > 0 ? { kind: "null-mx" } : { kind: "nxdomain" };
      return { kind: "records", records: real };
    } catch (err) {
      const code = errorCode(err);
      if (NOT_FOUND_CODES.has(code)) return { kind: "nxdomain" };
      // No MX at all: RFC 5321 §5.1 treats the domain itself as an implicit MX of preference 0
      // when it has an address record.
      if (NO_DATA_CODES.has(code)) {
        const addresses = await resolveHostAddresses(domain);
        if (addresses.kind === "addresses") return { kind: "records", records: [{ host: domain, priority: 0 }] };
        if (addresses.kind === "none") return { kind: "nxdomain" };
        return addresses;
      }
      return { kind: "temp-fail", reason: `MX lookup for ${domain} failed: ${code || describe(err)}` };
    }
  }

  async function resolve(rawDomain: string): Promise<Route> {
    const domain = normalizeDomain(rawDomain);
    const literal = addressLiteral(domain);
    if (literal) return { kind: "hosts", hosts: [{ host: literal, priority: 0 }] };

    let answer = mxCache.get(domain, now());
    if (!answer) {
      answer = await shared(`mx:${domain}`, async () => {
        const fresh = await lookupMx(domain);
        // resolveMx does not report TTLs, so positive MX answers live for cacheTtlMs.
        const ttl = fresh.kind === "records" ? cacheTtlMs : fresh.kind === "temp-fail" ? tempFailTtlMs : negativeTtlMs;
        mxCache.set(domain, fresh, now() + ttl);
        return fresh;
      });
    }
    if (answer.kind !== "records") return answer;
    // Shuffle on every call, not once per cache entry, so load spreads across equal MX hosts.
    return { kind: "hosts", hosts: orderByPreference(answer.records, random) };
  }

  async function lookupFamily(host: string, family: 4 | 6) {
    const query = family === 4 ? resolver.resolve4(host, { ttl: true }) : resolver.resolve6(host, { ttl: true });
    try {
      return { ok: true as const, records: await withTimeout(query, `${family === 4 ? "A" : "AAAA"} lookup for ${host}`) };
    } catch (err) {
      const code = errorCode(err);
      const missing = NOT_FOUND_CODES.has(code) || NO_DATA_CODES.has(code);
      return { ok: false as const, missing, reason: `${family === 4 ? "A" : "AAAA"} lookup for ${host} failed: ${code || describe(err)}` };
    }
  }

  /**
   * A and AAAA records of one host. IPv4 addresses come first: a sender's IPv6 reputation and
   * reverse DNS are the more often missing (Gmail rejects IPv6 senders without a matching PTR),
   * and many hosts and containers have no IPv6 route at all. IPv6 addresses follow, so a host
   * reachable only over IPv6 is still reached.
   */
  async function resolveHostAddresses(rawHost: string): Promise<HostAddresses> {
    const host = normalizeDomain(rawHost);
    if (net.isIP(host)) return { kind: "addresses", addresses: [host] };
    const cached = addressCache.get(host, now());
    if (cached) return cached;
    return shared(`addr:${host}`, async () => {
      const [v4, v6] = await Promise.all([lookupFamily(host, 4), lookupFamily(host, 6)]);
      const records = [...(v4.ok ? v4.records : []), ...(v6.ok ? v6.records : [])];
      let answer: HostAddresses;
      let ttlMs: number;
      if (records.length > 0) {
        answer = { kind: "addresses", addresses: records.map((r) => r.address) };
        ttlMs = Math.min(cacheTtlMs, ...records.map((r) => r.ttl * 1000));
      } else if ((v4.ok || v4.missing) && (v6.ok || v6.missing)) {
        answer = { kind: "none" };
        ttlMs = negativeTtlMs;
      } else {
        answer = { kind: "temp-fail", reason: [v4, v6].flatMap((r) => (r.ok || r.missing ? [] : [r.reason])).join("; ") };
        ttlMs = tempFailTtlMs;
      }
      addressCache.set(host, answer, now() + ttlMs);
      return answer;
    });
  }

  async function resolveTxt(rawName: string): Promise<TxtAnswer> {
    const name = normalizeDomain(rawName);
    return shared(`txt:${name}`, async () => {
      try {
        return { kind: "records" as const, records: await withTimeout(resolver.resolveTxt(name), `TXT lookup for ${name}`) };
      } catch (err) {
        const code = errorCode(err);
        if (NOT_FOUND_CODES.has(code) || NO_DATA_CODES.has(code)) return { kind: "none" as const };
        return { kind: "temp-fail" as const, reason: `TXT lookup for ${name} failed: ${code || describe(err)}` };
      }
    });
  }

  return { resolve, resolveHostAddresses, resolveTxt };
}
