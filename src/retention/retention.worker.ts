// The worker role's retention passes (src/retention/README.md): every POSTHORN_RETENTION_INTERVAL,
// the bodies of messages (outbound and inbound) past POSTHORN_BODY_RETENTION are removed, the
// events past POSTHORN_OUTBOX_RETENTION that every outbox consumer has read are deleted, and the
// webhook posts past POSTHORN_WEBHOOK_RETENTION are deleted with their attempts, each batch of rows in
// a transaction of its own with a pause after it, so acceptance and delivery never wait for more
// than one batch (on SQLite, the one writer).
//
// One worker process runs the passes at a time: it holds the lease of retention_progress, renewed
// inside every batch's transaction, so a batch of a worker that lost its lease rolls back whole and
// two workers never remove the same rows at once. The alternative, SKIP LOCKED claims of rows, would
// let several workers remove at once; retention is not urgent, and one at a time keeps its write
// load on the database to one batch at a time however many workers run.
//
// A process killed mid-pass loses at most its open batch, which rolls back: every batch leaves the
// tables consistent (a body is removed with its bounce dumps in one transaction), the bodies mark
// moves with the batch that settled the messages behind it, events are found again from the
// oldest, and the lease runs out for the next worker (or this one, restarted).
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Db, Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import { WorkLoop } from "../shared/work-loop.js";
import type { InboundMark, RetentionRepository, ReadPosition } from "./retention.repository.js";
import type { RetentionConfigPart } from "./retention.config.js";

/** How long the lease lasts without renewal; each batch renews it. */
const LEASE_MS = 60_000;

/** The removals of a pass, in their order. */
export type BatchKind = "bodies" | "inbound" | "events" | "webhooks";

export type RemovedKind = "bodies" | "bounce_dumps" | "inbound_bodies" | "events" | "webhook_records";

/** What the worker is told: the configuration's part as it is (null: that kind is kept forever). */
export type RetentionSettings = RetentionConfigPart["retention"];

export interface RetentionDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  repository: RetentionRepository;
  settings: RetentionSettings;
  /** Counts rows removed (posthorn_retention_removed_total). */
  removed?: (kind: RemovedKind, count: number) => void;
  /** Called after each committed batch (tests stop a pass part-way here). */
  afterBatch?: (kind: BatchKind) => void | Promise<void>;
}

export interface PassReport {
  /** false when another process held the lease (this pass did nothing). */
  ran: boolean;
  bodies: number;
  bounceDumps: number;
  inboundBodies: number;
  events: number;
  webhookRecords: number;
  /** Transactions committed. */
  batches: number;
}

/** Thrown inside a batch whose worker no longer holds the lease: the transaction rolls back. */
class LeaseLost extends Error {}

export class RetentionWorker {
  private readonly owner = `retention-${randomUUID()}`;
  private readonly loop: WorkLoop;
  private stopping = false;
  /** Set by start() on SQLite: the first pass takes the lease whoever holds it (see start). */
  private takeOver = false;

  constructor(private readonly deps: RetentionDeps) {
    this.loop = new WorkLoop({
      runOnce: async () => {
        const report = await this.runOnce();
        if (report.bodies + report.bounceDumps + report.inboundBodies + report.events + report.webhookRecords > 0) {
          const { bodies, bounceDumps, inboundBodies, events, webhookRecords, batches } = report;
          deps.logger.info({ event: "retention.pass.removed", bodies, bounceDumps, inboundBodies, events, webhookRecords, batches }, "retention removed bodies, events and webhook records past their time");
        }
        return false;
      },
      pollMs: deps.settings.intervalMs,
      logger: deps.logger,
      what: "the retention pass",
    });
  }

  start(): void {
    if (this.keepsEverything()) return;
    // One process uses a SQLite database, so a lease held at start belongs to a process that
    // died (kill -9 mid-pass): its pass resumes at once rather than a lease's length later, as
    // the MTA takes back its deliveries. On PostgreSQL another live worker may hold it.
    this.takeOver = this.deps.store.dialect === "sqlite";
    this.loop.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop.stop();
  }

  /** One pass: outbound bodies, inbound content, events, then webhook records, under the lease; the lease is given back at its end. */
  async runOnce(): Promise<PassReport> {
    const report: PassReport = { ran: false, bodies: 0, bounceDumps: 0, inboundBodies: 0, events: 0, webhookRecords: 0, batches: 0 };
    const { store, clock, repository, settings } = this.deps;
    if (this.keepsEverything()) return report;
    const now = clock.now();
    const claimed = await store.write((trx) => repository.claim(trx, this.owner, now, now + LEASE_MS, this.takeOver), { durability: "relaxed" });
    if (!claimed) return report;
    this.takeOver = false;
    report.ran = true;
    try {
      if (settings.bodiesMs !== null) await this.removeBodies(claimed.bodiesAfter, now - settings.bodiesMs, report);
      if (settings.bodiesMs !== null) await this.removeInboundContent(claimed.inboundAfter, now - settings.bodiesMs, report);
      if (settings.outboxMs !== null) await this.removeEvents(now - settings.outboxMs, report);
      if (settings.webhooksMs !== null) await this.removeWebhookRecords(now - settings.webhooksMs, report);
    } catch (err) {
      if (!(err instanceof LeaseLost)) throw err;
      this.deps.logger.warn({ event: "retention.pass.lease-lost" }, "retention pass stopped: another worker process took its lease");
      return report;
    }
    await store.write((trx) => repository.release(trx, this.owner), { durability: "relaxed" });
    return report;
  }

  /**
   * Walks the messages accepted before `cutoff` in id order from the mark, a batch per
   * transaction. A message still queued (a delivery may yet be attempted) keeps its body, and the
   * mark stops before it, so the next pass looks at it again; the walk itself goes on past it.
   */
  private async removeBodies(mark: string, cutoff: number, report: PassReport): Promise<void> {
    const { clock, repository, settings } = this.deps;
    const below = idBelow(cutoff);
    let after = mark;
    const front = new SettledFront();
    await this.inBatches("bodies", report, async (trx) => {
      const rows = await repository.messagesPage(trx, after, below, settings.batch);
      const due = rows.filter((r) => !r.bodyRemoved && r.state !== "queued" && r.createdAt < cutoff);
      const removed = new Set(await repository.removeBodies(trx, due.map((r) => r.id), clock.now()));
      let dumps = 0;
      for (const [workspaceId, ids] of byWorkspace(rows.filter((r) => removed.has(r.id)))) dumps += await repository.removeBounceDumps(trx, workspaceId, ids);
      await this.renew(trx, { bodiesAfter: front.over(rows, (r) => r.bodyRemoved || removed.has(r.id), (r) => r.id) });
      const last = rows.at(-1)?.id;
      return { removed: removed.size, dumps, last, more: last !== undefined && rows.length === settings.batch };
    }, (page) => {
      report.bodies += page.removed;
      report.bounceDumps += page.dumps;
      if (page.removed > 0) this.deps.removed?.("bodies", page.removed);
      if (page.dumps > 0) this.deps.removed?.("bounce_dumps", page.dumps);
      if (page.last !== undefined) after = page.last;
    });
  }

  /**
   * Walks the inbound messages received before `cutoff` as removeBodies walks outbound ones. A
   * message whose webhook is still due (pending, retrying) keeps its content, which is what the
   * post carries, and the mark stops before it. A blocked or failed one loses it like a posted
   * one: it could be bypassed or retried until then, and is refused afterwards.
   */
  private async removeInboundContent(mark: InboundMark, cutoff: number, report: PassReport): Promise<void> {
    const { clock, repository, settings } = this.deps;
    let after = mark;
    const front = new SettledFront();
    await this.inBatches("inbound", report, async (trx) => {
      const rows = await repository.inboundPage(trx, after, cutoff, settings.batch);
      const due = rows.filter((r) => !r.bodyRemoved && r.settled);
      const removed = new Set(await repository.removeInboundContent(trx, due.map((r) => r.id), clock.now()));
      await this.renew(trx, { inboundAfter: front.over(rows, (r) => r.bodyRemoved || removed.has(r.id), (r): InboundMark => ({ at: r.receivedAt, id: r.id })) });
      const last = rows.at(-1);
      return { removed: removed.size, last: last && { at: last.receivedAt, id: last.id }, more: last !== undefined && rows.length === settings.batch };
    }, (page) => {
      report.inboundBodies += page.removed;
      if (page.removed > 0) this.deps.removed?.("inbound_bodies", page.removed);
      if (page.last !== undefined) after = page.last;
    });
  }

  /**
   * Deletes webhook posts (with their attempts) made before `cutoff` and final, oldest first, a
   * batch per transaction, until a page ends past the cutoff or the table does. A post still to
   * be tried again stays, whatever its age, and is looked at by the next pass.
   */
  private async removeWebhookRecords(cutoff: number, report: PassReport): Promise<void> {
    const { repository, settings } = this.deps;
    let after = 0;
    await this.inBatches("webhooks", report, async (trx) => {
      const rows = await repository.webhookPage(trx, after, settings.batch);
      const deleted = await repository.deleteWebhookRecords(trx, rows.filter((r) => r.final && r.createdAt < cutoff).map((r) => r.id));
      await this.renew(trx);
      const last = rows.at(-1);
      // Ids grow with time: once a page ends with a post made after the cutoff, the rest are newer.
      return { deleted, last: last?.id, more: last !== undefined && rows.length === settings.batch && last.createdAt < cutoff };
    }, (page) => {
      report.webhookRecords += page.deleted;
      if (page.deleted > 0) this.deps.removed?.("webhook_records", page.deleted);
      if (page.last !== undefined) after = page.last;
    });
  }

  /**
   * Deletes events created before `cutoff` that every consumer has read, oldest first, a batch
   * per transaction, until a batch finds none: the rest are newer, or unread by some consumer.
   */
  private async removeEvents(cutoff: number, report: PassReport): Promise<void> {
    const { repository, settings } = this.deps;
    let after = 0;
    await this.inBatches("events", report, async (trx) => {
      const read = await repository.leastRead(trx);
      // No consumer has a cursor yet: which events will be read is unknown, so none goes.
      if (read === null) return { deleted: 0, last: undefined, more: false };
      const rows = await repository.eventsPage(trx, after, settings.batch);
      const deleted = await repository.deleteEvents(trx, rows.filter((e) => e.createdAt < cutoff && readBy(e, read)).map((e) => e.id));
      await this.renew(trx);
      const last = rows.at(-1)?.id;
      return { deleted, last, more: deleted > 0 && last !== undefined && rows.length === settings.batch };
    }, (page) => {
      report.events += page.deleted;
      if (page.deleted > 0) this.deps.removed?.("events", page.deleted);
      if (page.last !== undefined) after = page.last;
    });
  }

  /**
   * Runs one kind of removal a batch per transaction, with the pause after each, until a batch
   * says it was the last. `counted` runs once its batch has committed.
   */
  private async inBatches<T extends { more: boolean }>(kind: BatchKind, report: PassReport, batch: (trx: Db) => Promise<T>, counted: (page: T) => void): Promise<void> {
    while (!this.stopping) {
      const page = await this.deps.store.write(batch, { durability: "relaxed" });
      report.batches += 1;
      counted(page);
      await this.deps.afterBatch?.(kind);
      if (!page.more) break;
      await this.pause();
    }
  }

  /** Renews the lease (and moves a mark) inside a batch's transaction; a worker that lost it rolls the batch back whole. */
  private async renew(trx: Db, mark?: Parameters<RetentionRepository["renew"]>[4]): Promise<void> {
    const now = this.deps.clock.now();
    if (!(await this.deps.repository.renew(trx, this.owner, now, now + LEASE_MS, mark))) throw new LeaseLost();
  }

  private keepsEverything(): boolean {
    const { bodiesMs, outboxMs, webhooksMs } = this.deps.settings;
    return bodiesMs === null && outboxMs === null && webhooksMs === null;
  }

  private async pause(): Promise<void> {
    if (this.deps.settings.pauseMs > 0) await sleep(this.deps.settings.pauseMs);
  }
}

/**
 * Where a walk's mark may move: over the settled rows at the front of each page, and only while
 * no earlier row of the pass was left unsettled, so that the next pass starts at the first row
 * still to do.
 */
class SettledFront {
  private settledSoFar = true;

  /** The mark after this page's settled front; undefined when it does not move. */
  over<R, M>(rows: readonly R[], settled: (row: R) => boolean, markOf: (row: R) => M): M | undefined {
    let mark: M | undefined;
    if (!this.settledSoFar) return undefined;
    for (const row of rows) {
      if (!settled(row)) {
        this.settledSoFar = false;
        break;
      }
      mark = markOf(row);
    }
    return mark;
  }
}

/** Whether every consumer has read the event: at or before the least read position, in (tx, id) order. */
function readBy(e: { tx: number; id: number }, read: ReadPosition): boolean {
  return e.tx < read.tx || (e.tx === read.tx && e.id <= read.id);
}

/**
 * The least message id accepted at or after `t`: message ids are UUIDv7 (src/shared/ids.ts), their
 * first 48 bits the acceptance time in ms, as hex that sorts like the time. Every id below it was
 * made before `t`; each row's created_at is checked as well.
 */
export function idBelow(t: number): string {
  const time = Math.max(0, Math.floor(t)).toString(16).padStart(12, "0");
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-`;
}

function byWorkspace(rows: Array<{ id: string; workspaceId: string }>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of rows) out.set(r.workspaceId, [...(out.get(r.workspaceId) ?? []), r.id]);
  return out;
}
