// "The same local time in each person's timezone": the instant at which a wall-clock date and
// time occur in an IANA timezone, through Intl (the zone data Node ships), so offsets and DST
// changes are the zone database's, not ours. A wall time that does not exist (skipped by a DST
// change: 02:30 on the spring-forward night) is the moment an hour later in wall time (03:30), as
// a clock would read it; one that occurs twice (autumn) is the first.

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
  // The zone's offsets a day either side bracket any change on that date (zones change at most once a day).
  const before = offsetAt(wall - DAY_MS, timeZone);
  const after = offsetAt(wall + DAY_MS, timeZone);
  const valid = [wall - before, wall - after].filter((at) => at + offsetAt(at, timeZone) === wall);
  // Occurs twice (clocks went back): the first. Never occurs (clocks went forward): the same time after the change, i.e. read with the offset before it.
  return valid.length > 0 ? Math.min(...valid) : wall - before;
}

const DAY_MS = 86_400_000;

/** Offsets in the zone database run from UTC-12 to UTC+14: the earliest a local time can occur anywhere. */
export const EARLIEST_ZONE_MS = 14 * 3_600_000;
