// Turns attempt results into durable state: the delivery row and the event that says what happened
// (delivered, deferred, bounced, expired), with the remote reply. What follows from an outcome — a
// bounce record, a suppression, the message's state, a failure notice — is a reaction to the event
// (src/events/outbox.ts), not a call made here. Results are written in small groups, one
// transaction each, because one commit per recipient would cap the MTA at the disk's fsync rate.
import type { Store } from "../../store/store.js";
import type { Clock } from "../../shared/clock.js";
import type { Logger } from "../../shared/logger.js";
import type { EventEmitter } from "../../events/outbox.js";
import type { AttemptData, DkimData, NewEvent } from "../../events/event-map.js";
import type { AttemptResult, RecipientOutcome, SmtpReply } from "../mta.types.js";
import type { DeliveryState } from "../../store/schema.js";
import type { ClaimedDelivery, DeliveriesRepository, DeliveryUpdate } from "./deliveries.repository.js";
import { nextRetry, type RetryPolicy } from "./retry-schedule.js";
import { isLockConflict } from "../../store/sql-errors.js";

export interface RecordItem {
  delivery: ClaimedDelivery;
  outcome: RecipientOutcome;
  attempt: Pick<AttemptResult, "remoteHost" | "remoteIp" | "tls">;
  /** What signing did for the bytes sent (the message's timeline shows it); absent when nothing was sent. */
  dkim?: DkimData;
  /**
   * The sender's RFC 3461 NOTIFY for this recipient, and whether the hop that took the message was
   * given NOTIFY=SUCCESS with the sender's own return path (it then reports delivery itself).
   */
  notify?: readonly string[] | null;
  nextHopReportsSuccess?: boolean;
  /** The message's tag, put on the delivered event (the stats count deliveries by tag). */
  tag?: string | null;
}

interface Pending {
  items: RecordItem[];
  done: () => void;
  fail: (err: unknown) => void;
}

const FLUSH_AFTER_MS = 25;
const FLUSH_AT_ITEMS = 500;
/** Writes of one group before it is given up on: a lock conflict is another transaction's doing and rare. */
const MOST_TRIES = 3;

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
      outbox: EventEmitter;
      /** Told each outcome committed, with the recipient's domain (the metrics); rows whose lease was lost are not told. */
      onRecorded?: (state: DeliveryState, domain: string) => void;
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
    const items = group.flatMap((p) => p.items);
    for (let attempt = 1; ; attempt++) {
      try {
        const { told, dropped } = await this.commit(items);
        told();
        // Another worker holds these rows now and attempts them itself: a message this one had
        // already handed to the next hop goes out twice. Rare (a lease ran out while its holder was
        // alive), and worth seeing.
        if (dropped.length > 0) {
          this.deps.logger.warn(
            { event: "mta.outcomes.lease-lost", count: dropped.length, deliveries: dropped.slice(0, 20).map((p) => ({ id: p.update.id, state: p.update.state })) },
            "outcomes not recorded: their leases ran out and another worker took the deliveries",
          );
        }
        for (const p of group) p.done();
        return;
      } catch (err) {
        // PostgreSQL aborted the write for another transaction's sake (a deadlock): written again,
        // it commits. Given up on, the rows would stay leased and every message in the group that
        // was delivered would go out a second time after the lease.
        if (attempt < MOST_TRIES && isLockConflict(err)) {
          this.deps.logger.warn({ event: "mta.outcomes.write-retried", attempt, count: items.length, err }, "recording delivery outcomes conflicted with another transaction; writing them again");
          continue;
        }
        this.deps.logger.error({ event: "mta.outcomes.record-failed", err }, "recording delivery outcomes failed; the rows stay leased and will be retried after the lease");
        for (const p of group) p.fail(err);
        return;
      }
    }
  }

  /** One transaction for the group: every row's new state and the events of those still ours. */
  private async commit(items: RecordItem[]): Promise<{ told: () => void; dropped: Planned[] }> {
    let told: () => void = () => undefined;
    let dropped: Planned[] = [];
    await this.deps.store.write(
      async (trx) => {
        const now = this.deps.clock.now();
        const planned = items.map((item) => plan(item, this.deps.retry, now));
        // One statement for every row's new state; rows whose lease was lost are left alone
        // and get no event (their new holder records its own attempt).
        const applied = await this.deps.deliveries.applyUpdates(trx, planned.map((p) => p.update));
        await this.deps.outbox.emit(trx, planned.filter((p) => applied.has(p.update.id)).map((p) => p.event));
        dropped = planned.filter((p) => !applied.has(p.update.id));
        const tell = this.deps.onRecorded;
        if (tell) told = () => planned.forEach((p, i) => applied.has(p.update.id) && tell(p.update.state, items[i]!.delivery.domain));
      },
      // Relaxed: an outcome lost with the machine (not with the process) only means the
      // delivery is attempted again after its lease — the at-least-once case a crash already has.
      { durability: "relaxed" },
    );
    return { told, dropped };
  }
}

export interface Planned {
  update: DeliveryUpdate;
  event: NewEvent;
}

/** What an outcome changes: the row's state and the event that says why. */
export function plan(item: RecordItem, retry: RetryPolicy, now: number): Planned {
  const { delivery, outcome } = item;
  const attempts = delivery.attempts + 1;
  const attempt = attemptData(item);
  const about = { workspaceId: delivery.workspaceId, messageId: delivery.messageId, recipient: delivery.recipient };
  const stream = delivery.stream;
  const update = { id: delivery.id, leaseOwner: delivery.leaseOwner, attempts, lastReply: attempt.reply, now };

  switch (outcome.kind) {
    case "delivered":
      return { update: { ...update, state: "delivered", nextAttemptAt: now }, event: { ...about, type: "delivery.delivered", data: { stream, attempt, ...(item.tag !== undefined ? { tag: item.tag } : {}), ...(owesSuccessNotice(item) ? { notice: "relayed" as const } : {}) } } };
    case "deferred": {
      const decision = nextRetry(retry, { attempts, createdAt: delivery.createdAt, now });
      if (decision.kind === "retry") {
        return {
          update: { ...update, state: "deferred", nextAttemptAt: decision.at },
          event: { ...about, type: "delivery.deferred", data: { stream, attempt, nextAttemptAt: decision.at, attempts, ...(attempts === 1 && item.notify?.includes("DELAY") ? { notice: "delayed" as const } : {}) } },
        };
      }
      // Out of time: the delivery ends expired and is reported as a (soft) bounce with the last reply.
      return {
        update: { ...update, state: "expired", nextAttemptAt: now },
        event: { ...about, type: "delivery.expired", data: { stream, attempts, summary: `Gave up after ${attempts} attempts: ${attempt.reply}`, attempt } },
      };
    }
    case "bounced":
      return {
        update: { ...update, state: "bounced", nextAttemptAt: now },
        event: { ...about, type: "delivery.bounced", data: { stream, origin: "session", bounceType: outcome.bounceType, summary: attempt.reply, attempt } },
      };
    default: {
      const never: never = outcome;
      throw new Error(`unknown outcome ${JSON.stringify(never)}`);
    }
  }
}

/**
 * NOTIFY=SUCCESS is answered by us with "relayed" (RFC 3461 §6.2.1) unless the hop was given it with
 * the sender's return path and reports delivery itself (§5.2.2): a hop without DSN, or one whose
 * reports come back to our VERP return path, reports nothing to the sender.
 */
function owesSuccessNotice(item: RecordItem): boolean {
  return item.notify?.includes("SUCCESS") === true && item.nextHopReportsSuccess !== true;
}

function attemptData(item: RecordItem): AttemptData {
  const reply = item.outcome.reply;
  return {
    reply: describeReply(item.outcome),
    code: reply?.code ?? null,
    // Without a reply, the status we gave the outcome ourselves (a DNS failure's 5.1.2), if any.
    enhanced: reply?.enhanced ?? (item.outcome.kind === "delivered" ? null : (item.outcome.status ?? null)),
    remoteHost: item.attempt.remoteHost,
    remoteIp: item.attempt.remoteIp,
    tls: item.attempt.tls,
    ...(item.dkim ? { dkim: item.dkim } : {}),
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
