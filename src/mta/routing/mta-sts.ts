// MTA-STS (RFC 8461): a domain publishes, over HTTPS, which MX hosts are its own and that mail to
// it must go over TLS with a valid certificate. Discovery is a TXT record at _mta-sts.<domain>
// naming the policy's id; the policy itself is at https://mta-sts.<domain>/.well-known/mta-sts.txt.
//
// What we do with it (the transport applies it): mode "enforce" delivers only to MX hosts matching
// the policy's mx patterns, over TLS with a certificate valid for the MX name, and defers
// otherwise; "testing" and "none" change nothing (we do not send TLS reports, RFC 8460).
//
// Failures never block mail: no TXT record, a DNS error, an unreachable policy host or a bad
// policy all mean "no policy", unless an earlier policy is still cached (§5.1: a cached policy
// stays in force until its max_age runs out, which is what protects against an attacker who
// blocks the fetch). The cache is per process and in memory; a restart refetches.
import https from "node:https";
import type { HostAddresses, TxtAnswer } from "./mx.resolver.js";

export type MtaStsMode = "enforce" | "testing" | "none";

export interface MtaStsPolicy {
  id: string;
  mode: MtaStsMode;
  /** "mail.example.com" or "*.example.com" (one leftmost label, §4.1). */
  mx: string[];
  maxAgeSeconds: number;
}

export interface MtaStsResolver {
  /** The policy in force for `domain`, or null for none. Never throws. */
  policyFor(domain: string): Promise<MtaStsPolicy | null>;
}

export interface MtaStsOptions {
  resolveTxt(name: string): Promise<TxtAnswer>;
  resolveHostAddresses(host: string): Promise<HostAddresses>;
  /** HTTPS port of the policy host: 443; configurable for tests. */
  port?: number;
  /** Trust anchors replacing the system's CAs; tests only. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Time for one policy fetch. Default 10 s: a slow policy host must not hold deliveries long. */
  fetchTimeoutMs?: number;
  /** How long a cached policy goes before its TXT id is looked at again. Default 5 min. */
  recheckMs?: number;
  /** How long "no policy" is remembered for a domain. Default 5 min. */
  negativeCacheMs?: number;
  maxEntries?: number;
  now?: () => number;
  logger?: { warn(obj: object, msg: string): void };
}

/** RFC 8461 §3.2: max_age is at most 31557600 seconds (about a year). */
const MAX_AGE_LIMIT_SECONDS = 31_557_600;
/** Policies are a few lines; refuse anything large rather than buffer it. */
const MAX_POLICY_BYTES = 64 * 1024;

/** §3.1: the one TXT record starting "v=STSv1", with its id; anything else is no policy. */
export function parseStsTxt(records: string[][]): { id: string } | null {
  const sts = records.map((chunks) => chunks.join("")).filter((text) => /^v=STSv1(;|\s|$)/.test(text));
  if (sts.length !== 1) return null;
  const fields = new Map(
    sts[0]!
      .split(";")
      .map((field) => field.trim())
      .filter(Boolean)
      .map((field) => [field.slice(0, field.indexOf("=")).trim(), field.slice(field.indexOf("=") + 1).trim()] as const),
  );
  const id = fields.get("id");
  return id && /^[A-Za-z0-9]{1,32}$/.test(id) ? { id } : null;
}

/** §3.2: "key: value" lines; returns the policy, or why it is not one. */
export function parseMtaStsPolicy(text: string, id: string): MtaStsPolicy | { error: string } {
  const fields = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return { error: `not a "key: value" line: ${JSON.stringify(line.slice(0, 80))}` };
    const key = line.slice(0, colon).trim().toLowerCase();
    fields.set(key, [...(fields.get(key) ?? []), line.slice(colon + 1).trim()]);
  }
  if (fields.get("version")?.[0] !== "STSv1") return { error: "version is not STSv1" };
  const mode = fields.get("mode")?.[0];
  if (mode !== "enforce" && mode !== "testing" && mode !== "none") return { error: `unknown mode ${JSON.stringify(mode)}` };
  const maxAge = fields.get("max_age")?.[0];
  if (!maxAge || !/^\d{1,10}$/.test(maxAge)) return { error: "max_age is missing or not a number" };
  const mx = (fields.get("mx") ?? []).map((p) => p.toLowerCase().replace(/\.$/, ""));
  if (mode !== "none" && mx.length === 0) return { error: "no mx patterns" };
  return { id, mode, mx, maxAgeSeconds: Math.min(Number(maxAge), MAX_AGE_LIMIT_SECONDS) };
}

/** §4.1: an exact name, or "*." matching exactly one leftmost label; case-insensitive. */
export function mxMatchesPolicy(host: string, patterns: readonly string[]): boolean {
  const name = host.toLowerCase().replace(/\.$/, "");
  return patterns.some((pattern) => {
    if (!pattern.startsWith("*.")) return name === pattern;
    const dot = name.indexOf(".");
    return dot > 0 && name.slice(dot) === pattern.slice(1);
  });
}

interface CacheEntry {
  /** The policy in force, or null for none. */
  policy: MtaStsPolicy | null;
  /** When the policy's max_age ends (or when "none" is forgotten). */
  expiresAt: number;
  /** When to look at the TXT id again. */
  recheckAt: number;
}

export function createMtaStsResolver(options: MtaStsOptions): MtaStsResolver {
  const now = options.now ?? Date.now;
  const port = options.port ?? 443;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? 10_000;
  const recheckMs = options.recheckMs ?? 5 * 60_000;
  const negativeCacheMs = options.negativeCacheMs ?? 5 * 60_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const cache = new Map<string, CacheEntry>();
  const pending = new Map<string, Promise<MtaStsPolicy | null>>();

  function remember(domain: string, entry: CacheEntry): void {
    cache.delete(domain);
    cache.set(domain, entry);
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
  }

  function fetchFrom(address: string, host: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const request = https.request(
        {
          host: address,
          port,
          path: "/.well-known/mta-sts.txt",
          method: "GET",
          servername: host,
          headers: { host, accept: "text/plain" },
          ...(options.ca ? { ca: options.ca } : {}),
          rejectUnauthorized: true,
          agent: false,
          timeout: fetchTimeoutMs,
        },
        (response) => {
          // §3.3: redirects MUST NOT be followed; only a 200 carries a policy.
          if (response.statusCode !== 200) {
            response.resume();
            reject(new Error(`HTTP ${response.statusCode ?? "?"} from ${host}`));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          response.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_POLICY_BYTES) request.destroy(new Error(`policy larger than ${MAX_POLICY_BYTES} bytes`));
            else chunks.push(chunk);
          });
          response.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
          response.on("error", reject);
        },
      );
      request.on("timeout", () => request.destroy(new Error(`no policy from ${host} within ${fetchTimeoutMs} ms`)));
      request.on("error", reject);
      request.end();
    });
  }

  async function fetchPolicy(domain: string, id: string): Promise<MtaStsPolicy> {
    const host = `mta-sts.${domain}`;
    const addresses = await options.resolveHostAddresses(host);
    if (addresses.kind !== "addresses") throw new Error(addresses.kind === "none" ? `${host} has no address` : addresses.reason);
    let lastError: Error = new Error(`${host} has no address`);
    for (const address of addresses.addresses) {
      try {
        const parsed = parseMtaStsPolicy(await fetchFrom(address, host), id);
        if ("error" in parsed) throw new Error(`bad policy at ${host}: ${parsed.error}`);
        return parsed;
      } catch (err) {
        lastError = err as Error;
      }
    }
    throw lastError;
  }

  async function refresh(domain: string, cached: CacheEntry | undefined): Promise<MtaStsPolicy | null> {
    const current = cached && cached.expiresAt > now() ? cached.policy : null;
    const txt = await options.resolveTxt(`_mta-sts.${domain}`);
    const record = txt.kind === "records" ? parseStsTxt(txt.records) : null;
    if (!record) {
      // No (valid) record: a cached policy stays until its max_age ends (§5.1); a DNS failure
      // is retried sooner than a plain absence.
      const retryMs = txt.kind === "temp-fail" ? Math.min(negativeCacheMs, 60_000) : negativeCacheMs;
      remember(domain, current ? { ...cached!, recheckAt: now() + retryMs } : { policy: null, expiresAt: now() + retryMs, recheckAt: now() + retryMs });
      return current;
    }
    if (current && current.id === record.id) {
      remember(domain, { ...cached!, recheckAt: now() + recheckMs });
      return current;
    }
    try {
      const policy = await fetchPolicy(domain, record.id);
      const expiresAt = now() + policy.maxAgeSeconds * 1000;
      remember(domain, { policy, expiresAt, recheckAt: Math.min(expiresAt, now() + recheckMs) });
      return policy;
    } catch (err) {
      options.logger?.warn({ event: "mta.mta-sts.fetch-failed", domain, err: (err as Error).message }, "MTA-STS policy fetch failed");
      remember(domain, current ? { ...cached!, recheckAt: now() + negativeCacheMs } : { policy: null, expiresAt: now() + negativeCacheMs, recheckAt: now() + negativeCacheMs });
      return current;
    }
  }

  return {
    async policyFor(rawDomain: string): Promise<MtaStsPolicy | null> {
      const domain = rawDomain.toLowerCase().replace(/\.$/, "");
      const cached = cache.get(domain);
      if (cached && cached.recheckAt > now()) return cached.expiresAt > now() ? cached.policy : null;
      const inFlight = pending.get(domain);
      if (inFlight) return inFlight;
      const started = refresh(domain, cached)
        .catch(() => null)
        .finally(() => pending.delete(domain));
      pending.set(domain, started);
      return started;
    },
  };
}
