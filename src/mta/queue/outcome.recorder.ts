// Turns attempt results into durable state: the delivery row, a message event with the remote
// reply, and for bounces a bounce record (which suppresses hard-bounced addresses). Results are
// written in small groups, one transaction each, because one commit per recipient would cap the
// MTA at the disk's fsync rate.
import type { Store } from "../../store/store.js";
import type { Clock } from "../../shared/clock.js";
import type { Logger } from "../../shared/logger.js";
import type { NewMessageEventRow } from "../../store/schema.js";
import type { BounceInput, BouncesService } from "../../bounces/bounces.service.js";
import type { DsnRequest } from "../../messages/dsn-request.js";
import type { MessagesRepository } from "../../messages/messages.repository.js";
import type { AttemptResult, RecipientOutcome, SmtpReply } from "../mta.types.js";
import type { ClaimedDelivery, DeliveriesRepository, DeliveryUpdate } from "./deliveries.repository.js";
import { nextRetry, type RetryPolicy } from "./retry-schedule.js";
import { queueFailureNotices } from "../failure-notices/failure-notices.js";

export interface MessageInfo {
  id: string;
  workspaceId: string;
  stream: string;
  fromHeader: string;
  subject: string;
  tag: string | null;
  /** The original envelope sender ("" for a notice that itself has a null sender). */
  envelopeFrom: string;
  /** Whether failures are reported to envelopeFrom with an RFC 3464 notice. */
  notifyFailure: boolean;
  /** The submitter's RFC 3461 parameters (NOTIFY and ORCPT per recipient, ENVID), if any. */
  dsn: DsnRequest | null;
  receivedAt: number;
  /** The message's header block, returned in a failure notice. */
  originalHeaders: Buffer;
}

export interface RecordItem {
  message: MessageInfo;
  delivery: ClaimedDelivery;
  outcome: RecipientOutcome;
  attempt: Pick<AttemptResult, "remoteHost" | "remoteIp" | "tls">;
}

interface Pending {
  items: RecordItem[];
  done: () => void;
  fail: (err: unknown) => void;
}

const FLUSH_AFTER_MS = 25;
const FLUSH_AT_ITEMS = 500;

export class OutcomeRecorder {
  private pending: Pending[] = [];
  private pendingItems = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: {
      store: Store;
      clock: Clock;
      logger: Logger;
      retry: RetryPolicy;
      deliveries: DeliveriesRepository;
      messages: MessagesRepository;
      bounces: BouncesService;
      /** Our host name, as the Reporting-MTA of failure notices. */
      hostname: string;
      /** Called after failure notices were queued, so the MTA picks them up. */
      onQueued?: () => void;
    },
  ) {}

  /** Resolves once the outcomes are committed. */
  record(items: RecordItem[]): Promise<void> {
    return new Promise((done, fail) => {
      this.pending.push({ items, done, fail });
      this.pendingItems += items.length;
      if (this.pendingItems >= FLUSH_AT_ITEMS) this.flushSoon(0);
      else this.flushSoon(FLUSH_AFTER_MS);
    });
  }

  /** Commits everything recorded so far. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const group = this.pending;
    this.pending = [];
    this.pendingItems = 0;
    if (group.length > 0) {
      this.flushing = this.flushing.then(() => this.write(group));
    }
    await this.flushing;
  }

  private flushSoon(delayMs: number) {
    if (this.timer && delayMs > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), delayMs);
  }

  private async write(group: Pending[]): Promise<void> {
    let noticesQueued = 0;
    try {
      await this.deps.store.write(
        async (trx) => {
          const now = this.deps.clock.now();
          const planned = group.flatMap(({ items }) => items.map((item) => this.plan(item, now)));
          // One statement for every row's new state; rows whose lease was lost are left alone
          // and get no event (their new holder records its own attempt).
          const applied = await this.deps.deliveries.applyUpdates(trx, planned.map((p) => p.update));
          const events: NewMessageEventRow[] = [];
          for (const p of planned) {
            if (!applied.has(p.update.id)) continue;
            let details = p.details;
            if (p.bounce) {
              const bounceId = await this.deps.bounces.record(trx, p.bounce);
              details = { ...details, BounceID: String(bounceId) };
            }
            events.push({ ...p.event, details_json: JSON.stringify(details) });
          }
          await this.deps.messages.appendEvents(trx, events);
          await this.deps.messages.markSentWhereDone(trx, [...new Set(planned.map((p) => p.event.message_id))]);
          noticesQueued = await queueFailureNotices(trx, {
            failures: planned.filter((p) => applied.has(p.update.id) && (p.update.state === "bounced" || p.update.state === "expired")),
            hostname: this.deps.hostname,
            messages: this.deps.messages,
            now,
          });
        },
        // Relaxed: an outcome lost with the machine (not with the process) only means the
        // delivery is attempted again after its lease — the at-least-once case a crash already has.
        { durability: "relaxed" },
      );
      for (const p of group) p.done();
      if (noticesQueued > 0) this.deps.onQueued?.();
    } catch (err) {
      this.deps.logger.error({ err }, "recording delivery outcomes failed; the rows stay leased and will be retried after the lease");
      for (const p of group) p.fail(err);
    }
  }

  /** What an outcome changes: the row's state, its event, and for bounces the bounce record. */
  private plan(item: RecordItem, now: number): Planned {
    const { delivery, outcome, message, attempt } = item;
    const attempts = delivery.attempts + 1;
    const replyText = describeReply(outcome);
    const event = { message_id: message.id, workspace_id: message.workspaceId, recipient: delivery.recipient, created_at: now };
    const serverDetails = {
      DeliveryMessage: replyText,
      DestinationServer: attempt.remoteHost ?? "",
      DestinationIP: attempt.remoteIp ?? "",
      Tls: attempt.tls,
    };
    const update = { id: delivery.id, leaseOwner: delivery.leaseOwner, attempts, lastReply: replyText, now };
    const notice = { item, reply: outcome.reply };

    switch (outcome.kind) {
      case "delivered":
        return { update: { ...update, state: "delivered", nextAttemptAt: now }, event: { ...event, type: "Delivered" }, details: serverDetails, notice };
      case "deferred": {
        const decision = nextRetry(this.deps.retry, { attempts, createdAt: delivery.createdAt, now });
        if (decision.kind === "retry") {
          return {
            update: { ...update, state: "deferred", nextAttemptAt: decision.at },
            event: { ...event, type: "Transient" },
            details: { ...serverDetails, NextAttemptAt: new Date(decision.at).toISOString() },
            notice,
          };
        }
        // Out of time: the delivery ends expired and is reported as a (soft) bounce with the last reply.
        const summary = `Gave up after ${attempts} attempts: ${replyText}`;
        return {
          update: { ...update, state: "expired", nextAttemptAt: now },
          event: { ...event, type: "Bounced" },
          details: { Summary: summary, ...serverDetails },
          bounce: bounceInput(message, delivery.recipient, "SoftBounce", summary),
          notice,
        };
      }
      case "bounced":
        return {
          update: { ...update, state: "bounced", nextAttemptAt: now },
          event: { ...event, type: "Bounced" },
          details: { Summary: replyText, BounceType: outcome.bounceType, ...serverDetails },
          bounce: bounceInput(message, delivery.recipient, outcome.bounceType, replyText),
          notice,
        };
      default: {
        const never: never = outcome;
        throw new Error(`unknown outcome ${JSON.stringify(never)}`);
      }
    }
  }
}

export interface Planned {
  update: DeliveryUpdate;
  event: Omit<NewMessageEventRow, "details_json">;
  details: Record<string, unknown>;
  bounce?: BounceInput;
  /** What a failure notice would need: the item and the remote reply. */
  notice: { item: RecordItem; reply: SmtpReply | null };
}

function bounceInput(message: MessageInfo, email: string, type: BounceInput["type"], details: string): BounceInput {
  return {
    workspaceId: message.workspaceId,
    messageId: message.id,
    stream: message.stream,
    type,
    email,
    fromHeader: message.fromHeader,
    subject: message.subject,
    tag: message.tag,
    details,
  };
}

function formatReply(reply: SmtpReply): string {
  const text = reply.text.trim();
  return /^\d{3}/.test(text) ? text : `${reply.code} ${text}`;
}

/** The remote reply as text, or our reason when there was no reply (DNS failure, timeout…). */
export function describeReply(outcome: RecipientOutcome): string {
  if (outcome.reply) return formatReply(outcome.reply);
  return outcome.kind === "delivered" ? "" : outcome.reason;
}
