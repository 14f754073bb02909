// Reading the outbound stats: sums of the rollups for one workspace, filtered by day range, stream
// and tag. Answers in Posthorn's metric names; the Postmark edge shapes them.
import type { Store } from "../store/store.js";
import { HOURLY_METRICS, type Metric } from "./stats-metrics.js";
import type { StatsFilter, StatsRepository, StatsSum } from "./stats.repository.js";

export type StatsQuery = Omit<StatsFilter, "metrics">;
export type { StatsSum };

/** Counts per day (days with none are left out, in order) and over the whole range. */
export interface StatsSeries {
  days: Array<{ day: string; counts: StatsSum[] }>;
  totals: StatsSum[];
}

export class StatsService {
  constructor(private readonly deps: { store: Store; repository: StatsRepository }) {}

  /** Totals over the range only (the overview): one grouped sum, no per-day rows. */
  totals(query: StatsQuery, metrics: readonly Metric[]): Promise<StatsSum[]> {
    return this.deps.repository.totals(this.deps.store.db, { ...query, metrics });
  }

  /** Per-day counts and their totals, summed here from the days rather than read twice. */
  async series(query: StatsQuery, metrics: readonly Metric[]): Promise<StatsSeries> {
    const sums = await this.deps.repository.sumsByDay(this.deps.store.db, { ...query, metrics });
    const days: StatsSeries["days"] = [];
    const totals = new Map<string, StatsSum>();
    for (const s of sums) {
      const last = days[days.length - 1];
      if (last && last.day === s.day) last.counts.push(s);
      else days.push({ day: s.day, counts: [s] });
      const key = `${s.metric}\u0000${s.dimension}`;
      const total = totals.get(key);
      if (total) total.count += s.count;
      else totals.set(key, { ...s, day: "" });
    }
    return { days, totals: [...totals.values()] };
  }

  /** Counts per UTC hour (YYYY-MM-DDTHH) of the metrics kept hourly (HOURLY_METRICS), between two days inclusive. */
  async hourly(query: StatsQuery & { fromDay: string; toDay: string }, metrics: readonly Metric[]): Promise<Array<{ hour: string; metric: Metric; count: number }>> {
    const { fromDay, toDay, ...rest } = query;
    return this.deps.repository.sumsByHour(this.deps.store.db, { ...rest, metrics: metrics.filter((m) => HOURLY_METRICS.has(m)), fromHour: `${fromDay}T00`, toHour: `${toDay}T23` });
  }
}
