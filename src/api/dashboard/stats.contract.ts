// The dashboard's stats calls: counts over time for one workspace (optionally one stream and one
// tag), bounces by type, and the destinations its mail went to. Imported by web/ as types.
import { z } from "zod";

const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a day is YYYY-MM-DD");

export const StatsQuery = z.object({
  /** Inclusive UTC days; default the last 30 days. */
  from: Day.optional(),
  to: Day.optional(),
  stream: z.string().min(1).max(100).optional(),
  tag: z.string().min(1).max(1_000).optional(),
});
export type StatsQuery = z.infer<typeof StatsQuery>;

/** Ranges of at most this many days are drawn by the hour. */
export const HOURLY_MAX_DAYS = 2;

/** The counts of one bucket (a UTC day or hour). Opens and clicks count every one; the rates use first ones. */
export interface StatsCounts {
  /** Messages accepted (one per message, whatever its recipients). */
  accepted: number;
  /** Deliveries the remote MX answered 2xx (one per recipient). */
  delivered: number;
  /** Bounce records of every type. */
  bounced: number;
  opened: number;
  clicked: number;
  /** First opens of a delivery, first clicks of a delivery on a link. */
  openedFirst: number;
  clickedFirst: number;
}

/** Rates of a bucket, 0..1, null when there was nothing to divide by. */
export interface StatsRates {
  /** delivered / (delivered + bounced). */
  delivery: number | null;
  /** bounced / (delivered + bounced). */
  bounce: number | null;
  /** first opens / delivered. */
  open: number | null;
  /** first clicks / delivered. */
  click: number | null;
}

export interface StatsBucket extends StatsCounts {
  /** The bucket's start: YYYY-MM-DD for a day, YYYY-MM-DDTHH:00Z for an hour (UTC). */
  at: string;
  rates: StatsRates;
}

export interface StatsDestination {
  domain: string;
  delivered: number;
  bounced: number;
  /** Queued or deferred now (whenever made). */
  waiting: number;
  /** delivered + bounced + waiting. */
  total: number;
  /** delivered / (delivered + bounced); null when none ended yet. */
  deliveryRate: number | null;
}

export interface StatsAnswer {
  from: string;
  to: string;
  /** Days, or hours for a range of at most HOURLY_MAX_DAYS days. */
  bucket: "day" | "hour";
  /** One per day (or hour) of the range, those with nothing included (zeros), in order. */
  series: StatsBucket[];
  totals: StatsCounts & { rates: StatsRates };
  bouncesByType: Array<{ type: string; count: number }>;
  /** The destinations most of the range's deliveries went to (delivered and bounced in the stream and tag filtered; waiting counts the workspace's whole queue). */
  destinations: StatsDestination[];
  /** The workspace's sending streams, for the filter. */
  streams: Array<{ id: string; name: string }>;
}
