// Adaptive slow-down per destination, and the message-rate cap.
//
// Providers do not publish their limits; they say so when a sender exceeds them: "421 4.7.0 Too
// many concurrent SMTP connections", Gmail's "421-4.7.28 ... unusual rate of unsolicited mail",
// Microsoft's "451 4.7.650 ... temporarily rate limited", Yahoo's "421 4.7.0 [TSS04] Messages
// from ... temporarily deferred due to unexpected volume". THROTTLE_RULES recognise these (data,
// like bounce-rules.ts). A destination that sends one gets fewer connections at once (the cap is
// halved, as TCP halves its window on loss: Postfix's destination concurrency feedback and
// KumoMTA's traffic shaping automation do likewise), a rate-limit reply also pauses it for a while
// (growing while the replies continue), and the cap grows back by one connection per
// `recoveryMessages` delivered (additive increase), so the sender probes back up to the limit.
import type { SmtpReply } from "../mta.types.js";
import type { ThrottleSettings } from "./destination-limits.js";

/** connections: we have too many open at once. rate: we send too fast (or are distrusted). */
export type ThrottleKind = "connections" | "rate";

export interface ThrottleRule {
  readonly name: string;
  /** null: a reply that mentions such words but is not about our volume; stops the search. */
  readonly kind: ThrottleKind | null;
  readonly code?: RegExp;
  readonly enhanced?: RegExp;
  readonly text?: RegExp;
}

/** First match decides; every pattern given in one rule must match. */
export const THROTTLE_RULES: readonly ThrottleRule[] = [
  // Greylisting defers one message from an unknown sender, whatever the volume; "too many
  // recipients" (452, RFC 5321 §4.5.3.1.10) limits one transaction. Neither asks us to slow down.
  { name: "greylisting", kind: null, text: /gr[ae]y-?list/i },
  { name: "too-many-recipients", kind: null, text: /too many recipients/i },
  {
    name: "too-many-connections",
    kind: "connections",
    code: /^[45]/,
    text: /too many (open |concurrent |simultaneous )?(connections|connected clients|sessions|smtp connections)|too many concurrent|connection (count )?limit|maximum (number of )?connections/i,
  },
  // Gmail: "421-4.7.28 Our system has detected an unusual rate of unsolicited mail".
  { name: "gmail-unusual-rate", kind: "rate", code: /^[45]/, enhanced: /^4\.7\.28$/ },
  // Microsoft: "451 4.7.650 The mail server [IP] has been temporarily rate limited due to IP
  // reputation" and "451 4.7.500 Server busy. Please try again later from [IP]".
  { name: "microsoft-rate-limited", kind: "rate", code: /^4/, enhanced: /^4\.7\.(500|650)$/ },
  // Yahoo and AOL: "421 4.7.0 [TSS04] Messages from IP temporarily deferred due to unexpected
  // volume or user complaints" (also [TS01], [TS02]). Their 5xx "[TS03] permanently deferred"
  // is a block, left to the bounce rules.
  { name: "yahoo-deferred", kind: "rate", code: /^4/, text: /\[TSS?\d\d\]/ },
  {
    name: "rate-limit-text",
    kind: "rate",
    code: /^[45]/,
    text: /rate.?limit|exceeded (the |your )?(message |sending |connection )?rate|unusual rate|sending rate|at a rate|throttl|unexpected volume|too (much|many) (mail|messages|e-?mails)/i,
  },
  // A 421 with a policy status (4.7.x) closes the channel over something about us, not about a
  // message: Gmail's "421-4.7.0 Try again later, closing connection" is its generic slow-down.
  { name: "closing-on-policy", kind: "rate", code: /^421$/, enhanced: /^4\.7\.\d+$/ },
];

export function throttleKindOf(reply: SmtpReply | null, rules: readonly ThrottleRule[] = THROTTLE_RULES): { kind: ThrottleKind; rule: string } | null {
  if (!reply || reply.code < 400) return null;
  const code = String(reply.code);
  const enhanced = reply.enhanced ?? "";
  for (const rule of rules) {
    if (rule.code && !rule.code.test(code)) continue;
    if (rule.enhanced && !rule.enhanced.test(enhanced)) continue;
    if (rule.text && !rule.text.test(reply.text)) continue;
    return rule.kind ? { kind: rule.kind, rule: rule.name } : null;
  }
  return null;
}

export interface ThrottleChange {
  kind: ThrottleKind;
  rule: string;
  /** The connection cap now in force. */
  limit: number;
  /** Until when nothing is sent (epoch ms), or null when not paused. */
  pausedUntil: number | null;
}

/**
 * The adaptive state of one destination. Many connections hitting the same limit at once report
 * it together; only the first report within `cooldownMs` counts, so one episode halves the cap
 * once rather than once per connection.
 */
export class AdaptiveThrottle {
  private reducedLimit: number | null = null;
  private pausedUntilMs = 0;
  private nextPauseMs: number | null = null;
  private delivered = 0;
  private lastChangeAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly cooldownMs = 1_000,
  ) {}

  /** The cap to apply given the configured one. */
  connectionLimit(configured: number): number {
    return Math.min(configured, this.reducedLimit ?? configured);
  }

  /** Milliseconds left in a pause, 0 when not paused. */
  pauseRemaining(): number {
    return Math.max(0, this.pausedUntilMs - this.now());
  }

  get pausedUntil(): number | null {
    return this.pauseRemaining() > 0 ? this.pausedUntilMs : null;
  }

  /** At the configured cap and not paused: nothing to remember. */
  get isNeutral(): boolean {
    return this.reducedLimit === null && this.pauseRemaining() === 0;
  }

  /**
   * A throttle reply. `inUse` is how many connections were open or opening when it came: halving
   * from that, not from an unused cap, is what reduces the load. A rate-limit reply also pauses
   * the destination. Returns null when the reply belongs to an episode already counted.
   */
  onThrottle(kind: ThrottleKind, rule: string, settings: ThrottleSettings, configured: number, inUse: number): ThrottleChange | null {
    const now = this.now();
    if (now - this.lastChangeAt < this.cooldownMs) return null;
    this.lastChangeAt = now;
    this.delivered = 0;
    const current = this.connectionLimit(configured);
    this.reducedLimit = Math.max(1, Math.floor(Math.min(current, Math.max(inUse, 1)) / 2));
    if (kind === "rate") this.pause(settings);
    return { kind, rule, limit: this.reducedLimit, pausedUntil: this.pausedUntil };
  }

  /**
   * Sends nothing for a while: after a rate-limit reply, or when every host refused us. The pause
   * doubles each time until a message gets through; a pause already running is not extended.
   */
  pause(settings: ThrottleSettings): number {
    const now = this.now();
    if (this.pausedUntilMs > now) return this.pausedUntilMs;
    const pauseMs = Math.min(this.nextPauseMs ?? settings.pauseMs, settings.maxPauseMs);
    this.pausedUntilMs = now + pauseMs;
    this.nextPauseMs = Math.min(pauseMs * 2, settings.maxPauseMs);
    return this.pausedUntilMs;
  }

  /** A message was delivered: the next pause starts short again, and the cap creeps back up. */
  onDelivered(settings: ThrottleSettings, configured: number): void {
    this.nextPauseMs = null;
    if (this.reducedLimit === null) return;
    this.delivered += 1;
    if (this.delivered < settings.recoveryMessages) return;
    this.delivered = 0;
    this.reducedLimit += 1;
    if (this.reducedLimit >= configured) this.reducedLimit = null;
  }
}

/**
 * A token bucket for the message rate: `messages` per `perMs`, holding at most `burst` tokens.
 * A caller reserves a token and waits until it is due, so concurrent senders are spaced out in
 * the order they asked (reservations may take the bucket below zero).
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private rate: { messages: number; perMs: number; burst: number },
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = rate.burst;
    this.updatedAt = now();
  }

  setRate(rate: { messages: number; perMs: number; burst: number }): void {
    this.refill();
    this.rate = rate;
    this.tokens = Math.min(this.tokens, rate.burst);
  }

  /** Ms to wait before sending, having reserved a token; null (and nothing reserved) when the
   *  wait would exceed maxWaitMs. */
  reserve(maxWaitMs: number): number | null {
    this.refill();
    const msPerToken = this.rate.perMs / this.rate.messages;
    const waitMs = this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) * msPerToken);
    if (waitMs > maxWaitMs) return null;
    this.tokens -= 1;
    return waitMs;
  }

  private refill(): void {
    const now = this.now();
    const elapsed = now - this.updatedAt;
    this.updatedAt = now;
    this.tokens = Math.min(this.rate.burst, this.tokens + (elapsed * this.rate.messages) / this.rate.perMs);
  }
}
