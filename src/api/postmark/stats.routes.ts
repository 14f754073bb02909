// GET /stats/outbound and its per-day calls (reference §1.3 Stats), answered from the stats
// rollups through the stats service. Every call takes tag, fromdate, todate and messagestream
// (keys arrive lower-cased, http.server.ts) and no paging.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { StatsService, StatsQuery } from "../../stats/stats.service.js";
import { utcDay } from "../../stats/stats-metrics.js";
import { InvalidRequest } from "./postmark.edge-errors.js";
import { dateParam, requireWorkspace, stringParam } from "./query-params.js";
import { CALLS, OVERVIEW_METRICS, toOverview, toStatsSeries, type StatsCall } from "./stats.mapper.js";

/** Postmark's limit on a tag's length; a longer one matches nothing, so it is refused. */
const MAX_TAG_LENGTH = 1000;
/** A stream id is short (Postmark: 30 characters); the bound keeps junk out of the query. */
const MAX_STREAM_LENGTH = 100;

const PATHS: Array<[path: string, call: StatsCall]> = [
  ["/stats/outbound/sends", CALLS.sends],
  ["/stats/outbound/bounces", CALLS.bounces],
  ["/stats/outbound/spam", CALLS.spam],
  ["/stats/outbound/tracked", CALLS.tracked],
  ["/stats/outbound/opens", CALLS.opens],
  ["/stats/outbound/opens/platforms", CALLS.openPlatforms],
  ["/stats/outbound/opens/emailclients", CALLS.openClients],
  ["/stats/outbound/opens/readtimes", CALLS.openReadTimes],
  ["/stats/outbound/clicks", CALLS.clicks],
  ["/stats/outbound/clicks/browserfamilies", CALLS.clickBrowsers],
  ["/stats/outbound/clicks/platforms", CALLS.clickPlatforms],
  ["/stats/outbound/clicks/location", CALLS.clickLocations],
];

export async function statsRoutes(app: FastifyInstance, deps: { stats?: StatsService }): Promise<void> {
  const stats = deps.stats;
  if (!stats) return;
  app.get("/stats/outbound", async (request) => toOverview(await stats.totals(statsQuery(request), OVERVIEW_METRICS)));
  for (const [path, call] of PATHS) {
    app.get(path, async (request) => toStatsSeries(call, await stats.series(statsQuery(request), call.metrics)));
  }
}

/** The workspace and filters of a stats request; dates are whole UTC days, both ends inclusive. */
export function statsQuery(request: FastifyRequest): StatsQuery {
  const workspace = requireWorkspace(request);
  const q = request.query as Record<string, unknown>;
  const tag = stringParam(q, "tag");
  if (tag !== undefined && tag.length > MAX_TAG_LENGTH) throw InvalidRequest(`'tag' must be at most ${MAX_TAG_LENGTH} characters.`);
  const stream = stringParam(q, "messagestream");
  if (stream !== undefined && stream.length > MAX_STREAM_LENGTH) throw InvalidRequest(`'messageStream' must be at most ${MAX_STREAM_LENGTH} characters.`);
  const from = dayParam(q, "fromdate");
  const to = dayParam(q, "todate");
  if (from !== undefined && to !== undefined && from > to) throw InvalidRequest("'fromDate' must not be after 'toDate'.");
  return { workspaceId: workspace.id, tag, stream, fromDay: from, toDay: to };
}

/** A date parameter as its UTC day; a timestamp counts for its whole day, as Postmark's stats are per day. */
function dayParam(q: Record<string, unknown>, key: string): string | undefined {
  const ms = dateParam(q, key, false);
  if (ms === undefined) return undefined;
  const year = new Date(ms).getUTCFullYear();
  if (year < 1970 || year > 9999) throw InvalidRequest(`'${key}' is not a date.`);
  return utcDay(ms);
}
