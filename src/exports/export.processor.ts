// Builds exports (role worker): a recorded export is claimed under a lease and its rows are read
// from its source a page at a time (export-sources.ts); each page's rows go into one chunk, written
// in the same transaction as the cursor, count and columns that move past them, and only while the
// claim is held. A crash (kill -9) therefore repeats no row and loses none: the export comes due
// again when the dead worker's claim runs out, and the next claimant reads on from the last
// committed cursor. The export finishes (done, or failed over the row cap) in a transaction that
// also gives the workspace's building place back. Finished exports are removed after RETENTION_MS.
import type { Updateable } from "kysely";
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import { WorkLoop } from "../shared/work-loop.js";
import type { ExportsRepository } from "./exports.repository.js";
import type { ExportRow, ExportsTable } from "./exports.schema.js";
import type { ExportRequest } from "./exports.types.js";
import type { ExportSources } from "./export-sources.js";

const POLL_MS = 1_000;
/** Rows per chunk (one page of the source, one transaction). */
export const BATCH_ROWS = 500;
/**
 * Rows per export at most. Past it the export fails (saying so) rather than hand over a file that
 * silently lacks rows; narrow the filter or the time window. A row is some hundreds of bytes, so
 * a full export is a few hundred MB of chunks in the database until its retention ends.
 */
export const ROW_CAP = 1_000_000;
/** Attribute columns of a customers export at most; names first seen past it are left out of the file. */
export const MAX_ATTRIBUTE_COLUMNS = 1_000;
/** Finished exports (and their files) are kept this long, then removed. */
export const RETENTION_MS = 7 * 24 * 3_600_000;

export interface ExportProcessorOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  repository: ExportsRepository;
  sources: Pick<ExportSources, "page">;
  batchRows?: number;
  rowCap?: number;
  leaseMs?: number;
  pollMs?: number;
}

class ClaimLost extends Error {}

export class ExportProcessor {
  private readonly loop: WorkLoop;
  private readonly batchRows: number;
  private readonly rowCap: number;
  private readonly leaseMs: number;
  private stopped = false;
  private lastSweep = 0;

  constructor(private readonly options: ExportProcessorOptions) {
    this.batchRows = options.batchRows ?? BATCH_ROWS;
    this.rowCap = options.rowCap ?? ROW_CAP;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.loop = new WorkLoop({ runOnce: () => this.runOnce(), pollMs: options.pollMs ?? POLL_MS, logger: options.logger, what: "an export pass" });
  }

  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  /** Gives the export in hand back after the batch in flight and waits for the pass to end. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.loop.stop();
  }

  async runOnce(): Promise<boolean> {
    const { store, clock, repository } = this.options;
    const now = clock.now();
    if (now - this.lastSweep > 60_000) {
      this.lastSweep = now;
      await store.write((trx) => repository.removeFinishedBefore(trx, now - RETENTION_MS, 100));
    }
    const claimUntil = now + this.leaseMs;
    const row = await store.write((trx) => repository.claimDue(trx, now, claimUntil));
    if (!row) return false;
    try {
      await this.build(row, { until: claimUntil });
    } catch (err) {
      if (!(err instanceof ClaimLost)) throw err;
      this.options.logger.warn({ event: "export.claim.lost", exportId: row.id }, "export taken over by another process");
    }
    return true;
  }

  private async build(row: ExportRow, claim: { until: number }): Promise<void> {
    const { store, clock, repository, sources } = this.options;
    const request = JSON.parse(row.request_json) as ExportRequest;
    const progress = { cursor: row.cursor, chunks: Number(row.chunks), total: Number(row.total), columns: JSON.parse(row.columns_json) as string[] };
    while (!this.stopped) {
      const page = await sources.page(row.workspace_id, request, progress.cursor, this.batchRows);
      const now = clock.now();
      const over = progress.total + page.rows.length > this.rowCap;
      const finished = page.next === null || over;
      const changes: Updateable<ExportsTable> = over
        ? { state: "failed", error: `More than ${this.rowCap} rows: narrow the filter (or the time window) and export again.`, next_run_at: null, finished_at: now, updated_at: now }
        : { state: finished ? "done" : "running", cursor: page.next, chunks: progress.chunks + (page.rows.length > 0 ? 1 : 0), total: progress.total + page.rows.length, columns_json: JSON.stringify(this.columns(request, progress.columns, page.attributes)), next_run_at: finished ? null : now + this.leaseMs, finished_at: finished ? now : null, updated_at: now };
      await store.write(async (trx) => {
        // The claim first: a worker that lost it finds out here and commits nothing (its chunk's seq may be taken already).
        if (!(await repository.update(trx, Number(row.id), claim.until, changes))) throw new ClaimLost();
        if (!over && page.rows.length > 0) await repository.addChunk(trx, Number(row.id), progress.chunks, JSON.stringify(page.rows));
        if (finished) await repository.givePlace(trx, row.workspace_id);
      });
      if (finished) return;
      claim.until = changes.next_run_at as number;
      progress.cursor = page.next;
      progress.chunks = changes.chunks as number;
      progress.total = changes.total as number;
      progress.columns = JSON.parse(changes.columns_json as string) as string[];
    }
    // Stopping: the export is due again at once for whichever worker looks next.
    await store.write((trx) => repository.update(trx, Number(row.id), claim.until, { next_run_at: clock.now() }));
  }

  /** Customers: every attribute seen, sorted, up to MAX_ATTRIBUTE_COLUMNS; deliveries: the ones asked for. */
  private columns(request: ExportRequest, known: string[], seen: string[]): string[] {
    if (request.kind === "deliveries" || seen.length === 0) return known;
    const all = new Set(known);
    for (const name of seen) if (all.size < MAX_ATTRIBUTE_COLUMNS) all.add(name);
    return [...all].sort();
  }
}
