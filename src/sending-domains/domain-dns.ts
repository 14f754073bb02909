// DNS lookups for verifying sending domains: TXT (DKIM, SPF) and CNAME (return path), through
// the resolvers in POSTHORN_DNS_SERVERS when set. Nothing is cached here: a verify call should
// see what the DNS says now (the recursive resolver caches by TTL anyway).
import { Resolver } from "node:dns/promises";

export type DnsAnswer<T> =
  | { kind: "found"; value: T }
  /** NXDOMAIN or no records of that type: a definite "not published". */
  | { kind: "missing" }
  /** SERVFAIL, refused, timeout: says nothing about the records, so verification state is kept. */
  | { kind: "temp-fail"; reason: string };

export interface DomainDns {
  /** Each TXT record with its character-strings joined (RFC 7208 §3.3, RFC 6376 §3.6.2.2). */
  txt(name: string): Promise<DnsAnswer<string[]>>;
  /** CNAME targets, lower-case, without the root dot. */
  cname(name: string): Promise<DnsAnswer<string[]>>;
}

export interface DomainDnsOptions {
  /** "ip" or "ip:port" entries for Resolver.setServers; the system's resolvers when null/empty. */
  dnsServers?: readonly string[] | null;
  /** Whole time one lookup may take. Default 5 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const MISSING_CODES = new Set(["ENOTFOUND", "ENODATA"]);

export function createDomainDns(options: DomainDnsOptions = {}): DomainDns {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // As in mta/routing/mx.resolver.ts: c-ares doubles its timeout per try, so T + 2T fits the budget.
  const resolver = new Resolver({ timeout: Math.max(50, Math.floor(timeoutMs / 3)), tries: 2 });
  if (options.dnsServers?.length) resolver.setServers([...options.dnsServers]);

  async function lookup<T>(what: string, query: () => Promise<T>): Promise<DnsAnswer<T>> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`${what} timed out after ${timeoutMs} ms`), { code: "ETIMEOUT" })), timeoutMs);
    });
    try {
      return { kind: "found", value: await Promise.race([query(), timeout]) };
    } catch (err) {
      const code = (err as { code?: string }).code ?? "";
      if (MISSING_CODES.has(code)) return { kind: "missing" };
      return { kind: "temp-fail", reason: `${what} failed: ${code || (err as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    txt: (name) => lookup(`TXT lookup for ${name}`, async () => (await resolver.resolveTxt(name)).map((chunks) => chunks.join(""))),
    cname: (name) =>
      lookup(`CNAME lookup for ${name}`, async () => (await resolver.resolveCname(name)).map((t) => t.toLowerCase().replace(/\.$/, ""))),
  };
}
