// Configuration of the people domain: how long events are kept, how long a de-duplication key
// keeps a repeat out, and how often the worker role's upkeep runs (partitions made ahead and old
// ones dropped on PostgreSQL, old rows deleted in chunks on SQLite, old keys forgotten).
import { configFragment, duration } from "../config/config.fragment.js";
import { parseDuration } from "../shared/durations.js";

export interface PeopleConfigPart {
  people: {
    eventRetentionMs: number;
    dedupeWindowMs: number;
    maintenanceIntervalMs: number;
  };
}

const DAY_MS = 86_400_000;

export const peopleConfig = configFragment({
  name: "people",
  keys: {
    /** How long events (track, page, screen) are kept, by the time they happened; on PostgreSQL whole weekly partitions are dropped, so up to a week more is kept. */
    POSTHORN_EVENT_RETENTION: duration.default(parseDuration("365d")),
    /** How long an event id (Customer.io `id`, Segment `messageId`) keeps a repeat out; at least 7 days, as Customer.io promises. */
    POSTHORN_EVENT_DEDUPE_WINDOW: duration.default(parseDuration("7d")),
    /** How often the worker role makes event partitions ahead, drops or deletes events past the retention, and forgets old event ids. */
    POSTHORN_PEOPLE_MAINTENANCE_INTERVAL: duration.default(parseDuration("1h")),
  },
  check(e) {
    const problems: string[] = [];
    if (e.POSTHORN_EVENT_RETENTION < DAY_MS) problems.push("POSTHORN_EVENT_RETENTION must be at least 1d");
    if (e.POSTHORN_EVENT_DEDUPE_WINDOW < 7 * DAY_MS) problems.push("POSTHORN_EVENT_DEDUPE_WINDOW must be at least 7d (Customer.io's promise)");
    if (e.POSTHORN_PEOPLE_MAINTENANCE_INTERVAL < 1000) problems.push("POSTHORN_PEOPLE_MAINTENANCE_INTERVAL must be at least 1s");
    return problems;
  },
  toConfig: (e): PeopleConfigPart => ({
    people: { eventRetentionMs: e.POSTHORN_EVENT_RETENTION, dedupeWindowMs: e.POSTHORN_EVENT_DEDUPE_WINDOW, maintenanceIntervalMs: e.POSTHORN_PEOPLE_MAINTENANCE_INTERVAL },
  }),
});
