// Quiet hours: marketing mail to a person is held while their local time of day is within the
// workspace's quiet window, and goes when it ends. Local time comes from Intl (the IANA database
// Node ships), so daylight-saving changes are the zone's own: the end of the window is found by
// asking the zone for the wall-clock time of candidate instants, not by adding 24 h to a date.
//
// The window is [fromMinute, toMinute) in minutes after local midnight; to < from spans midnight
// (21:00–08:00). On a day whose clocks jump forward over the window's end (02:00 → 03:00 with the
// end at 02:30), the window ends at the first instant whose local time is past the end.

const MINUTE_MS = 60_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Whether `zone` is an IANA time zone that Intl knows. */
export function isTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

/** Minutes after local midnight at `at` in `zone`. */
export function localMinute(zone: string, at: number): number {
  const parts = formatter(zone).formatToParts(new Date(at));
  let hour = 0;
  let minute = 0;
  for (const p of parts) {
    if (p.type === "hour") hour = Number(p.value) % 24;
    else if (p.type === "minute") minute = Number(p.value);
  }
  return hour * 60 + minute;
}

export function inWindow(minute: number, fromMinute: number, toMinute: number): boolean {
  if (fromMinute === toMinute) return false;
  return fromMinute < toMinute ? minute >= fromMinute && minute < toMinute : minute >= fromMinute || minute < toMinute;
}

/**
 * When quiet hours end for a person at `now` (ms), or null when they are not in them. `zone` is
 * the person's `timezone` attribute when it names a zone, else the fallback.
 */
export function quietUntil(quiet: { fromMinute: number; toMinute: number; fallbackTimezone: string }, personZone: unknown, now: number): number | null {
  const zone = typeof personZone === "string" && isTimeZone(personZone) ? personZone : quiet.fallbackTimezone;
  if (!inWindow(localMinute(zone, now), quiet.fromMinute, quiet.toMinute)) return null;
  // Step minute by minute from the next whole minute: at most a day of steps (1,440), and exact
  // across DST changes whatever the zone's offset rules.
  let at = Math.floor(now / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  for (let i = 0; i < 26 * 60; i++, at += MINUTE_MS) {
    if (!inWindow(localMinute(zone, at), quiet.fromMinute, quiet.toMinute)) return at;
  }
  return at;
}

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    if (formatters.size > 1_000) formatters.clear();
    formatters.set(zone, f);
  }
  return f;
}
