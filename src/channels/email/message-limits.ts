// Message limits (frequency caps) and quiet hours: the workspace's settings, and the arithmetic of
// a cap. A cap is "at most `count` counted messages per person per `periodMs`", over every journey
// and broadcast together (transactional mail never counts). The counted sends are the outreach
// ledger's rows with counted = 1 (outreach-ledger.repository.ts); the mailer checks them before
// accepting and again in the accepting transaction, under a per-person lock, so two concurrent
// sends to one person cannot both take the last place (outreach.mailer.ts).
import type { Store } from "../../store/store.js";
import type { Clock } from "../../shared/clock.js";
import type { MessageLimits, MessageLimitsSettings } from "./outreach.port.js";
import { OutreachLimitsInvalid } from "./outreach.errors.js";
import { isTimeZone } from "./quiet-hours.js";
import type { MessageLimitsRepository } from "./message-limits.repository.js";

export const NO_LIMITS: Readonly<MessageLimits> = Object.freeze({ caps: [], quietHours: null });
/** Bounds of what can be set: a handful of caps, periods from a minute to a year. */
export const MOST_CAPS = 10;
export const MOST_CAP_COUNT = 10_000;
export const SHORTEST_PERIOD_MS = 60_000;
export const LONGEST_PERIOD_MS = 366 * 24 * 3_600_000;
/** Settings are read per send batch; a short cache keeps that off the database without hiding a change for long. */
const CACHE_MS = 1_000;

/**
 * When a person with these counted sends (times, any order) has room for `adding` more under every
 * cap at `now`: now, or the time the sends in the way leave their period.
 */
export function roomAt(caps: MessageLimits["caps"], sends: number[], adding: number, now: number): number {
  let at = now;
  const newest = [...sends].sort((a, b) => b - a);
  for (const cap of caps) {
    const inPeriod = newest.filter((t) => t > now - cap.periodMs);
    const over = inPeriod.length + adding - cap.count;
    if (over <= 0) continue;
    // Room for one more once the oldest sends in the way leave: the (count - adding + 1)-th newest.
    const blocking = inPeriod[cap.count - adding];
    at = Math.max(at, blocking === undefined ? now + cap.periodMs : blocking + cap.periodMs);
  }
  return at;
}

export function validateLimits(limits: MessageLimits): MessageLimits {
  if (!Array.isArray(limits.caps) || limits.caps.length > MOST_CAPS) throw OutreachLimitsInvalid(`At most ${MOST_CAPS} caps.`, { field: "caps" });
  limits.caps.forEach((cap, i) => {
    if (!Number.isInteger(cap.count) || cap.count < 1 || cap.count > MOST_CAP_COUNT) throw OutreachLimitsInvalid(`caps[${i}].count must be an integer from 1 to ${MOST_CAP_COUNT}.`, { field: `caps[${i}].count` });
    if (!Number.isInteger(cap.periodMs) || cap.periodMs < SHORTEST_PERIOD_MS || cap.periodMs > LONGEST_PERIOD_MS) throw OutreachLimitsInvalid(`caps[${i}].period must be from 1 minute to 366 days.`, { field: `caps[${i}].period` });
  });
  const q = limits.quietHours;
  if (q) {
    for (const key of ["fromMinute", "toMinute"] as const) {
      if (!Number.isInteger(q[key]) || q[key] < 0 || q[key] >= 1440) throw OutreachLimitsInvalid(`quiet_hours.${key === "fromMinute" ? "from" : "to"} must be a time of day (HH:MM).`, { field: `quiet_hours.${key === "fromMinute" ? "from" : "to"}` });
    }
    if (typeof q.fallbackTimezone !== "string" || !isTimeZone(q.fallbackTimezone)) throw OutreachLimitsInvalid("quiet_hours.fallback_timezone must be an IANA time zone (Europe/Berlin).", { field: "quiet_hours.fallback_timezone" });
  }
  return { caps: limits.caps.map((c) => ({ count: c.count, periodMs: c.periodMs })), quietHours: q ? { fromMinute: q.fromMinute, toMinute: q.toMinute, fallbackTimezone: q.fallbackTimezone } : null };
}

export class StoredMessageLimits implements MessageLimitsSettings {
  private readonly cache = new Map<string, { limits: MessageLimits; at: number }>();

  constructor(private readonly deps: { store: Store; clock: Clock; repository: MessageLimitsRepository }) {}

  async get(workspaceId: string): Promise<MessageLimits> {
    const now = this.deps.clock.now();
    const cached = this.cache.get(workspaceId);
    if (cached && now - cached.at < CACHE_MS && now >= cached.at) return cached.limits;
    const limits = (await this.deps.repository.find(this.deps.store.db, workspaceId)) ?? NO_LIMITS;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(workspaceId, { limits, at: now });
    return limits;
  }

  async set(workspaceId: string, limits: MessageLimits): Promise<MessageLimits> {
    const valid = validateLimits(limits);
    await this.deps.store.write((trx) => this.deps.repository.save(trx, workspaceId, valid, this.deps.clock.now()));
    this.cache.delete(workspaceId);
    return valid;
  }
}
