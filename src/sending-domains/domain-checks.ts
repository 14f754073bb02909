// The DNS checks behind verification: which records are published, judged against what the
// domain should publish. Returns what to change; the service writes it. A temporary DNS failure
// changes nothing (a SERVFAIL must not un-verify a domain). DKIM verification is sticky, as
// Postmark's is; SPF and the return path follow the latest definite answer, since the MTA relies
// on the return-path CNAME for bounces.
import type { Logger } from "../shared/logger.js";
import type { DkimKeyRow, SendingDomainRow } from "./sending-domains.schema.js";
import type { DomainDns } from "./domain-dns.js";
import { dkimHost } from "./dkim-keys.js";
import { publishesDkimKey, sameHost, spfIncludesMechanism, spfMechanism, type SpfSettings } from "./dns-records.js";

export type Checks = { dkim?: boolean; spf?: boolean; returnPath?: boolean };

export type DkimCheck = {
  keyChanges: Array<{ keyId: number; changes: { rsa_verified_at?: number; ed25519_verified_at?: number | null } }>;
  /** The pending key to activate, when its record was found. */
  activate: number | null;
};

export interface CheckResult {
  /** New spf_verified_at / return_path_verified_at; undefined means "keep" (not checked, or DNS failed). */
  spf: number | null | undefined;
  returnPath: number | null | undefined;
  dkim: DkimCheck;
}

export class DomainChecker {
  constructor(private readonly deps: { dns: DomainDns; logger: Logger; settings: SpfSettings & { ed25519: boolean } }) {}

  async check(row: SendingDomainRow, keys: DkimKeyRow[], checks: Checks, now: number): Promise<CheckResult> {
    const [spf, returnPath, dkim] = await Promise.all([
      checks.spf ? this.checkSpf(row, now) : undefined,
      checks.returnPath ? this.checkReturnPath(row, now) : undefined,
      checks.dkim ? this.checkDkim(row, keys, now) : ({ keyChanges: [], activate: null } satisfies DkimCheck),
    ]);
    return { spf, returnPath, dkim };
  }

  /** The new spf_verified_at, or undefined to keep it (temporary failure). */
  private async checkSpf(row: SendingDomainRow, now: number): Promise<number | null | undefined> {
    const answer = await this.deps.dns.txt(row.name);
    if (answer.kind === "temp-fail") return this.keep(row.name, answer.reason);
    const ok = answer.kind === "found" && spfIncludesMechanism(answer.value, spfMechanism(this.deps.settings));
    return ok ? (row.spf_verified_at ?? now) : null;
  }

  private async checkReturnPath(row: SendingDomainRow, now: number): Promise<number | null | undefined> {
    const answer = await this.deps.dns.cname(row.return_path_domain);
    if (answer.kind === "temp-fail") return this.keep(row.name, answer.reason);
    const ok = answer.kind === "found" && answer.value.some((target) => sameHost(target, this.deps.settings.hostname));
    return ok ? (row.return_path_verified_at ?? now) : null;
  }

  /**
   * The pending key's RSA record activates it. Ed25519 records are tracked on their own: a key
   * signs with Ed25519 only while its record is published, so a missing one costs nothing but
   * the second signature.
   */
  private async checkDkim(row: SendingDomainRow, keys: DkimKeyRow[], now: number): Promise<DkimCheck> {
    const result: DkimCheck = { keyChanges: [], activate: null };
    const pending = keys.find((k) => k.state === "pending");
    const active = keys.find((k) => k.state === "active");
    const lookups: Array<Promise<void>> = [];
    if (pending) {
      lookups.push(
        this.published(row.name, pending.selector, "rsa", pending.rsa_public_key).then((found) => {
          if (found === true) {
            result.keyChanges.push({ keyId: pending.id, changes: { rsa_verified_at: now } });
            result.activate = pending.id;
          }
        }),
      );
    }
    for (const key of this.deps.settings.ed25519 ? [pending, active] : []) {
      if (!key) continue;
      lookups.push(
        this.published(row.name, key.ed25519_selector, "ed25519", key.ed25519_public_key).then((found) => {
          if (found === undefined) return;
          const verifiedAt = found ? (key.ed25519_verified_at ?? now) : null;
          if (verifiedAt !== key.ed25519_verified_at) result.keyChanges.push({ keyId: key.id, changes: { ed25519_verified_at: verifiedAt } });
        }),
      );
    }
    await Promise.all(lookups);
    return result;
  }

  /** Whether the key's TXT record is published; undefined on a temporary failure. */
  private async published(domain: string, selector: string, algorithm: "rsa" | "ed25519", publicKey: string): Promise<boolean | undefined> {
    const answer = await this.deps.dns.txt(dkimHost(selector, domain));
    if (answer.kind === "temp-fail") return this.keep(domain, answer.reason);
    return answer.kind === "found" && publishesDkimKey(answer.value, algorithm, publicKey);
  }

  private keep(domain: string, reason: string): undefined {
    this.deps.logger.warn({ event: "sending-domain.dns.lookup-failed", domain, reason }, "DNS lookup failed; verification state unchanged");
    return undefined;
  }
}
