// The state the transport keeps per destination between deliveries: the limits and adaptive
// throttle of each cap (a limits entry like "google", or one MX host set), and which host sets
// are unreachable for now. Kept apart from the transport so the transport reads as a flow.
import type { DestinationLimits } from "./destination-limits.js";
import type { DestinationUnreachable } from "../smtp-client/smtp.connector.js";
import { AdaptiveThrottle, TokenBucket } from "./throttle.js";

/** What the shaping needs of a site's ready queue (DestinationPool). */
export interface ShapedQueue {
  readonly inUse: number;
  failWaiting(err: unknown): void;
  trim(): void;
  wake(): void;
}

/** One cap: its limits, its throttle and message-rate bucket, shared by the sites under it. */
export class DestinationShaping {
  readonly throttle: AdaptiveThrottle;
  private bucket: TokenBucket | null = null;
  private rateKey = "";
  /** Live sites (ready queues) under this cap, by site key. */
  readonly sites = new Map<string, ShapedQueue>();
  /** The last reply that slowed this destination down, for the reasons of deferrals. */
  lastThrottleReply = "";

  constructor(
    readonly key: string,
    /** The limits entry the cap belongs to, null for a plain MX host set. */
    readonly entry: string | null,
    public limits: DestinationLimits,
    private readonly now: () => number,
    cooldownMs: number,
  ) {
    this.throttle = new AdaptiveThrottle(now, cooldownMs);
    this.update(limits);
  }

  /** Called with the limits in force at each delivery, so a reloaded file takes effect at once. */
  update(limits: DestinationLimits): void {
    this.limits = limits;
    const rate = limits.messageRate;
    const key = rate ? `${rate.messages}/${rate.perMs}/${rate.burst}` : "";
    if (key === this.rateKey) return;
    this.rateKey = key;
    if (!rate) this.bucket = null;
    else if (this.bucket) this.bucket.setRate(rate);
    else this.bucket = new TokenBucket(rate, this.now);
  }

  /** The connection cap now: the configured one, lowered by the throttle. */
  connectionLimit(): number {
    return this.throttle.connectionLimit(this.limits.maxConnections);
  }

  inUse(): number {
    let total = 0;
    for (const site of this.sites.values()) total += site.inUse;
    return total;
  }

  /** Ms to wait for the message-rate cap (a token reserved), or null when that exceeds maxWaitMs. */
  reserveMessage(maxWaitMs: number): number | null {
    return this.bucket ? this.bucket.reserve(maxWaitMs) : 0;
  }

  get isIdle(): boolean {
    return this.sites.size === 0 && this.throttle.isNeutral;
  }
}

export interface UnreachableState {
  until: number;
  failure: DestinationUnreachable;
  /** The window the next failure gets. */
  nextWindowMs: number;
}

/**
 * Host sets whose every host failed to connect (RFC 5321 §4.5.4.1: a client should remember
 * unreachable destinations rather than try each message against them). Deliveries to one are
 * deferred at once until its window ends; then one connection probes it, and if that fails too
 * the window doubles, up to maxWindowMs. A connection that succeeds forgets the destination.
 */
export class UnreachableDestinations {
  private readonly states = new Map<string, UnreachableState>();

  constructor(
    private readonly firstWindowMs: number,
    private readonly maxWindowMs: number,
    private readonly now: () => number,
    private readonly maxEntries = 10_000,
  ) {}

  list(): Array<{ key: string } & UnreachableState> {
    return [...this.states].filter(([, s]) => s.until > this.now()).map(([key, s]) => ({ key, ...s }));
  }

  get(siteKey: string): UnreachableState | null {
    const state = this.states.get(siteKey);
    return state && state.until > this.now() ? state : null;
  }

  mark(siteKey: string, failure: DestinationUnreachable): UnreachableState {
    const previous = this.states.get(siteKey);
    const windowMs = Math.min(previous?.nextWindowMs ?? this.firstWindowMs, this.maxWindowMs);
    const state = { until: this.now() + windowMs, failure, nextWindowMs: Math.min(windowMs * 2, this.maxWindowMs) };
    this.states.delete(siteKey);
    this.states.set(siteKey, state);
    if (this.states.size > this.maxEntries) this.states.delete(this.states.keys().next().value!);
    return state;
  }

  clear(siteKey: string): void {
    this.states.delete(siteKey);
  }
}
