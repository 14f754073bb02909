// "The same local time in each person's timezone": the instant at which a wall-clock date and
// time occur in an IANA timezone, through Intl (the zone data Node ships), so offsets and DST
// changes are the zone database's, not ours. A wall time that does not exist (skipped by a DST
// change) is taken as the same time after the change; one that occurs twice, the first.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    if (formatters.size > 1_000) formatters.clear();
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether Intl knows the zone (a person's `timezone` attribute may be anything). */
export function isTimeZone(name: unknown): name is string {
  if (typeof name !== "string" || name === "" || name.length > 100) return false;
  try {
    formatter(name);
    return true;
  } catch {
    return false;
  }
}

/** The zone's offset from UTC at `at` (ms; positive east of Greenwich). */
export function offsetAt(at: number, timeZone: string): number {
  const parts = Object.fromEntries(formatter(timeZone).formatToParts(new Date(at)).map((p) => [p.type, p.value]));
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return wall - Math.floor(at / 1000) * 1000;
}

/** The instant (unix ms) when it is `date` (YYYY-MM-DD) `time` (HH:MM) in `timeZone`. */
export function localInstant(date: string, time: string, timeZone: string): number {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  const [hh, mm] = time.split(":").map(Number) as [number, number];
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  // Two rounds settle it: the offset at the first guess may differ from the one at the answer only across a change.
  const first = wall - offsetAt(wall, timeZone);
  const second = wall - offsetAt(first, timeZone);
  if (second === first) return first;
  // Across a change the two guesses straddle it: the earlier one whose wall time is right, else (a skipped time) the later.
  const candidates = [Math.min(first, second), Math.max(first, second)];
  return candidates.find((c) => c + offsetAt(c, timeZone) === wall) ?? candidates[1]!;
}

/** Offsets in the zone database run from UTC-12 to UTC+14: the earliest a local time can occur anywhere. */
export const EARLIEST_ZONE_MS = 14 * 3_600_000;
