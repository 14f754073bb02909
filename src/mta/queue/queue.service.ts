// Operating the delivery queue: what is waiting where, retrying deferred mail now, and purging
// a destination's mail. Used by the `posthorn queue` command and the app API.
import type { Store } from "../../store/store.js";
import type { Clock } from "../../shared/clock.js";
import type { EventEmitter } from "../../events/outbox.js";
import type { DeliveriesRepository } from "./deliveries.repository.js";
import { QueueDomainRequired } from "./queue.errors.js";

export interface QueueSummary {
  /** Deliveries by state (queued, deferred, delivered, bounced, suppressed, expired). */
  states: Record<string, number>;
  /** Recipient domains with the most deliveries waiting, largest first. */
  destinations: Array<{ domain: string; queued: number; deferred: number; oldestCreatedAt: number }>;
}

const TOP_DESTINATIONS = 10;

export class QueueService {
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
}
