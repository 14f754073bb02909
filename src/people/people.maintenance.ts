// The worker role's upkeep of the event store, every POSTHORN_PEOPLE_MAINTENANCE_INTERVAL:
// - PostgreSQL: weekly partitions exist from the retention's start to PARTITIONS_AHEAD weeks from
//   now (made ahead, so events normally never land in the DEFAULT partition), and partitions wholly
//   past the retention are dropped; the few old rows the DEFAULT partition holds are deleted.
// - SQLite: events past the retention are deleted in chunks, each chunk its own transaction, so
//   ingest waits at most one chunk's delete.
// - Both: de-duplication keys older than the window are forgotten, in chunks.
// Each step is idempotent, so several worker processes may run it; on PostgreSQL partition changes
// take an advisory lock so only one process makes them at a time.
import type { Db, Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import { WorkLoop } from "../shared/work-loop.js";
import type { PersonEventsRepository } from "./person-events.repository.js";
import { EventRetentionRepository, WEEK_MS, partitionName, weekStart } from "./event-retention.repository.js";

/** Weeks of partitions made ahead of now: events a little in the future (clock skew, scheduled) have a home. */
export const PARTITIONS_AHEAD = 4;
/** PostgreSQL's lock_not_available: a lock_timeout ran out. */
const LOCK_NOT_AVAILABLE = "55P03";
/** Rows deleted per transaction (SQLite retention, the DEFAULT partition, old keys). */
const CHUNK_ROWS = 5_000;
/** Events indexed per transaction by the SQLite person indexer: large, so one index page takes many entries. */
const INDEX_CHUNK = 50_000;
/** How often the SQLite person indexer looks for new events; reads never wait for it (they read the tail). */
const INDEX_POLL_MS = 250;
/**
 * The longest a smaller chunk waits to grow: events are indexed once a full chunk is waiting, or
 * once the oldest has waited this long. A read scans the tail (about 1.7 ms for 50,000 events
 * here), so a busy tail is bounded by the chunk and a quiet one by this.
 */
const INDEX_MAX_WAIT_MS = 2_000;

export interface PeopleMaintenanceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  events: PersonEventsRepository;
  retention?: EventRetentionRepository;
  retentionMs: number;
  dedupeWindowMs: number;
  intervalMs: number;
}

export interface MaintenanceReport {
  created: string[];
  dropped: string[];
  deletedEvents: number;
  forgottenKeys: number;
}

export class PeopleMaintenance {
  private readonly loop: WorkLoop;
  private readonly retention: EventRetentionRepository;

  constructor(private readonly deps: PeopleMaintenanceDeps) {
    this.retention = deps.retention ?? new EventRetentionRepository();
    this.loop = new WorkLoop({
      runOnce: async () => {
        const report = await this.runOnce();
        if (report.created.length + report.dropped.length > 0) deps.logger.info({ event: "people.partitions.changed", ...report }, "event partitions changed");
        return false;
      },
      pollMs: deps.intervalMs,
      logger: deps.logger,
      what: "the people upkeep (event partitions and retention)",
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    this.stopping = true;
    return this.loop.stop();
  }

  /** Set by stop(): a pass in progress ends after its current transaction. */
  private stopping = false;

  /** One whole pass: partitions, retention, old keys. */
  async runOnce(): Promise<MaintenanceReport> {
    const now = this.deps.clock.now();
    const cutoff = now - this.deps.retentionMs;
    const report: MaintenanceReport = { created: [], dropped: [], deletedEvents: 0, forgottenKeys: 0 };
    if (this.deps.store.dialect === "postgres") await this.partitions(now, cutoff, report);
    const table = this.deps.store.dialect === "postgres" ? "person_events_default" : "person_events";
    for (;;) {
      const n = await this.deps.store.write(async (trx) => {
        const ids = await this.retention.oldEventIds(trx, cutoff, CHUNK_ROWS, table);
        await this.deps.events.unindex(trx, ids);
        await this.deps.events.keepKeysOf(trx, ids);
        await this.retention.deleteEvents(trx, ids, table);
        return ids.length;
      }, { durability: "relaxed" });
      report.deletedEvents += n;
      if (n < CHUNK_ROWS || this.stopping) break;
    }
    for (;;) {
      const n = await this.deps.store.write((trx) => this.deps.events.pruneKeys(trx, now - this.deps.dedupeWindowMs, CHUNK_ROWS), { durability: "relaxed" });
      report.forgottenKeys += n;
      if (n < CHUNK_ROWS || this.stopping) break;
    }
    return report;
  }

  /**
   * One transaction per partition made or dropped: each locks the event table while it works
   * (reads and ingest wait), so each lock is held for one week's work, not for the whole pass.
   */
  private async partitions(now: number, cutoff: number, report: MaintenanceReport): Promise<void> {
    const existing = await this.retention.partitions(this.deps.store.db);
    const have = new Set(existing.map((p) => p.start));
    for (const p of existing) {
      // Wholly before the cutoff: every event in it is past the retention.
      if (p.end > cutoff) continue;
      const dropped = await this.locked((trx) => this.retention.dropPartition(trx, p.name));
      if (dropped === "busy") return;
      if (dropped) report.dropped.push(p.name);
    }
    // This week and those ahead first, then back to the retention's start: on a new database the
    // events arriving meanwhile find their week's partition soonest, and fewer of them have to move.
    const thisWeek = weekStart(now);
    const weeks: number[] = [];
    for (let start = thisWeek; start <= thisWeek + PARTITIONS_AHEAD * WEEK_MS; start += WEEK_MS) weeks.push(start);
    for (let start = thisWeek - WEEK_MS; start + WEEK_MS > cutoff; start -= WEEK_MS) weeks.push(start);
    for (const start of weeks) {
      if (this.stopping) break;
      if (have.has(start)) continue;
      const created = await this.locked((trx) => this.retention.createPartition(trx, start));
      if (created === "busy") return;
      if (created) report.created.push(partitionName(start));
    }
  }

  /**
   * Runs `fn` under the upkeep lock; false when another process holds it or already did the work;
   * "busy" when the event table stayed locked by others past the repository's wait: the rest of
   * the pass's partition work waits for the next pass, rather than each week waiting in turn.
   */
  private async locked(fn: (trx: Db) => Promise<boolean>): Promise<boolean | "busy"> {
    try {
      return await this.deps.store.write(async (trx) => (await this.retention.tryLock(trx)) && fn(trx));
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code !== LOCK_NOT_AVAILABLE) throw err;
      this.deps.logger.warn({ event: "people.partitions.busy" }, "the event table stayed busy; its partitions are changed on the next pass");
      return "busy";
    }
  }
}

export interface BehindIngestDeps {
  store: Store;
  logger: Logger;
  events: PersonEventsRepository;
  pollMs?: number;
  chunk?: number;
  maxWaitMs?: number;
  /** A monotonic clock in ms: the wait is the process's own pacing, not the domain's time. */
  now?: () => number;
}

/**
 * SQLite only: work that follows ingest up to a mark, in large chunks. A chunk is taken when a full
 * one is waiting or the oldest waiting event has waited `maxWaitMs`. Taking whatever had arrived
 * at every look took a few thousand events at a time under load, and a chunk dirties about as
 * many pages of the table it fills as it has distinct keys whatever its size: per event,
 * 5,000-event chunks of the person index cost four to six times what 50,000-event ones do
 * (docs/benchmarks.md).
 */
interface BehindIngestJob {
  /** Names the work in the log line of a failed pass. */
  what: string;
  /** How many events (by id) wait above the mark. */
  waiting(db: Db): Promise<number>;
  /** Takes up to `chunk` of them and moves the mark; returns how many ids it covered. */
  take(trx: Db, chunk: number): Promise<number>;
}

class ChunksBehindIngest {
  private readonly loop: WorkLoop;
  private readonly chunk: number;
  private readonly maxWaitMs: number;
  private readonly now: () => number;
  /** When the events now waiting began to wait (as far as this loop has seen), or null: none wait. */
  private waitingSince: number | null = null;

  constructor(
    private readonly deps: BehindIngestDeps,
    private readonly job: BehindIngestJob,
  ) {
    this.chunk = deps.chunk ?? INDEX_CHUNK;
    this.maxWaitMs = deps.maxWaitMs ?? INDEX_MAX_WAIT_MS;
    this.now = deps.now ?? (() => performance.now());
    this.loop = new WorkLoop({ runOnce: () => this.runOnce(), pollMs: deps.pollMs ?? INDEX_POLL_MS, logger: deps.logger, what: job.what });
  }

  start(): void {
    if (this.deps.store.dialect === "sqlite") this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Takes one chunk if it is time to (above); true when a full chunk was taken (more may wait). */
  async runOnce(): Promise<boolean> {
    const waiting = await this.job.waiting(this.deps.store.db);
    if (waiting === 0) {
      this.waitingSince = null;
      return false;
    }
    const now = this.now();
    this.waitingSince ??= now;
    if (waiting < this.chunk && now - this.waitingSince < this.maxWaitMs) return false;
    // Relaxed: a chunk lost in a machine crash is only taken again, with its mark.
    const covered = await this.deps.store.write((trx) => this.job.take(trx, this.chunk), { durability: "relaxed" });
    // What is left arrived while the chunk filled: it waits from now.
    this.waitingSince = covered >= waiting ? null : now;
    return covered >= this.chunk;
  }
}

/**
 * Fills person_event_index behind ingest (see README, "The person index on SQLite"). Many events
 * per transaction share each index page they dirty, where an index written with every event
 * dirtied about one page per event. Reads are exact without it: they add the unindexed tail.
 */
export class PersonEventIndexer extends ChunksBehindIngest {
  constructor(deps: BehindIngestDeps) {
    super(deps, { what: "indexing people's events", waiting: (db) => deps.events.waitingToIndex(db), take: (trx, chunk) => deps.events.indexPending(trx, chunk) });
  }
}

/**
 * Merges tracked events' de-duplication keys into person_event_dedupe behind ingest (see README,
 * "De-duplication keys on SQLite"). Until merged, a key is checked against the ingesting
 * process's copy (recent-event-keys.ts); merged in sorted chunks, random keys share the pages
 * they dirty.
 */
export class PersonEventKeyMerger extends ChunksBehindIngest {
  constructor(deps: BehindIngestDeps) {
    super(deps, { what: "merging tracked events' keys", waiting: (db) => deps.events.keysWaiting(db), take: (trx, chunk) => deps.events.mergeKeys(trx, chunk) });
  }
}
