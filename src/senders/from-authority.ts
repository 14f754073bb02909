// The standing of From addresses for acceptance's From rule (messages/accept/sender.step.ts):
// allowed when the address's domain is DKIM-verified or the address is a confirmed signature.
// Looked up once per acceptance call for its distinct addresses and domains, and remembered for a
// few seconds, as the workspace service remembers streams: a busy sender costs no query per
// message. A change made in this process (confirm, delete, a domain verified) clears the memory
// at once; another process's change is seen within STANDING_CACHE_MS.
import { addressKey, domainOf } from "../shared/email-address.js";
import type { Clock } from "../shared/clock.js";
import type { Store } from "../store/store.js";
import type { FromAuthority, FromStanding } from "../messages/accept/sender.step.js";
import type { SendersRepository } from "./senders.repository.js";

/** How long a looked-up standing is used; short, so a revoked signature stops working quickly. */
export const STANDING_CACHE_MS = 5_000;
/** Entries kept at most; past this the memory is emptied (a crude bound, as for the auth cache). */
const MAX_ENTRIES = 10_000;

type AddressState = "confirmed" | "unconfirmed" | "none";

export interface SenderStandingDeps {
  store: Store;
  clock: Clock;
  repository: SendersRepository;
  /** Of these domain names, the DKIM-verified ones (SendingDomainsService.dkimVerifiedNames). */
  verifiedDomains(names: string[]): Promise<Set<string>>;
}

export class SenderStanding implements FromAuthority {
  private readonly addresses = new Map<string, { state: AddressState; until: number }>();
  private readonly domains = new Map<string, { verified: boolean; until: number }>();

  constructor(private readonly deps: SenderStandingDeps) {}

  /**
   * Answered at once, without a promise, when every address is remembered: the steady state of a
   * busy sender costs a few map lookups per message and no turn of the event loop.
   */
  standingOf(emails: string[]): Map<string, FromStanding> | Promise<Map<string, FromStanding>> {
    const now = this.deps.clock.now();
    const result = new Map<string, FromStanding>();
    for (const email of emails) {
      const key = addressKey(email);
      const domain = this.domains.get(domainOf(key));
      if (!domain || domain.until <= now) return this.lookUp(emails, now);
      if (domain.verified) {
        result.set(key, "allowed");
        continue;
      }
      const address = this.addresses.get(key);
      if (!address || address.until <= now) return this.lookUp(emails, now);
      result.set(key, standingOfState(address.state));
    }
    return result;
  }

  private async lookUp(emails: string[], now: number): Promise<Map<string, FromStanding>> {
    const keys = [...new Set(emails.map(addressKey))];
    const verified = new Map<string, boolean>();
    const staleDomains: string[] = [];
    for (const d of new Set(keys.map(domainOf))) {
      const cached = this.domains.get(d);
      if (cached && cached.until > now) verified.set(d, cached.verified);
      else staleDomains.push(d);
    }
    if (staleDomains.length > 0) {
      const found = await this.deps.verifiedDomains(staleDomains);
      this.bound();
      for (const d of staleDomains) {
        verified.set(d, found.has(d));
        this.domains.set(d, { verified: found.has(d), until: now + STANDING_CACHE_MS });
      }
    }
    // Addresses on a verified domain need no signature lookup.
    const states = new Map<string, AddressState>();
    const staleKeys: string[] = [];
    for (const k of keys) {
      if (verified.get(domainOf(k))) continue;
      const cached = this.addresses.get(k);
      if (cached && cached.until > now) states.set(k, cached.state);
      else staleKeys.push(k);
    }
    if (staleKeys.length > 0) {
      const found = await this.deps.repository.confirmationOf(this.deps.store.db, staleKeys);
      this.bound();
      for (const k of staleKeys) {
        const confirmed = found.get(k);
        const state: AddressState = confirmed === undefined ? "none" : confirmed ? "confirmed" : "unconfirmed";
        states.set(k, state);
        this.addresses.set(k, { state, until: now + STANDING_CACHE_MS });
      }
    }
    const result = new Map<string, FromStanding>();
    for (const k of keys) {
      const state = states.get(k);
      result.set(k, verified.get(domainOf(k)) ? "allowed" : standingOfState(state ?? "none"));
    }
    return result;
  }

  /** Drops everything remembered: a signature or domain changed in this process. */
  forget(): void {
    this.addresses.clear();
    this.domains.clear();
  }

  private bound(): void {
    if (this.addresses.size + this.domains.size >= MAX_ENTRIES) this.forget();
  }
}

function standingOfState(state: AddressState): FromStanding {
  return state === "confirmed" ? "allowed" : state === "unconfirmed" ? "unconfirmed" : "unknown";
}
