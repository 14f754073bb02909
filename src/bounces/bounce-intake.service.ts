// Bounces and complaints that come back by mail. Only a report that carries a signed VERP return
// path of ours is acted on: in its envelope recipient, or as the envelope sender of the returned
// original (its Return-Path, a DSN's X-Postfix-Sender, an ARF report's Original-Mail-From). The
// signature proves we made the address, and the address names one delivery, which only that
// delivery's recipient and the servers on its way ever saw.
//
// A report without one (sent to postmaster@, abuse@ or fbl@ a return-path domain) is matched by
// the original's Message-ID, which we set as <message id>@<hostname>, and its recipient; but every
// recipient of a message sees its Message-ID and the other recipients' addresses, and anyone can
// send mail to postmaster@. So such a report is recorded as unverified (delivery.unverified-report,
// an Unknown bounce record an operator can see) and changes nothing: no suppression, no bounce of
// the delivery, no complaint. Without this, one co-recipient could have every other recipient of a
// message hard-bounced or complained into suppression, from anywhere.
//
// What a verified report records, in one transaction per report, as events (src/events/event-map.ts)
// whose reactions make the bounce records and suppressions, as for bounces met during our own session:
// - a failed recipient of a DSN: the delivery becomes bounced (delivery.bounced, origin "report";
//   a HardBounce record suppresses the address). Only the first report for a delivery counts: the
//   same DSN twice, or one for a delivery that had already bounced, adds nothing.
// - a delayed recipient: delivery.delayed (a Transient record); nothing else changes.
// - an ARF complaint (abuse, fraud, virus, other): delivery.complained (a SpamComplaint record,
//   which suppresses the address on the stream). "not-spam" reports are ignored.
// - an auto-reply to a VERP address: delivery.auto-replied (an AutoResponder record, informational).
// Anything else is accepted and dropped: a reply to a return path is not mail for anyone.
import type { Store, Db } from "../store/store.js";
import type { Logger } from "../shared/logger.js";
import { systemClock, type Clock } from "../shared/clock.js";
import type { EventEmitter } from "../events/outbox.js";
import type { EventMap } from "../events/event-map.js";
import type { DeliveriesService, DeliveryRecord } from "../mta/queue/deliveries.service.js";
import { parseVerp } from "./verp.js";
import { addressKey } from "../shared/email-address.js";
import { BounceReportsRepository } from "./bounce-reports.repository.js";
import { isAutoReply, parseBounceReport, type BounceReport, type DsnRecipient } from "./bounce-report.parser.js";

export interface BounceIntakeDeps {
  store: Store;
  logger: Logger;
  outbox: EventEmitter;
  deliveries: Pick<DeliveriesService, "find" | "findByMessageAndRecipient" | "bounceByReport">;
  verpSecret: Buffer;
  /** Our Message-ID domain (POSTHORN_HOSTNAME): <id>@<hostname> names one of our messages. */
  hostname: string;
  clock?: Clock;
}

/** What a report led to, for the log and the tests. */
export interface IntakeResult {
  kind: "bounce" | "transient" | "complaint" | "auto-reply" | "unverified" | "ignored";
  recorded: number;
  detail: string;
}

const COMPLAINT_TYPES = new Set(["abuse", "fraud", "virus", "other"]);
/**
 * The most of a report's text kept for a bounce record's dump (Postmark's GET /bounces/{id}/dump);
 * a longer report is cut there. A DSN is a few kilobytes, but a report may return the whole
 * original message, and an unverified one is kept once per recipient it names.
 */
export const REPORT_TEXT_MAX_CHARS = 256 * 1024;

export class BounceIntakeService {
  private readonly reports = new BounceReportsRepository();

  constructor(private readonly deps: BounceIntakeDeps) {}

  /** Whether an address is a VERP return path we issued (checked at RCPT time). */
  isVerpAddress(address: string): boolean {
    return parseVerp(address, this.deps.verpSecret) !== null;
  }

  /**
   * Handles one report received for `envelopeRecipient` (a VERP address or a return-path domain's
   * postmaster/abuse mailbox). Resolves once its records are committed.
   */
  async receive(raw: Buffer, envelopeRecipient: string): Promise<IntakeResult> {
    const verp = parseVerp(envelopeRecipient, this.deps.verpSecret);
    const report = await parseBounceReport(raw);
    const result = await this.deps.store.write(async (trx) => {
      if (report) {
        // The envelope's VERP first; else the returned original's envelope sender, which our MTA set.
        const fromOriginal = report.originalEnvelopeFrom ? parseVerp(report.originalEnvelopeFrom, this.deps.verpSecret) : null;
        const verified = verp?.deliveryId ?? fromOriginal?.deliveryId ?? null;
        return report.kind === "dsn" ? this.recordDsn(trx, report, verified, raw) : this.recordComplaint(trx, report, verified, raw);
      }
      if (verp && isAutoReply(raw)) {
        const delivery = await this.deps.deliveries.find(trx, verp.deliveryId);
        if (delivery) {
          await this.emit(trx, delivery, { type: "delivery.auto-replied", data: { stream: delivery.stream, summary: subjectOf(raw) || "Auto-reply" } });
          await this.keepReport(trx, delivery, raw);
          return { kind: "auto-reply", recorded: 1, detail: `delivery ${delivery.id}` } as IntakeResult;
        }
      }
      return { kind: "ignored", recorded: 0, detail: "not a delivery or feedback report" } as IntakeResult;
    });
    this.deps.logger.info({ event: "inbound.report.processed", recipient: envelopeRecipient, ...result }, "inbound report processed");
    return result;
  }

  /** `verpDelivery`: the delivery a signed VERP address in the report names, or null when it carries none. */
  private async recordDsn(db: Db, report: Extract<BounceReport, { kind: "dsn" }>, verpDelivery: number | null, raw: Buffer): Promise<IntakeResult> {
    const relevant = report.recipients.filter((r) => r.action === "failed" || r.action === "delayed");
    if (verpDelivery === null) return this.recordUnverifiedDsn(db, report, relevant, raw);
    // A VERP address names one delivery; the DSN's first relevant recipient line then describes it.
    const recipient = relevant[0];
    const delivery = recipient ? await this.deps.deliveries.find(db, verpDelivery) : null;
    if (!recipient || !delivery) {
      return { kind: "ignored", recorded: 0, detail: relevant.length === 0 ? "no failed or delayed recipient" : "no matching delivery" };
    }
    const summary = describe(recipient);
    if (recipient.action === "delayed") {
      await this.emit(db, delivery, { type: "delivery.delayed", data: { stream: delivery.stream, summary } });
      await this.keepReport(db, delivery, raw);
      return { kind: "transient", recorded: 1, detail: report.format };
    }
    if (await this.deps.deliveries.bounceByReport(db, this.deps.outbox, delivery, { bounceType: recipient.bounceType, summary, status: recipient.status })) {
      await this.keepReport(db, delivery, raw);
      return { kind: "bounce", recorded: 1, detail: report.format };
    }
    return { kind: "ignored", recorded: 0, detail: "already bounced" };
  }

  /** A DSN matched by Message-ID only: each recipient it names is recorded as an unverified report. */
  private async recordUnverifiedDsn(db: Db, report: Extract<BounceReport, { kind: "dsn" }>, relevant: DsnRecipient[], raw: Buffer): Promise<IntakeResult> {
    let recorded = 0;
    for (const recipient of relevant) {
      const delivery = await this.byMessageId(db, report.originalMessageId, recipient.recipient);
      if (!delivery) continue;
      const delayed = recipient.action === "delayed";
      await this.emit(db, delivery, {
        type: "delivery.unverified-report",
        data: { stream: delivery.stream, report: delayed ? "delay" : "bounce", claimed: delayed ? "Transient" : recipient.bounceType, summary: describe(recipient) },
      });
      await this.keepReport(db, delivery, raw);
      recorded += 1;
    }
    if (recorded > 0) return { kind: "unverified", recorded, detail: report.format };
    return { kind: "ignored", recorded: 0, detail: relevant.length === 0 ? "no failed or delayed recipient" : "no matching delivery" };
  }

  private async recordComplaint(db: Db, report: Extract<BounceReport, { kind: "complaint" }>, verpDelivery: number | null, raw: Buffer): Promise<IntakeResult> {
    if (!COMPLAINT_TYPES.has(report.feedbackType)) return { kind: "ignored", recorded: 0, detail: `feedback type ${report.feedbackType}` };
    const delivery =
      verpDelivery !== null
        ? await this.deps.deliveries.find(db, verpDelivery)
        : report.originalRecipient
          ? await this.byMessageId(db, report.originalMessageId, report.originalRecipient)
          : null;
    if (!delivery) return { kind: "ignored", recorded: 0, detail: "no matching delivery" };
    const summary = `Feedback-Type: ${report.feedbackType}${report.userAgent ? `; reported by ${report.userAgent}` : ""}${report.sourceIp ? `; source ${report.sourceIp}` : ""}`;
    await this.keepReport(db, delivery, raw);
    if (verpDelivery === null) {
      await this.emit(db, delivery, { type: "delivery.unverified-report", data: { stream: delivery.stream, report: "complaint", claimed: "SpamComplaint", summary } });
      return { kind: "unverified", recorded: 1, detail: report.feedbackType };
    }
    await this.emit(db, delivery, { type: "delivery.complained", data: { stream: delivery.stream, feedbackType: report.feedbackType, summary } });
    return { kind: "complaint", recorded: 1, detail: report.feedbackType };
  }

  /** Keeps the report's text for the dump of the bounce record it makes (bounces.service.ts reads it). */
  private async keepReport(db: Db, delivery: DeliveryRecord, raw: Buffer): Promise<void> {
    // PostgreSQL text cannot hold NUL; a report has no business carrying one.
    const text = raw.toString("utf8").replaceAll("\u0000", "");
    await this.reports.insert(db, {
      workspace_id: delivery.workspaceId,
      message_id: delivery.messageId,
      email_key: addressKey(delivery.recipient),
      raw: text.length > REPORT_TEXT_MAX_CHARS ? text.slice(0, REPORT_TEXT_MAX_CHARS) : text,
      received_at: (this.deps.clock ?? systemClock).now(),
    });
  }

  private async byMessageId(db: Db, originalMessageId: string | null, recipient: string): Promise<DeliveryRecord | null> {
    const id = ourMessageId(originalMessageId, this.deps.hostname);
    return id ? this.deps.deliveries.findByMessageAndRecipient(db, id, recipient) : null;
  }

  /** An event about a delivery that changes nothing of its own state (a delay, an auto-reply, a complaint). */
  private async emit(
    db: Db,
    delivery: DeliveryRecord,
    event:
      | { type: "delivery.delayed"; data: { stream: string; summary: string } }
      | { type: "delivery.auto-replied"; data: { stream: string; summary: string } }
      | { type: "delivery.complained"; data: { stream: string; feedbackType: string; summary: string } }
      | { type: "delivery.unverified-report"; data: EventMap["delivery.unverified-report"] },
  ): Promise<void> {
    await this.deps.outbox.emit(db, [{ ...event, workspaceId: delivery.workspaceId, messageId: delivery.messageId, recipient: delivery.recipient }]);
  }
}

/** Our message id from a Message-ID we set (<id@hostname>), or null for anyone else's. */
export function ourMessageId(messageId: string | null, hostname: string): string | null {
  if (!messageId) return null;
  const match = /^<?([^@<>\s]+)@([^>\s]+)>?$/.exec(messageId.trim());
  if (!match || match[2]!.toLowerCase() !== hostname.toLowerCase()) return null;
  return match[1]!;
}

function describe(recipient: DsnRecipient): string {
  const text = recipient.diagnostic.trim() || (recipient.status ? `status ${recipient.status}` : "no diagnostic given");
  return recipient.remoteMta ? `${text} (reported by ${recipient.remoteMta})` : text;
}

function subjectOf(raw: Buffer): string {
  const head = raw.subarray(0, 16_384).toString("latin1");
  return /^Subject:[ \t]*(.*)$/im.exec(head)?.[1]?.trim() ?? "";
}
