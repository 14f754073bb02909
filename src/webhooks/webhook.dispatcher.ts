// Posts webhooks. Due posts are claimed under a short lease (so several processes can run this,
// and a crash only delays a post), posted to the target their source names, and the outcome
// recorded with its event: a 2xx is posted; a 403 fails at once (Postmark's rule: the endpoint
// refuses it on purpose), and so does a destination the policy refuses (webhook-destinations.ts:
// not a public address, not allowed by the operator), without connecting; anything else (another status, a timeout, a refused connection) is
// retried after a wait that doubles from `backoffMs`, for 10 attempts in all, and then fails.
// A record whose source no longer wants a post (no URL configured) is dropped.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import type { EventEmitter } from "../events/outbox.js";
import type { NewEvent } from "../events/event-map.js";
import type { WebhookDeliveriesRepository, WebhookOutcome } from "./webhook-deliveries.repository.js";
import type { WebhookDeliveryRow } from "./webhooks.schema.js";
import type { WebhookSource } from "./webhook.source.js";
import { postWebhook, type PostResult } from "./webhook-post.js";
import type { DestinationPolicy } from "./webhook-destinations.js";

export const MAX_WEBHOOK_ATTEMPTS = 10;
const CLAIM_BATCH = 20;
const POLL_MS = 1_000;

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
}

export class WebhookDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private readonly timeoutMs: number;
  private readonly leaseMs: number;
  private readonly sources: Map<string, WebhookSource>;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.leaseMs = options.leaseMs ?? this.timeoutMs * 3;
    this.sources = new Map(options.sources.map((s) => [s.kind, s]));
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Runs a pass now (posts were just scheduled). */
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
  }

  /** One pass: claims due posts and makes them. Returns how many were attempted. */
  async runOnce(): Promise<number> {
    const now = this.options.clock.now();
    const leaseUntil = now + this.leaseMs;
    const claimed = await this.options.store.write((trx) => this.options.repository.claimDue(trx, now, leaseUntil, CLAIM_BATCH));
    await Promise.all(claimed.map((row) => this.post(row, leaseUntil)));
    return claimed.length;
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
      // A full batch means more may be due: keep going until a pass finds less.
      while (!this.stopped && (await this.runOnce()) === CLAIM_BATCH);
    } catch (err) {
      this.options.logger.error({ err }, "webhook pass failed");
    }
  }

  private async post(row: WebhookDeliveryRow, leaseUntil: number): Promise<void> {
    const { logger } = this.options;
    const source = this.sources.get(row.kind);
    const attempts = row.attempts + 1;
    let outcome: WebhookOutcome;
    let error: string | null = null;
    try {
      const target = source ? await source.target(row.workspace_id, row.subject_id) : null;
      if (!target) {
        outcome = { state: "dropped", attempts: row.attempts, nextAttemptAt: null, lastError: source ? null : `no webhook source for '${row.kind}'` };
      } else {
        const result = await postWebhook(target.url, target.body, this.timeoutMs, `Posthorn ${row.kind} webhook`, this.options.destinations);
        error = result.error;
        outcome = this.attemptOutcome(attempts, result);
      }
    } catch (err) {
      // Whatever fails while making the post (reading its target, a fault of ours) is an attempt
      // that failed, retried like any other: an exception here would leave the post claimed, come
      // due again after its claim, and fail the same way for ever.
      error = `the post could not be made: ${(err as Error).message}`;
      outcome = this.attemptOutcome(attempts, { ok: false, status: null, error });
    }
    const event = outcomeEvent(row, outcome);
    const recorded = await this.options.store.write(async (trx) => {
      const kept = await this.options.repository.recordOutcome(trx, row.id, leaseUntil, outcome, this.options.clock.now());
      if (kept) await this.options.outbox.emit(trx, [event]);
      return kept;
    });
    const log = { id: row.id, kind: row.kind, subject: row.subject_id, workspaceId: row.workspace_id, attempt: attempts, state: outcome.state, error };
    if (!recorded) logger.info(log, "webhook outcome not recorded: the claim was lost meanwhile");
    else if (outcome.state === "posted" || outcome.state === "dropped") logger.debug(log, `webhook ${outcome.state}`);
    else logger.warn(log, "webhook failed");
  }

  /** A 2xx is posted; a 403, a refused destination or the last attempt fails; anything else is retried after a doubling wait. */
  private attemptOutcome(attempts: number, result: PostResult): WebhookOutcome {
    if (result.ok) return { state: "posted", attempts, nextAttemptAt: null, lastError: null };
    if (result.status === 403 || result.refused === true || attempts >= MAX_WEBHOOK_ATTEMPTS) return { state: "failed", attempts, nextAttemptAt: null, lastError: result.error };
    return { state: "retrying", attempts, nextAttemptAt: this.options.clock.now() + this.options.backoffMs * 2 ** (attempts - 1), lastError: result.error };
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
