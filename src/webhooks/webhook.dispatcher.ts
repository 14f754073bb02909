// Posts webhooks. Due posts are claimed under a short lease (so several processes can run this,
// and a crash only delays a post), posted to the target their source names, signed
// (webhook-signature.ts), and the outcome recorded with the attempt (webhook_attempts) and, for
// sources that announce them, its event: a 2xx is posted; a 403 fails at once (Postmark's rule:
// the endpoint refuses it on purpose), and so does a destination the policy refuses
// (webhook-destinations.ts: not a public address, not allowed by the operator), without
// connecting; anything else (another status, a timeout, a refused connection) is retried after
// the source's schedule (or a wait that doubles from `backoffMs`, 10 attempts in all), then fails.
// A record whose source no longer wants a post (no URL configured, endpoint deleted) is dropped.
//
// Posts to outbound endpoints (rows naming a webhook) are also held to `endpointConcurrency` at
// once per endpoint (the others claimed wait here for a slot) and pass a circuit breaker
// (webhook-breaker.ts); posts to a paused endpoint stay in the table. Passes do not wait for posts:
// up to `maxInFlight` run at once, so one slow endpoint holds only its own slots.
import type { Db, Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import type { EventEmitter } from "../events/outbox.js";
import type { NewEvent } from "../events/event-map.js";
import type { WebhookDeliveriesRepository, WebhookOutcome, NewWebhookAttempt } from "./webhook-deliveries.repository.js";
import type { WebhookDeliveryRow } from "./webhooks.schema.js";
import type { WebhookSource } from "./webhook.source.js";
import { postWebhook, type PostResult } from "./webhook-post.js";
import type { DestinationPolicy } from "./webhook-destinations.js";
import { EndpointBreaker } from "./webhook-breaker.js";
import { SIGNATURE_HEADER, signatureHeader } from "./webhook-signature.js";

export const MAX_WEBHOOK_ATTEMPTS = 10;
const CLAIM_BATCH = 100;
const POLL_MS = 1_000;
/**
 * Claims, give-backs and outcomes are committed without waiting for the disk (store.ts): losing
 * one to a machine failure only means a post made again, which at least once allows; waiting for
 * an fsync per post held posting to a few hundred a second.
 */
const RELAXED = { durability: "relaxed" } as const;
/** Kept of an error in an attempt's record. */
const ERROR_KEPT_CHARS = 500;

export interface WebhookDispatcherOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  outbox: EventEmitter;
  repository: WebhookDeliveriesRepository;
  sources: WebhookSource[];
  /** Where posts may connect: public addresses and the networks the operator allowed. */
  destinations: DestinationPolicy;
  /** Wait before the first retry; doubles with each attempt. */
  backoffMs: number;
  /** How long one post may take. */
  timeoutMs?: number;
  /** How long a claim is held; a post that outlives it may be repeated by another process. */
  leaseMs?: number;
  /** The workspace's signing secret; posts are unsigned without it. */
  signingSecret?: (workspaceId: string) => string;
  /** Posts made at once in this process (default 200). */
  maxInFlight?: number;
  /** Posts made at once to one outbound endpoint (default 10). */
  endpointConcurrency?: number;
  /** Failures in a row that pause an endpoint (default 5), for how long at first (default 30 s; doubling to 10 minutes). */
  breakerThreshold?: number;
  breakerPauseMs?: number;
  /** Told each attempt whose outcome was recorded (the metrics); a dropped post, or one whose claim was lost, is not told. */
  onAttempt?: (kind: string, outcome: "posted" | "retrying" | "failed") => void;
}

export class WebhookDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  /** Until start(): runOnce() alone makes posts (tests drive it so). */
  private stopped = true;
  private readonly timeoutMs: number;
  private readonly leaseMs: number;
  private readonly maxInFlight: number;
  private readonly endpointConcurrency: number;
  private readonly sources: Map<string, WebhookSource>;
  private readonly inFlight = new Set<Promise<void>>();
  /** Posts in flight per outbound endpoint. */
  private readonly busy = new Map<number, number>();
  /** Outcomes to record in the next shared transaction. */
  private readonly outcomes: Array<{ fn: (trx: Db) => Promise<boolean>; resolve: (kept: boolean) => void; reject: (err: unknown) => void }> = [];
  /** Claimed posts waiting for a slot of their endpoint, oldest first. */
  private readonly waiting = new Map<number, Array<{ row: WebhookDeliveryRow; leaseUntil: number }>>();
  readonly breaker: EndpointBreaker;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.leaseMs = options.leaseMs ?? this.timeoutMs * 3;
    this.maxInFlight = options.maxInFlight ?? 200;
    this.endpointConcurrency = options.endpointConcurrency ?? 10;
    this.sources = new Map(options.sources.map((s) => [s.kind, s]));
    const pauseMs = options.breakerPauseMs ?? 30_000;
    this.breaker = new EndpointBreaker({ threshold: options.breakerThreshold ?? 5, pauseMs, maxPauseMs: Math.max(pauseMs, 600_000) });
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Runs a pass now (posts were just scheduled, or a slot came free). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    await Promise.all([...this.inFlight]);
  }

  /** One pass that waits for its posts (and those it queued): claims due posts and makes them. Returns how many were claimed. */
  async runOnce(): Promise<number> {
    const claimed = await this.pass();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    return claimed;
  }

  /**
   * Claims what the free slots allow and starts the posts. Posts of an endpoint beyond its free
   * slots wait here, claimed, for a slot (while an endpoint has posts waiting, no more of its
   * posts are claimed, so claims never churn); posts to a paused endpoint go back to the table.
   */
  private async pass(): Promise<number> {
    const free = this.maxInFlight - this.inFlight.size;
    if (free <= 0) return 0;
    const now = this.options.clock.now();
    const leaseUntil = now + this.leaseMs;
    const held = [...this.busy].filter(([id, n]) => n >= this.endpointConcurrency || (this.waiting.get(id)?.length ?? 0) > 0).map(([id]) => id);
    const claimed = await this.options.store.write((trx) => this.options.repository.claimDue(trx, now, leaseUntil, Math.min(free, CLAIM_BATCH), held.concat(this.breaker.held(now))), RELAXED);
    const giveBack: number[] = [];
    for (const row of claimed) {
      const endpoint = Number(row.webhook_id);
      if (endpoint === 0) this.startPost(row, leaseUntil);
      else if ((this.busy.get(endpoint) ?? 0) >= this.endpointConcurrency) this.waiting.set(endpoint, [...(this.waiting.get(endpoint) ?? []), { row, leaseUntil }]);
      else if (this.breaker.admit(endpoint, now).admit) this.startPost(row, leaseUntil);
      // Claimed in the same pass as a probe, or the endpoint was paused meanwhile: back to the table (skipped while held).
      else giveBack.push(Number(row.id));
    }
    this.giveBack(giveBack, leaseUntil);
    return claimed.length;
  }

  private startPost(row: WebhookDeliveryRow, leaseUntil: number): void {
    const endpoint = Number(row.webhook_id);
    if (endpoint !== 0) this.busy.set(endpoint, (this.busy.get(endpoint) ?? 0) + 1);
    const post = this.post(row, leaseUntil).finally(() => {
      this.inFlight.delete(post);
      if (endpoint !== 0) {
        this.busy.set(endpoint, (this.busy.get(endpoint) ?? 1) - 1);
        this.drain(endpoint);
      }
      this.wake();
    });
    this.inFlight.add(post);
  }

  /** Starts an endpoint's waiting posts as its slots free up; one whose claim could run out before its post ends goes back instead. */
  private drain(endpoint: number): void {
    const queue = this.waiting.get(endpoint);
    if (!queue) return;
    const now = this.options.clock.now();
    const giveBack = new Map<number, number[]>();
    while (queue.length > 0 && (this.busy.get(endpoint) ?? 0) < this.endpointConcurrency) {
      const { row, leaseUntil } = queue.shift()!;
      if (leaseUntil - now > this.timeoutMs && this.breaker.admit(endpoint, now).admit) this.startPost(row, leaseUntil);
      else giveBack.set(leaseUntil, [...(giveBack.get(leaseUntil) ?? []), Number(row.id)]);
    }
    if (queue.length === 0) this.waiting.delete(endpoint);
    for (const [leaseUntil, ids] of giveBack) this.giveBack(ids, leaseUntil);
  }

  /** Returns claimed posts to the table, due now, without an attempt. */
  private giveBack(ids: number[], leaseUntil: number): void {
    if (ids.length === 0) return;
    const now = this.options.clock.now();
    const released: Promise<void> = this.options.store
      .write((trx) => this.options.repository.release(trx, ids, leaseUntil, now), RELAXED)
      .catch((err: unknown) => this.options.logger.error({ event: "webhook.give-back.failed", err }, "webhook posts could not be given back; they come due when their claim ends"))
      .finally(() => this.inFlight.delete(released));
    this.inFlight.add(released);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.loop().finally(() => {
        this.running = null;
        this.schedule(this.again ? 0 : POLL_MS);
        this.again = false;
      });
    }, delayMs);
  }

  private async loop(): Promise<void> {
    try {
      // A full batch means more may be due: keep going while slots are free.
      while (!this.stopped && (await this.pass()) === CLAIM_BATCH && this.inFlight.size < this.maxInFlight);
    } catch (err) {
      this.options.logger.error({ event: "webhook.pass.failed", err }, "webhook pass failed");
    }
  }

  private async post(row: WebhookDeliveryRow, leaseUntil: number): Promise<void> {
    const { logger, clock } = this.options;
    const source = this.sources.get(row.kind);
    const attempts = row.attempts + 1;
    const endpoint = Number(row.webhook_id);
    let outcome: WebhookOutcome;
    let error: string | null = null;
    let attempt: NewWebhookAttempt | undefined;
    const startedAt = clock.now();
    try {
      const target = source ? await source.target(row.workspace_id, row.subject_id, row) : null;
      if (!target) {
        outcome = { state: "dropped", attempts: row.attempts, nextAttemptAt: null, lastError: source ? null : `no webhook source for '${row.kind}'` };
      } else {
        const headers: Record<string, string> = { ...target.headers };
        const secret = this.options.signingSecret?.(row.workspace_id);
        if (secret) headers[SIGNATURE_HEADER] = signatureHeader(secret, target.body, Math.floor(clock.now() / 1000));
        const result = await postWebhook(target.url, target.body, this.timeoutMs, `Posthorn ${row.kind} webhook`, this.options.destinations, { headers, auth: target.auth });
        error = result.error;
        outcome = this.attemptOutcome(source!, attempts, result);
        attempt = this.attemptRecord(row, attempts, startedAt, result);
        if (endpoint !== 0) {
          if (result.ok) this.breaker.succeeded(endpoint);
          else this.breaker.failed(endpoint, clock.now());
        }
      }
    } catch (err) {
      // Whatever fails while making the post (reading its target, a fault of ours) is an attempt
      // that failed, retried like any other: an exception here would leave the post claimed, come
      // due again after its claim, and fail the same way for ever.
      error = `the post could not be made: ${(err as Error).message}`;
      const result = { ok: false, status: null, error };
      outcome = this.attemptOutcome(source, attempts, result);
      attempt = this.attemptRecord(row, attempts, startedAt, result);
    }
    const announce = source?.announcesOutcomes !== false;
    // Never the target: its URL or headers may carry credentials.
    const log = { id: row.id, kind: row.kind, subject: row.subject_id, workspaceId: row.workspace_id, endpoint, attempt: attempts, state: outcome.state, error };
    let recorded: boolean;
    try {
      recorded = await this.record(async (trx) => {
        const kept = await this.options.repository.recordOutcome(trx, row.id, leaseUntil, outcome, clock.now(), attempt);
        if (kept && announce) await this.options.outbox.emit(trx, [outcomeEvent(row, outcome)]);
        return kept;
      });
    } catch (err) {
      // The post comes due again when its claim ends: made twice at worst.
      logger.error({ event: "webhook.outcome.record-failed", ...log, err }, "webhook outcome could not be recorded");
      return;
    }
    if (recorded && (outcome.state === "posted" || outcome.state === "retrying" || outcome.state === "failed")) this.options.onAttempt?.(row.kind, outcome.state);
    if (!recorded) logger.info({ event: "webhook.outcome.claim-lost", ...log }, "webhook outcome not recorded: the claim was lost meanwhile");
    else if (outcome.state === "posted" || outcome.state === "dropped") logger.debug({ event: "webhook.post.finished", ...log }, `webhook ${outcome.state}`);
    else logger.warn({ event: "webhook.post.failed", ...log }, "webhook failed");
  }

  /**
   * Records an outcome together with the others that end in the same turn of the event loop: one
   * transaction for many posts. A failure fails them all (their posts come due again after their
   * claims, which at least once allows).
   */
  private record(fn: (trx: Db) => Promise<boolean>): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.outcomes.push({ fn, resolve, reject });
      if (this.outcomes.length > 1) return;
      setImmediate(() => {
        const batch = this.outcomes.splice(0);
        this.options.store
          .write(async (trx) => {
            const kept: boolean[] = [];
            for (const o of batch) kept.push(await o.fn(trx));
            return kept;
          }, RELAXED)
          .then(
            (kept) => batch.forEach((o, i) => o.resolve(kept[i]!)),
            (err: unknown) => batch.forEach((o) => o.reject(err)),
          );
      });
    });
  }

  private attemptRecord(row: WebhookDeliveryRow, attempt: number, startedAt: number, result: PostResult): NewWebhookAttempt {
    const now = this.options.clock.now();
    return {
      workspace_id: row.workspace_id,
      attempt,
      attempted_at: startedAt,
      status: result.status,
      duration_ms: Math.max(0, now - startedAt),
      response: result.response ?? null,
      response_bytes: result.responseBytes ?? null,
      error: result.error === null ? null : result.error.slice(0, ERROR_KEPT_CHARS),
    };
  }

  /** A 2xx is posted; a 403, a refused destination or the last attempt fails; anything else is retried after the source's schedule or a doubling wait. */
  private attemptOutcome(source: WebhookSource | undefined, attempts: number, result: PostResult): WebhookOutcome {
    if (result.ok) return { state: "posted", attempts, nextAttemptAt: null, lastError: null };
    const delays = source?.retryDelaysMs;
    const last = delays ? attempts > delays.length : attempts >= MAX_WEBHOOK_ATTEMPTS;
    if (result.status === 403 || result.refused === true || last) return { state: "failed", attempts, nextAttemptAt: null, lastError: result.error };
    const wait = delays ? delays[attempts - 1]! : this.options.backoffMs * 2 ** (attempts - 1);
    return { state: "retrying", attempts, nextAttemptAt: this.options.clock.now() + wait, lastError: result.error };
  }
}

function outcomeEvent(row: WebhookDeliveryRow, outcome: WebhookOutcome): NewEvent {
  const about = { workspaceId: row.workspace_id, messageId: row.subject_id, recipient: null };
  const base = { kind: row.kind, attempts: outcome.attempts };
  switch (outcome.state) {
    case "dropped":
      return { ...about, type: "webhook.dropped", data: base };
    case "posted":
      return { ...about, type: "webhook.posted", data: base };
    case "retrying":
      return { ...about, type: "webhook.retrying", data: { ...base, error: outcome.lastError ?? "", nextAttemptAt: outcome.nextAttemptAt! } };
    default:
      return { ...about, type: "webhook.failed", data: { ...base, error: outcome.lastError ?? "" } };
  }
}
