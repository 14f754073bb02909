// Operating the delivery queue: what is waiting where, retrying deferred mail now, and purging
// a destination's mail. Used by the `posthorn queue` command and the app API.
import type { Store } from "../../store/store.js";
import type { Clock } from "../../shared/clock.js";
import type { EventEmitter } from "../../events/outbox.js";
import type { DeliveriesRepository } from "./deliveries.repository.js";
import { QueueDomainRequired } from "./queue.errors.js";
import { WorkspaceQueueRepository, type DestinationBacklog, type WaitingCounts, type WaitingDelivery } from "./workspace-queue.repository.js";

export type { DestinationBacklog, WaitingCounts, WaitingDelivery };

/** One workspace's part of the queue (the dashboard's view). */
export interface WorkspaceQueueSummary {
  waiting: WaitingCounts;
  destinations: DestinationBacklog[];
}

export interface QueueSummary {
  /** Deliveries by state (queued, deferred, delivered, bounced, suppressed, expired). */
  states: Record<string, number>;
  /** Recipient domains with the most deliveries waiting, largest first. */
  destinations: Array<{ domain: string; queued: number; deferred: number; oldestCreatedAt: number }>;
}

const TOP_DESTINATIONS = 10;
/** Deliveries listed for one destination: enough to pick one to retry, bounded for the page. */
const WAITING_LISTED = 100;

export class QueueService {
  private readonly ofWorkspace = new WorkspaceQueueRepository();

  constructor(private readonly deps: { store: Store; clock: Clock; deliveries: DeliveriesRepository; outbox: EventEmitter }) {}

  async summary(): Promise<QueueSummary> {
    const db = this.deps.store.db;
    return { states: await this.deps.deliveries.countByState(db), destinations: await this.deps.deliveries.mostWaiting(db, TOP_DESTINATIONS) };
  }

  /** Makes deferred deliveries (of one domain, or all) due now. Returns how many. */
  retryNow(options: { domain?: string } = {}): Promise<number> {
    const now = this.deps.clock.now();
    return this.deps.store.write((trx) => this.deps.deliveries.makeDeferredDue(trx, { domain: options.domain?.toLowerCase(), now }));
  }

  /**
   * Ends every waiting delivery to a domain as bounced, recording the reason on each. Rows in
   * the middle of an attempt are left to finish. The recipients are not suppressed: a purge is
   * the operator's decision about a destination, not a verdict on the addresses.
   */
  async purge(options: { domain: string; reason?: string }): Promise<number> {
    const domain = options.domain?.trim().toLowerCase();
    if (!domain) throw QueueDomainRequired();
    const summary = `Purged from the queue by an operator${options.reason ? `: ${options.reason}` : ""}`;
    return this.deps.store.write(async (trx) => {
      const purged = await this.deps.deliveries.bounceWaiting(trx, domain, summary, this.deps.clock.now());
      await this.deps.outbox.emit(
        trx,
        purged.map((d) => ({
          type: "delivery.bounced" as const,
          workspaceId: d.workspaceId,
          messageId: d.messageId,
          recipient: d.recipient,
          data: { stream: d.stream, origin: "operator" as const, bounceType: "Unknown" as const, summary, attempt: null },
        })),
      );
      return purged.length;
    });
  }

  /** A workspace's waiting deliveries and its most backlogged destinations. */
  async workspaceSummary(workspaceId: string): Promise<WorkspaceQueueSummary> {
    const db = this.deps.store.db;
    return { waiting: await this.ofWorkspace.countWaiting(db, workspaceId), destinations: await this.ofWorkspace.backlog(db, workspaceId, TOP_DESTINATIONS) };
  }

  /** A workspace's deliveries waiting for one destination, next due first. */
  waitingFor(workspaceId: string, domain: string): Promise<WaitingDelivery[]> {
    return this.ofWorkspace.waiting(this.deps.store.db, workspaceId, domain.toLowerCase(), WAITING_LISTED);
  }

  /** Makes a workspace's deferred deliveries due now: all, a destination's, or one delivery. Returns how many. */
  retryNowIn(workspaceId: string, options: { domain?: string; deliveryId?: number } = {}): Promise<number> {
    const now = this.deps.clock.now();
    return this.deps.store.write((trx) => this.ofWorkspace.makeDeferredDue(trx, { workspaceId, domain: options.domain?.toLowerCase(), deliveryId: options.deliveryId, now }));
  }

}
