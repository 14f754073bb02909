// The metrics the rollups count, in Posthorn's words, and what each event adds to them. Kept as
// data and one pure function so that the consumer, the benchmark's generator and the tests all
// count the same way. The Postmark edge (src/api/postmark/stats.mapper.ts) turns these names into
// Postmark's fields.
import type { RecordedEvent } from "../events/event-map.js";

export const METRICS = {
  /** Messages accepted for delivery (one per message, whatever its recipients; sandboxed included). */
  accepted: "accepted",
  /** Messages with open or link tracking on (counted once when both are). */
  tracked: "tracked",
  withOpenTracking: "tracked.opens",
  withLinkTracking: "tracked.links",
  /** Tracked links written into messages; nothing reports them yet (see README). */
  linksTracked: "tracked.link-count",
  /** Deliveries the remote MX answered 2xx (one per recipient; the dashboard's delivery rate). */
  delivered: "delivered",
  /** Delivered deliveries by destination domain (the dashboard's top destinations). */
  deliveredByDomain: "delivered.domain",
  /** Bounce records, by bounce type. */
  bounced: "bounced",
  /** Bounce records by destination domain. */
  bouncedByDomain: "bounced.domain",
  complained: "complained",
  opened: "opened",
  /** First opens of a delivery. */
  openedFirst: "opened.first",
  /** Opens by platform (desktop, mobile, webmail, unknown). */
  openPlatform: "opened.platform",
  /** Opens by email client family. */
  openClient: "opened.client",
  /** Opens by seconds read ("3s"; "20s+" when measuring stopped at its limit with the message still open). */
  openReadSeconds: "opened.read-seconds",
  clicked: "clicked",
  /** First clicks of a delivery on a link. */
  clickedFirst: "clicked.first",
  clickBrowser: "clicked.browser",
  clickPlatform: "clicked.platform",
  /** Clicks by where the link was: html or text. */
  clickLocation: "clicked.location",
} as const;

export type Metric = (typeof METRICS)[keyof typeof METRICS];

/**
 * The metrics also counted per hour, for the dashboard's charts of a day or two (without their
 * dimensions: bounces of every type are one count).
 */
export const HOURLY_METRICS: ReadonlySet<Metric> = new Set([METRICS.accepted, METRICS.delivered, METRICS.bounced, METRICS.opened, METRICS.openedFirst, METRICS.clicked, METRICS.clickedFirst]);

/** The event types the rollups read. */
export const COUNTED_EVENT_TYPES = ["message.accepted", "delivery.delivered", "bounce.recorded", "complaint.recorded", "delivery.opened", "delivery.read-time", "delivery.clicked"] as const;

/** One count to add: a metric, split by `dimension` ('' when it is not split). */
export interface Increment {
  metric: Metric;
  dimension: string;
  by: number;
}

/**
 * Where an increment goes: the workspace, UTC day, and the stream and tag scopes it counts in.
 * A scope is "=" and a value (one stream, one tag) or ALL_SCOPE; see scopesOf.
 */
export interface RollupKey {
  workspaceId: string;
  day: string;
  stream: string;
  tag: string;
}

/** The scope that counts every stream (or every tag, tagged or not). */
export const ALL_SCOPE = "*";

/** The scope of one stream or one tag. The "=" keeps any value, even "*", apart from ALL_SCOPE. */
export function oneScope(value: string): string {
  return `=${value}`;
}

/**
 * The (stream, tag) scopes a message's counts are added to: its stream and every stream, each for
 * its tag (when it has one) and for every tag. A query then reads only the rows of the one scope
 * its filters name, one row per day and dimension, instead of summing every tag and stream of a
 * workspace at query time (measured in docs/stats-benchmark.md: a year of a large workspace's
 * email clients is some 4,000 rows this way, against about half a million summed per tag).
 * Untagged messages count only in the every-tag scopes: no query asks for "no tag".
 */
export function scopesOf(stream: string, tag: string | null): Array<{ stream: string; tag: string }> {
  const streams = [oneScope(stream), ALL_SCOPE];
  const tags = tag === null || tag === "" ? [ALL_SCOPE] : [oneScope(tag), ALL_SCOPE];
  return streams.flatMap((s) => tags.map((t) => ({ stream: s, tag: t })));
}

/** An unknown client or browser family is counted under this name. */
export const UNKNOWN_FAMILY = "Unknown";

/** What one event adds to the rollups (nothing for types the stats do not count). */
export function incrementsOf(event: RecordedEvent): Increment[] {
  const one = (metric: Metric, dimension = ""): Increment => ({ metric, dimension, by: 1 });
  switch (event.type) {
    case "message.accepted": {
      const opens = event.data.trackOpens === true;
      const links = event.data.trackLinks !== undefined && event.data.trackLinks !== "none";
      const out = [one(METRICS.accepted)];
      if (opens || links) out.push(one(METRICS.tracked));
      if (opens) out.push(one(METRICS.withOpenTracking));
      if (links) out.push(one(METRICS.withLinkTracking));
      const linkCount = event.data.trackedLinks ?? 0;
      if (linkCount > 0) out.push({ metric: METRICS.linksTracked, dimension: "", by: linkCount });
      return out;
    }
    case "delivery.delivered":
      return event.recipient === null ? [one(METRICS.delivered)] : [one(METRICS.delivered), one(METRICS.deliveredByDomain, domainOf(event.recipient))];
    case "bounce.recorded":
      return event.recipient === null ? [one(METRICS.bounced, event.data.bounceType)] : [one(METRICS.bounced, event.data.bounceType), one(METRICS.bouncedByDomain, domainOf(event.recipient))];
    case "complaint.recorded":
      return [one(METRICS.complained)];
    case "delivery.opened": {
      const out = [one(METRICS.opened), one(METRICS.openPlatform, event.data.platform), one(METRICS.openClient, familyOf(event.data.client))];
      if (event.data.firstOpen) out.push(one(METRICS.openedFirst));
      return out;
    }
    case "delivery.read-time":
      return [one(METRICS.openReadSeconds, `${event.data.seconds}s${event.data.capped ? "+" : ""}`)];
    case "delivery.clicked": {
      const out = [one(METRICS.clicked), one(METRICS.clickBrowser, familyOf(event.data.client)), one(METRICS.clickPlatform, event.data.platform), one(METRICS.clickLocation, event.data.location)];
      if (event.data.firstClick) out.push(one(METRICS.clickedFirst));
      return out;
    }
    default:
      return [];
  }
}

/**
 * The destination of a recipient's address key (lower case, IDNA: addresses.ts). Counted per day
 * in the rollups, so the dashboard's top destinations read a few rows per day and domain instead
 * of every delivery of the range (a workspace's deliveries have no index by time).
 */
function domainOf(recipient: string): string {
  return recipient.slice(recipient.lastIndexOf("@") + 1).toLowerCase();
}

/** The client's family ("Chrome", "Apple Mail"), its name when it has no family, else Unknown. Bounded: a user agent is outside data. */
function familyOf(client: { name: string; family: string } | undefined): string {
  const value = (client?.family || client?.name || "").trim();
  return value === "" ? UNKNOWN_FAMILY : value.slice(0, MAX_DIMENSION_LENGTH);
}

/** Longest dimension value kept (client and browser names come from user agents, which anyone writes). */
export const MAX_DIMENSION_LENGTH = 100;

/** The stream of an event the stats count (each carries one). */
export function streamOf(event: RecordedEvent): string {
  return (event.data as { stream?: string }).stream ?? "";
}

/** YYYY-MM-DDTHH of a time in ms since the epoch, in UTC. */
export function utcHour(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13);
}

/** YYYY-MM-DD of a time in ms since the epoch, in UTC. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
