// Time windows ("weekdays 09:00–17:00 in the person's timezone"): reading one from a document, and
// deciding whether an instant is inside it and, when not, the instant it next opens.
//
// Local times are turned into instants with Intl.DateTimeFormat's offsets (the IANA database Node
// carries), not fixed offsets, so a window holds across daylight-saving changes: on a spring-forward
// day a window opening inside the skipped hour (02:30 in New York) opens when the clocks jump
// (03:00 local, the first instant whose local time is past the opening); on a fall-back day an
// opening in the repeated hour opens at its first occurrence.
import type { TimeWindow } from "./journey.model.js";
import { fail, join, onlyKeys, type Json } from "./journey-document.js";

const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Whether `tz` is an IANA timezone this runtime knows. */
export function validTimezone(tz: unknown): tz is string {
  if (typeof tz !== "string" || tz === "" || tz.length > 100) return false;
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

export function parseTimeWindow(step: Json, path: string): TimeWindow {
  onlyKeys(step, path, ["id", "type", "days", "from", "to", "timezone", "fallback"]);
  const daysPath = join(path, "days");
  let days = [0, 1, 2, 3, 4, 5, 6];
  if (step.days !== undefined) {
    if (!Array.isArray(step.days) || step.days.length === 0 || step.days.length > 7) fail(daysPath, "must be a list of 1 to 7 days (sun … sat, or 0–6 from Sunday)");
    days = step.days.map((d, i) => {
      if (typeof d === "number" && Number.isInteger(d) && d >= 0 && d <= 6) return d;
      const n = typeof d === "string" ? DAY_NAMES.indexOf(d.toLowerCase().slice(0, 3)) : -1;
      if (n < 0 || (typeof d === "string" && d.length > 9)) fail(`${daysPath}[${i}]`, "must be a day: sun, mon, tue, wed, thu, fri, sat, or 0–6 from Sunday");
      return n;
    });
    if (new Set(days).size !== days.length) fail(daysPath, "names a day twice");
    days.sort((a, b) => a - b);
  }
  const fromMinute = clock(step.from, join(path, "from"), false);
  const toMinute = clock(step.to, join(path, "to"), true);
  if (fromMinute === toMinute) fail(join(path, "to"), "must differ from `from` (leave the step out for a window that is always open)");
  const timezone = step.timezone === undefined ? "person" : step.timezone;
  if (timezone !== "person" && !validTimezone(timezone)) fail(join(path, "timezone"), 'must be "person" or an IANA timezone (Europe/Berlin)');
  const fallback = step.fallback === undefined ? "UTC" : step.fallback;
  if (!validTimezone(fallback)) fail(join(path, "fallback"), "must be an IANA timezone (Europe/Berlin)");
  return { days, fromMinute, toMinute, timezone: timezone as string, fallback };
}

function clock(value: unknown, path: string, allow24: boolean): number {
  const m = typeof value === "string" ? /^([01]\d|2[0-4]):([0-5]\d)$/.exec(value) : null;
  const minutes = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  if (!m || minutes > 24 * 60 || (minutes === 24 * 60 && !allow24)) fail(path, `must be a time of day "HH:MM" (00:00 to ${allow24 ? "24:00" : "23:59"})`);
  return minutes;
}

/** The timezone a window is read in for a person: theirs when valid, else the fallback. */
export function windowTimezone(window: TimeWindow, personTimezone: unknown): string {
  if (window.timezone !== "person") return window.timezone;
  return validTimezone(personTimezone) ? personTimezone : window.fallback;
}

/** Whether `now` is inside the window in `tz`; when not, the next instant it opens. */
export function windowAt(window: TimeWindow, tz: string, now: number): { open: true } | { open: false; opensAt: number } {
  const local = localParts(tz, now);
  const minute = local.hour * 60 + local.minute;
  const today = new Date(Date.UTC(local.year, local.month - 1, local.day)).getUTCDay();
  const yesterday = (today + 6) % 7;
  const listed = (d: number) => window.days.includes(d);
  const open =
    window.fromMinute < window.toMinute
      ? listed(today) && minute >= window.fromMinute && minute < window.toMinute
      : (listed(today) && minute >= window.fromMinute) || (listed(yesterday) && minute < window.toMinute);
  if (open) return { open: true };
  for (let k = 0; k <= 8; k += 1) {
    const date = new Date(Date.UTC(local.year, local.month - 1, local.day + k));
    if (!listed(date.getUTCDay())) continue;
    const at = instantOf(tz, date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), window.fromMinute);
    if (at > now) return { open: false, opensAt: at };
  }
  // Unreachable with at least one listed day; a day ahead keeps a run from spinning if it were.
  return { open: false, opensAt: now + DAY_MS };
}

/**
 * The instant at which the local clock in `tz` shows `minuteOfDay` on the date: the earlier of two
 * when the time repeats (fall back), the moment the clocks jump past it when it is skipped (spring forward).
 */
export function instantOf(tz: string, year: number, month: number, day: number, minuteOfDay: number): number {
  const wall = Date.UTC(year, month - 1, day) + minuteOfDay * MINUTE_MS;
  // The offsets in force around that day (at most two: before and after a change).
  const offsets = [...new Set([offsetAt(tz, wall - DAY_MS), offsetAt(tz, wall), offsetAt(tz, wall + DAY_MS)])];
  const valid = offsets.map((o) => wall - o).filter((t) => offsetAt(tz, t) === wall - t);
  if (valid.length > 0) return Math.min(...valid);
  // Skipped: the change lies between the two readings; find its minute.
  let lo = Math.min(...offsets.map((o) => wall - o));
  let hi = Math.max(...offsets.map((o) => wall - o));
  const before = offsetAt(tz, lo);
  while (hi - lo > MINUTE_MS) {
    const mid = lo + Math.floor((hi - lo) / 2 / MINUTE_MS) * MINUTE_MS;
    if (offsetAt(tz, mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Local time minus UTC, in ms, at instant `t` (whole seconds). */
export function offsetAt(tz: string, t: number): number {
  const p = localParts(tz, t);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(t / 1000) * 1000;
}

export function localParts(tz: string, t: number): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const parts: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(new Date(t))) if (part.type !== "literal") parts[part.type] = Number(part.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour! % 24, minute: parts.minute!, second: parts.second! };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    if (formatters.size > 1_000) formatters.clear();
    formatters.set(tz, f);
  }
  return f;
}
