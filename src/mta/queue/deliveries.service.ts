// The deliveries as other domains may see and change them: looked up by id (a VERP address names
// one) or by message and recipient (a report that quotes our Message-ID), and ended by a report
// that comes back by mail after our session. Changes emit their events in the caller's
// transaction, so the reactions (bounce record, suppression, message state) commit with them.
import type { Db } from "../../store/store.js";
import type { Clock } from "../../shared/clock.js";
import type { EventEmitter } from "../../events/outbox.js";
import type { BounceType } from "../../bounces/bounce-types.js";
import type { DeliveryRow, DeliveryState } from "../../store/schema.js";
import type { DeliveriesRepository } from "./deliveries.repository.js";

export interface DeliveryRecord {
  id: number;
  messageId: string;
  workspaceId: string;
  recipient: string;
  stream: string;
  state: DeliveryState;
}

export class DeliveriesService {
  constructor(private readonly deps: { repository: DeliveriesRepository; clock: Clock }) {}

  async find(db: Db, id: number): Promise<DeliveryRecord | null> {
    const row = await this.deps.repository.findById(db, id);
    return row ? toRecord(row) : null;
  }

  /** A message's delivery to one recipient (by addressKey), for reports that name the message but carry no VERP. */
  async findByMessageAndRecipient(db: Db, messageId: string, recipient: string): Promise<DeliveryRecord | null> {
    const row = await this.deps.repository.findByMessageAndRecipient(db, messageId, recipient);
    return row ? toRecord(row) : null;
  }

  /**
   * A report says the delivery failed after all: it becomes bounced, unless it had already ended
   * otherwise (bounced, expired, suppressed), so that a repeated report counts once. Returns
   * whether it changed.
   */
  async bounceByReport(trx: Db, outbox: EventEmitter, delivery: DeliveryRecord, report: { bounceType: BounceType; summary: string; status?: string | null }): Promise<boolean> {
    if (!(await this.deps.repository.markBouncedLater(trx, delivery.id, report.summary, this.deps.clock.now()))) return false;
    await outbox.emit(trx, [
      {
        type: "delivery.bounced",
        workspaceId: delivery.workspaceId,
        messageId: delivery.messageId,
        recipient: delivery.recipient,
        data: {
          stream: delivery.stream,
          origin: "report",
          bounceType: report.bounceType,
          summary: report.summary,
          attempt: null,
          // The report's Status, for the sender's failure notice (failure-notices.ts).
          ...(report.status ? { reportedStatus: report.status } : {}),
        },
      },
    ]);
    return true;
  }
}

function toRecord(row: DeliveryRow): DeliveryRecord {
  return { id: Number(row.id), messageId: row.message_id, workspaceId: row.workspace_id, recipient: row.recipient, stream: row.stream, state: row.state };
}
