// Turns attempt results into durable state: the delivery row, a message event with the remote
// reply, and for bounces a bounce record (which suppresses hard-bounced addresses). Results are
// written in small groups, one transaction each, because one commit per recipient would cap the
// MTA at the disk's fsync rate.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import type { NewMessageEventRow } from "../store/schema.js";
import type { BouncesService } from "../bounces/bounces.service.js";
import type { MessagesRepository } from "../messages/messages.repository.js";
import type { AttemptResult, RecipientOutcome, SmtpReply } from "./mta.types.js";
import type { ClaimedDelivery, DeliveriesRepository } from "./deliveries.repository.js";
import { nextRetry, type RetryPolicy } from "./retry-schedule.js";

export interface MessageInfo {
  id: string;
  workspaceId: string;
  stream: string;
  fromHeader: string;
  subject: string;
  tag: string | null;
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

const FLUSH_AFTER_MS = 10;
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
    try {
      await this.deps.store.write(async (trx) => {
        const now = this.deps.clock.now();
        const events: NewMessageEventRow[] = [];
        const touched = new Set<string>();
        for (const { items } of group) {
          for (const item of items) {
            const event = await this.apply(trx, item, now);
            if (event) events.push(event);
            touched.add(item.message.id);
          }
        }
        await this.deps.messages.appendEvents(trx, events);
        await this.deps.messages.markSentWhereDone(trx, [...touched]);
      });
      for (const p of group) p.done();
    } catch (err) {
      this.deps.logger.error({ err }, "recording delivery outcomes failed; the rows stay leased and will be retried after the lease");
      for (const p of group) p.fail(err);
    }
  }

  private async apply(trx: Parameters<Parameters<Store["write"]>[0]>[0], item: RecordItem, now: number): Promise<NewMessageEventRow | null> {
    const { delivery, outcome, message, attempt } = item;
    const attempts = delivery.attempts + 1;
    const replyText = describeReply(outcome);
    const base = { message_id: message.id, workspace_id: message.workspaceId, recipient: delivery.recipient, created_at: now };
    const serverDetails = {
      DeliveryMessage: replyText,
      DestinationServer: attempt.remoteHost ?? "",
      DestinationIP: attempt.remoteIp ?? "",
      Tls: attempt.tls,
    };
    const update = { id: delivery.id, leaseOwner: delivery.leaseOwner, attempts, lastReply: replyText, now };

    switch (outcome.kind) {
      case "delivered": {
        if (!(await this.deps.deliveries.applyUpdate(trx, { ...update, state: "delivered", nextAttemptAt: now }))) return null;
        return { ...base, type: "Delivered", details_json: JSON.stringify(serverDetails) };
      }
      case "deferred": {
        const decision = nextRetry(this.deps.retry, { attempts, createdAt: delivery.createdAt, now });
        if (decision.kind === "retry") {
          if (!(await this.deps.deliveries.applyUpdate(trx, { ...update, state: "deferred", nextAttemptAt: decision.at }))) return null;
          return { ...base, type: "Transient", details_json: JSON.stringify({ ...serverDetails, NextAttemptAt: new Date(decision.at).toISOString() }) };
        }
        // Out of time: the delivery ends expired and is reported as a (soft) bounce with the last reply.
        if (!(await this.deps.deliveries.applyUpdate(trx, { ...update, state: "expired", nextAttemptAt: now }))) return null;
        const summary = `Gave up after ${attempts} attempts: ${replyText}`;
        const bounceId = await this.deps.bounces.record(trx, bounceInput(message, delivery.recipient, "SoftBounce", summary));
        return { ...base, type: "Bounced", details_json: JSON.stringify({ Summary: summary, BounceID: String(bounceId), ...serverDetails }) };
      }
      case "bounced": {
        if (!(await this.deps.deliveries.applyUpdate(trx, { ...update, state: "bounced", nextAttemptAt: now }))) return null;
        const bounceId = await this.deps.bounces.record(trx, bounceInput(message, delivery.recipient, outcome.bounceType, replyText));
        return { ...base, type: "Bounced", details_json: JSON.stringify({ Summary: replyText, BounceID: String(bounceId), BounceType: outcome.bounceType, ...serverDetails }) };
      }
      default: {
        const never: never = outcome;
        throw new Error(`unknown outcome ${JSON.stringify(never)}`);
      }
    }
  }
}

function bounceInput(message: MessageInfo, email: string, type: Parameters<BouncesService["record"]>[1]["type"], details: string) {
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
