// SPF, DKIM and DMARC of inbound mail, computed with mailauth. The result is an
// Authentication-Results header (RFC 8601) and a Received-SPF header, put on top of the stored
// message, plus the three verdict words the spam headers are derived from. DNS goes through the
// given resolver (the configured servers in production, a fixed zone in tests); a check that does
// not finish in time gives temperror instead of holding the SMTP session.
import { Resolver } from "node:dns/promises";
import { lazyModule } from "../shared/lazy-module.js";
import type { AuthVerdicts } from "./spam-headers.js";

const mailauth = lazyModule<typeof import("mailauth")>("mailauth");

/** A DNS lookup as mailauth calls it: (name, rrtype) → records, like dns.promises.resolve. */
export type DnsResolve = (name: string, rrtype: string) => Promise<unknown>;

export interface AuthenticationInput {
  raw: Buffer;
  /** The connecting client's address. */
  ip: string;
  helo: string;
  /** MAIL FROM ("" for the null sender). */
  sender: string;
}

export interface AuthenticationResult {
  /** Header lines to prepend (CRLF-terminated), or "" when the check could not run. */
  headers: string;
  verdicts: AuthVerdicts;
}

export interface Authenticator {
  check(input: AuthenticationInput): Promise<AuthenticationResult>;
}

const TEMPERROR: AuthVerdicts = { spf: "temperror", dkim: "temperror", dmarc: "temperror" };

export function createAuthenticator(options: { hostname: string; resolve?: DnsResolve; dnsServers?: readonly string[] | null; timeoutMs?: number }): Authenticator {
  const resolve = options.resolve ?? systemResolve(options.dnsServers ?? null);
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    async check(input) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((done) => (timer = setTimeout(() => done(null), timeoutMs)));
      try {
        const result = await Promise.race([
          mailauth().authenticate(input.raw, { ip: input.ip, helo: input.helo, sender: input.sender, mta: options.hostname, resolver: resolve as never, disableBimi: true }),
          timeout,
        ]);
        if (!result) return { headers: `Authentication-Results: ${options.hostname}; none (checks timed out)\r\n`, verdicts: TEMPERROR };
        return { headers: result.headers, verdicts: verdictsOf(result) };
      } catch {
        return { headers: "", verdicts: TEMPERROR };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

interface MailauthResult {
  spf?: { status?: { result?: string } } | false;
  dkim?: { results?: Array<{ status?: { result?: string } }> };
  dmarc?: { status?: { result?: string } } | false;
}

/** DKIM counts as pass when any signature passes, as DMARC reads it; fail when all fail. */
function verdictsOf(result: MailauthResult): AuthVerdicts {
  const dkimResults = (result.dkim?.results ?? []).map((r) => r.status?.result ?? "none");
  const dkim = dkimResults.length === 0 ? "none" : dkimResults.includes("pass") ? "pass" : (dkimResults[0] ?? "none");
  return {
    spf: (result.spf && result.spf.status?.result) || "none",
    dkim,
    dmarc: (result.dmarc && result.dmarc.status?.result) || "none",
  };
}

function systemResolve(servers: readonly string[] | null): DnsResolve {
  const resolver = new Resolver({ timeout: 3_000, tries: 2 });
  if (servers && servers.length > 0) resolver.setServers([...servers]);
  return (name, rrtype) => resolver.resolve(name, rrtype);
}
