// The dashboard's stats: the rollups of the stats domain (src/stats/) per day, with their rates,
// bounces by type, and the top destinations of the range (delivered and bounced from the rollups,
// what still waits from the queue service).
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { StatsService, StatsSum } from "../../stats/stats.service.js";
import { METRICS, type Metric } from "../../stats/stats-metrics.js";
import type { QueueService } from "../../mta/queue/queue.service.js";
import type { StreamsService } from "../../workspaces/streams.service.js";
import { readInput } from "./dashboard.input.js";
import { requireWorkspace } from "./dashboard.family.js";
import { HOURLY_MAX_DAYS, StatsQuery, type StatsAnswer, type StatsBucket, type StatsCounts, type StatsRates } from "./stats.contract.js";
import { DashboardRequestInvalid } from "./dashboard.edge-errors.js";

export interface StatsRoutesDeps {
  stats: Pick<StatsService, "series" | "hourly">;
  queue: Pick<QueueService, "workspaceSummary">;
  streams: Pick<StreamsService, "list">;
}

const DAY_MS = 86_400_000;
/** Destinations listed, the most used first. */
const TOP_DESTINATIONS = 10;
const DEFAULT_DAYS = 30;
/** A page draws at most a year and a bit of days. */
const MAX_DAYS = 400;

const COUNTED: Record<keyof StatsCounts, Metric> = {
  accepted: METRICS.accepted,
  delivered: METRICS.delivered,
  bounced: METRICS.bounced,
  opened: METRICS.opened,
  clicked: METRICS.clicked,
  openedFirst: METRICS.openedFirst,
  clickedFirst: METRICS.clickedFirst,
};

const WorkspaceParams = z.object({ workspaceId: z.string().min(1).max(100) });

export function statsRoutes(deps: StatsRoutesDeps) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get("/workspaces/:workspaceId/stats", async (request) => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "path");
      requireWorkspace(request, workspaceId, "read");
      const query = readInput(StatsQuery, request.query, "query");
      const { from, to } = rangeOf(query.from, query.to);
      const filter = { workspaceId, fromDay: from, toDay: to, stream: query.stream, tag: query.tag };
      const series = await deps.stats.series(filter, [...Object.values(COUNTED), METRICS.deliveredByDomain, METRICS.bouncedByDomain]);
      const days = daysBetween(from, to);
      const hourly = days.length <= HOURLY_MAX_DAYS;
      const answer: StatsAnswer = {
        from,
        to,
        bucket: hourly ? "hour" : "day",
        series: hourly ? hourBuckets(days, await deps.stats.hourly(filter, Object.values(COUNTED))) : dayBuckets(days, series.days),
        totals: withRates(countsOf(series.totals)),
        bouncesByType: series.totals
          .filter((s) => s.metric === METRICS.bounced)
          .map((s) => ({ type: s.dimension, count: s.count }))
          .sort((a, b) => b.count - a.count || a.type.localeCompare(b.type)),
        destinations: topDestinations(series.totals, (await deps.queue.workspaceSummary(workspaceId)).destinations),
        streams: (await deps.streams.list(workspaceId, { type: null, includeArchived: false })).filter((s) => s.type !== "Inbound").map((s) => ({ id: s.id, name: s.name })),
      };
      return answer;
    });
  };
}

/**
 * The range's most used destinations: delivered and bounced from the rollups, and what waits for
 * each now from the queue's most backlogged destinations (which are listed even when nothing to
 * them ended in the range: a destination that refuses everything shows there first).
 */
function topDestinations(totals: StatsSum[], backlog: Array<{ domain: string; queued: number; deferred: number }>): StatsAnswer["destinations"] {
  const byDomain = new Map<string, { delivered: number; bounced: number }>();
  for (const sum of totals) {
    if (sum.metric !== METRICS.deliveredByDomain && sum.metric !== METRICS.bouncedByDomain) continue;
    const d = byDomain.get(sum.dimension) ?? { delivered: 0, bounced: 0 };
    if (sum.metric === METRICS.deliveredByDomain) d.delivered += sum.count;
    else d.bounced += sum.count;
    byDomain.set(sum.dimension, d);
  }
  const waiting = new Map(backlog.map((b) => [b.domain, b.queued + b.deferred]));
  for (const domain of waiting.keys()) if (!byDomain.has(domain)) byDomain.set(domain, { delivered: 0, bounced: 0 });
  return [...byDomain.entries()]
    .map(([domain, d]) => {
      const waits = waiting.get(domain) ?? 0;
      return { domain, delivered: d.delivered, bounced: d.bounced, waiting: waits, total: d.delivered + d.bounced + waits, deliveryRate: ratio(d.delivered, d.delivered + d.bounced) };
    })
    .sort((a, b) => b.total - a.total || a.domain.localeCompare(b.domain))
    .slice(0, TOP_DESTINATIONS);
}

function rangeOf(from: string | undefined, to: string | undefined): { from: string; to: string } {
  const toDay = to ?? new Date().toISOString().slice(0, 10);
  const fromDay = from ?? new Date(Date.parse(toDay) - (DEFAULT_DAYS - 1) * DAY_MS).toISOString().slice(0, 10);
  if (!isRealDay(fromDay) || !isRealDay(toDay)) throw DashboardRequestInvalid("The query is not valid: 'from' and 'to' must be real days.");
  if (fromDay > toDay) throw DashboardRequestInvalid("The query is not valid: 'from' is after 'to'.");
  if ((Date.parse(toDay) - Date.parse(fromDay)) / DAY_MS >= MAX_DAYS) throw DashboardRequestInvalid(`The query is not valid: a range spans at most ${MAX_DAYS} days.`);
  return { from: fromDay, to: toDay };
}

/** Date.parse takes 2026-02-30 as March 2: a real day reads back as itself. */
function isRealDay(day: string): boolean {
  const t = Date.parse(day);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === day;
}

function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += DAY_MS) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

function dayBuckets(days: string[], sums: Array<{ day: string; counts: StatsSum[] }>): StatsBucket[] {
  const byDay = new Map(sums.map((d) => [d.day, d.counts]));
  return days.map((day) => {
    const counts = countsOf(byDay.get(day) ?? []);
    return { at: day, ...counts, rates: ratesOf(counts) };
  });
}

function hourBuckets(days: string[], sums: Array<{ hour: string; metric: Metric; count: number }>): StatsBucket[] {
  const byHour = new Map<string, StatsSum[]>();
  for (const s of sums) byHour.set(s.hour, [...(byHour.get(s.hour) ?? []), { day: s.hour, metric: s.metric, dimension: "", count: s.count }]);
  return days.flatMap((day) =>
    Array.from({ length: 24 }, (_, h) => {
      const hour = `${day}T${String(h).padStart(2, "0")}`;
      const counts = countsOf(byHour.get(hour) ?? []);
      return { at: `${hour}:00Z`, ...counts, rates: ratesOf(counts) };
    }),
  );
}

function countsOf(sums: StatsSum[]): StatsCounts {
  const counts: StatsCounts = { accepted: 0, delivered: 0, bounced: 0, opened: 0, clicked: 0, openedFirst: 0, clickedFirst: 0 };
  for (const key of Object.keys(COUNTED) as Array<keyof StatsCounts>) {
    counts[key] = sums.filter((s) => s.metric === COUNTED[key]).reduce((n, s) => n + s.count, 0);
  }
  return counts;
}

function ratesOf(c: StatsCounts): StatsRates {
  const ended = c.delivered + c.bounced;
  return { delivery: ratio(c.delivered, ended), bounce: ratio(c.bounced, ended), open: ratio(c.openedFirst, c.delivered), click: ratio(c.clickedFirst, c.delivered) };
}

function withRates(c: StatsCounts): StatsCounts & { rates: StatsRates } {
  return { ...c, rates: ratesOf(c) };
}

function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : part / whole;
}
