// Posthorn's stats sums in Postmark's shapes (reference §1.3 Stats): the overview's fields and
// rates, and for each per-day call `{Days: [{Date, …fields}], …fields over the range}`. Which
// metrics each call reads and how they become fields is the table CALLS below.
import { METRICS, UNKNOWN_FAMILY, type Metric } from "../../stats/stats-metrics.js";
import type { StatsSeries, StatsSum } from "../../stats/stats.service.js";

type Fields = Record<string, number>;

export interface StatsCall {
  metrics: readonly Metric[];
  fields(sums: readonly StatsSum[]): Fields;
}

/** Sum of one metric (all its dimensions, or those `where` keeps). */
function sum(sums: readonly StatsSum[], metric: Metric, where: (dimension: string) => boolean = () => true): number {
  let n = 0;
  for (const s of sums) if (s.metric === metric && where(s.dimension)) n += s.count;
  return n;
}

/** Our platform words to Postmark's keys. */
const PLATFORMS: Record<string, string> = { desktop: "Desktop", webmail: "WebMail", mobile: "Mobile", unknown: "Unknown" };
/** Bounce types the bounce call always answers, as Postmark's example does; other types appear when counted. */
const BOUNCE_FIELDS = ["HardBounce", "SoftBounce", "SMTPApiError", "Transient"];
/** Field names of the shape itself, which a counted name (a browser family is outside data) must not replace. */
const RESERVED = new Set(["Date", "Days"]);

/** Counts by dimension under Postmark's names, starting from `fixed` at 0; unnamed or clashing names count as Unknown. */
function byDimension(sums: readonly StatsSum[], metric: Metric, fixed: readonly string[], name: (dimension: string) => string = (d) => d): Fields {
  const out = new Map<string, number>(fixed.map((f) => [f, 0]));
  for (const s of sums) {
    if (s.metric !== metric) continue;
    let key = name(s.dimension);
    if (key === "" || RESERVED.has(key)) key = UNKNOWN_FAMILY;
    out.set(key, (out.get(key) ?? 0) + s.count);
  }
  // fromEntries defines own properties: a name like "__proto__" stays a plain key.
  return Object.fromEntries(out);
}

export const CALLS = {
  sends: { metrics: [METRICS.accepted], fields: (s) => ({ Sent: sum(s, METRICS.accepted) }) },
  bounces: { metrics: [METRICS.bounced], fields: (s) => byDimension(s, METRICS.bounced, BOUNCE_FIELDS) },
  spam: { metrics: [METRICS.complained], fields: (s) => ({ SpamComplaint: sum(s, METRICS.complained) }) },
  tracked: { metrics: [METRICS.tracked], fields: (s) => ({ Tracked: sum(s, METRICS.tracked) }) },
  opens: { metrics: [METRICS.opened, METRICS.openedFirst], fields: (s) => ({ Opens: sum(s, METRICS.opened), Unique: sum(s, METRICS.openedFirst) }) },
  openPlatforms: { metrics: [METRICS.openPlatform], fields: (s) => byDimension(s, METRICS.openPlatform, ["Desktop", "WebMail", "Mobile", "Unknown"], platformName) },
  openClients: { metrics: [METRICS.openClient], fields: (s) => byDimension(s, METRICS.openClient, []) },
  openReadTimes: { metrics: [METRICS.openReadSeconds], fields: (s) => byDimension(s, METRICS.openReadSeconds, []) },
  clicks: { metrics: [METRICS.clicked, METRICS.clickedFirst], fields: (s) => ({ Clicks: sum(s, METRICS.clicked), Unique: sum(s, METRICS.clickedFirst) }) },
  clickBrowsers: { metrics: [METRICS.clickBrowser], fields: (s) => byDimension(s, METRICS.clickBrowser, []) },
  clickPlatforms: { metrics: [METRICS.clickPlatform], fields: (s) => byDimension(s, METRICS.clickPlatform, ["Desktop", "WebMail", "Mobile", "Unknown"], platformName) },
  clickLocations: { metrics: [METRICS.clickLocation], fields: (s) => byDimension(s, METRICS.clickLocation, ["HTML", "Text"], (d) => (d === "html" ? "HTML" : d === "text" ? "Text" : "")) },
} satisfies Record<string, StatsCall>;

function platformName(dimension: string): string {
  return PLATFORMS[dimension] ?? "Unknown";
}

/** A per-day call's answer: the days that have counts, in order, then the totals over the range. */
export function toStatsSeries(call: StatsCall, series: StatsSeries): Record<string, unknown> {
  return {
    Days: series.days.map((d) => ({ Date: d.day, ...call.fields(d.counts) })),
    ...call.fields(series.totals),
  };
}

export const OVERVIEW_METRICS: readonly Metric[] = [
  METRICS.accepted,
  METRICS.bounced,
  METRICS.complained,
  METRICS.opened,
  METRICS.openedFirst,
  METRICS.tracked,
  METRICS.withLinkTracking,
  METRICS.withOpenTracking,
  METRICS.linksTracked,
  METRICS.clicked,
  METRICS.clickedFirst,
  METRICS.openClient,
  METRICS.openPlatform,
  METRICS.openReadSeconds,
];

/** A share of `sent` as a percentage, to two decimals (0 when nothing was sent). */
function rate(count: number, sent: number): number {
  return sent === 0 ? 0 : Math.round((count / sent) * 10_000) / 100;
}

/** GET /stats/outbound. Bounced counts every bounce record but SMTP API errors, which have their own field. */
export function toOverview(totals: readonly StatsSum[]): Record<string, number> {
  const sent = sum(totals, METRICS.accepted);
  const smtpApiErrors = sum(totals, METRICS.bounced, (d) => d === "SMTPApiError");
  const bounced = sum(totals, METRICS.bounced) - smtpApiErrors;
  const complaints = sum(totals, METRICS.complained);
  return {
    Sent: sent,
    Bounced: bounced,
    SMTPApiErrors: smtpApiErrors,
    BounceRate: rate(bounced, sent),
    SpamComplaints: complaints,
    SpamComplaintsRate: rate(complaints, sent),
    Opens: sum(totals, METRICS.opened),
    UniqueOpens: sum(totals, METRICS.openedFirst),
    Tracked: sum(totals, METRICS.tracked),
    WithLinkTracking: sum(totals, METRICS.withLinkTracking),
    WithOpenTracking: sum(totals, METRICS.withOpenTracking),
    TotalTrackedLinksSent: sum(totals, METRICS.linksTracked),
    UniqueLinksClicked: sum(totals, METRICS.clickedFirst),
    TotalClicks: sum(totals, METRICS.clicked),
    WithClientRecorded: sum(totals, METRICS.openClient, (d) => d !== UNKNOWN_FAMILY),
    WithPlatformRecorded: sum(totals, METRICS.openPlatform, (d) => d !== "unknown"),
    WithReadTimeRecorded: sum(totals, METRICS.openReadSeconds),
  };
}
