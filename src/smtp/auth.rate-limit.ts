// Failed SMTP AUTH attempts, counted per client address: after `maxFailures` failures within
// `windowMs`, AUTH from that address is refused (421 4.7.0, without checking the credentials)
// for `lockoutMs`. This slows down guessing of server tokens; tokens are long random strings, so
// the limit guards against floods more than against a real search. IPv6 clients are counted per
// /64, the block one subscriber usually holds, so that rotating through it gains nothing.
// In memory and per process: replicas each keep their own counts (a shared store would buy little
// against a guess space of 2^128). The policy is data (AUTH_RATE_LIMIT_DEFAULTS), as STYLE.md asks.
import net from "node:net";
import type { Clock } from "../shared/clock.js";
import { expandIpv6, normalizeAddress } from "./trusted-networks.js";

export interface AuthRateLimitPolicy {
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
  /** Addresses tracked at most; the oldest entry is dropped beyond this, bounding memory. */
  maxTrackedAddresses: number;
}

export const AUTH_RATE_LIMIT_DEFAULTS: AuthRateLimitPolicy = {
  maxFailures: 5,
  windowMs: 10 * 60_000,
  lockoutMs: 15 * 60_000,
  maxTrackedAddresses: 100_000,
};

interface Entry {
  windowStart: number;
  failures: number;
  lockedUntil: number;
}

export class AuthRateLimiter {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly policy: AuthRateLimitPolicy = AUTH_RATE_LIMIT_DEFAULTS,
  ) {}

  /** Whether AUTH from this address is refused right now. */
  isLocked(remoteAddress: string): boolean {
    const entry = this.entries.get(rateLimitKey(remoteAddress));
    return entry !== undefined && entry.lockedUntil > this.clock.now();
  }

  /** Counts a failure; returns true when this failure locks the address out. */
  recordFailure(remoteAddress: string): boolean {
    const key = rateLimitKey(remoteAddress);
    const now = this.clock.now();
    let entry = this.entries.get(key);
    if (!entry || now - entry.windowStart >= this.policy.windowMs) {
      entry = { windowStart: now, failures: 0, lockedUntil: entry?.lockedUntil ?? 0 };
    }
    entry.failures += 1;
    // Re-insert so the Map's order is least recently failed first, for eviction.
    this.entries.delete(key);
    if (this.entries.size >= this.policy.maxTrackedAddresses) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, entry);
    if (entry.failures >= this.policy.maxFailures) {
      entry.lockedUntil = now + this.policy.lockoutMs;
      entry.failures = 0;
      entry.windowStart = now;
      return true;
    }
    return false;
  }

  /** A successful AUTH forgets the address's failures. */
  recordSuccess(remoteAddress: string): void {
    this.entries.delete(rateLimitKey(remoteAddress));
  }
}

/** The address for IPv4, its /64 for IPv6 (as 4 expanded hextets). */
export function rateLimitKey(remoteAddress: string): string {
  const address = normalizeAddress(remoteAddress);
  if (net.isIP(address) !== 6) return address;
  return expandIpv6(address).slice(0, 4).join(":") + "::/64";
}
