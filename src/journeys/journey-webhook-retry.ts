// What one attempt of a webhook step means for the run: done, failed, or try again later. Pure,
// so the worker's runtime (journey-runtime.effects.ts) and the simulator (journey-simulator.ts)
// decide alike, on the same schedule, down to the jitter.
//
// - 2xx: done; the answer is kept on the run.
// - No answer (a refused connection, a reset, a timeout), 408, 429 and 5xx are transient: tried
//   again after a delay, at most `attempts` times in all. The delay is exponential (the policy's
//   backoff, doubled after each failure) with ±20 % jitter, so runs that failed together do not
//   come back together. The jitter is a hash of the run, step and attempt (as random_delay's is):
//   a run moved or retried after a crash waits the same time, and the simulator shows it exactly.
// - Retry-After (RFC 9110 §10.2.3: seconds or an HTTP date) on a transient answer is honoured: the
//   next attempt comes no sooner than it says, up to RETRY_AFTER_MAX_MS (a receiver asking for
//   a day is not waited on for a day; the run's later steps matter too). It never shortens the
//   backoff: a receiver answering "Retry-After: 0" does not use up the attempts in a second.
// - Anything else fails the step at once: another 4xx (the request is wrong; sending it again
//   cannot help), a 3xx (redirects are not followed, webhook-post.ts), a destination the policy
//   refuses. The last answer stays on the run (`steps.<id>.response`) for a later branch.
// A transient failure on the last attempt fails the step the same way. What a failed step means
// for the run is the journey language's rule for every failed step: the run goes on past it, and
// the step counts it failed (docs/journeys.md).
import { stableFraction } from "./cohort.js";
import type { EffectResult } from "./journey-interpreter.port.js";

export interface WebhookRetryPolicy {
  /** Attempts in all, the first included (1: never retried). */
  attempts: number;
  /** The delay before the second attempt; each later one waits twice the one before. */
  backoffMs: number;
}

/** 5 attempts, 4, 8, 16 and 32 minutes apart (±20 %): about an hour from the first to the last. */
export const DEFAULT_WEBHOOK_RETRY: WebhookRetryPolicy = Object.freeze({ attempts: 5, backoffMs: 4 * 60_000 });

/** The most a Retry-After answer makes a run wait before its next attempt. */
export const RETRY_AFTER_MAX_MS = 3_600_000;
/** No single delay is longer than this, whatever the policy (a bound on attempts × backoff growth). */
const DELAY_MAX_MS = 24 * 3_600_000;
const JITTER = 0.2;

/** What one attempt got: an HTTP answer, or none. */
export type WebhookAttempt =
  | { status: number; body: unknown; retryAfter: string | null }
  /** refused: the destination is not allowed (trying again cannot help). */
  | { status: null; error: string; refused: boolean };

export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * The step's result after attempt number `attempt` (1-based) got `got` at `now`. `key` is the
 * step's idempotency key (`<runId>:<stepId>`), which seeds the jitter.
 */
export function webhookResult(got: WebhookAttempt, attempt: number, policy: WebhookRetryPolicy, key: string, now: number): EffectResult {
  if (got.status !== null && got.status >= 200 && got.status < 300) return { kind: "webhook", status: got.status, body: got.body };
  const response = got.status === null ? undefined : { status: got.status, body: got.body };
  const error = got.status === null ? got.error : `HTTP ${got.status}`;
  const transient = got.status === null ? !got.refused : isTransientStatus(got.status);
  if (!transient) return { kind: "failed", error, ...(response ? { response } : {}) };
  if (attempt >= policy.attempts) return { kind: "failed", error: policy.attempts > 1 ? `${error} (after ${attempt} attempts)` : error, ...(response ? { response } : {}) };
  let delay = backoffMs(policy, attempt, key);
  const asked = got.status === null ? null : retryAfterMs(got.retryAfter, now);
  if (asked !== null) delay = Math.max(delay, Math.min(asked, RETRY_AFTER_MAX_MS));
  return { kind: "retry", at: now + delay, attempt, error };
}

/** The delay after failed attempt number `attempt`: backoff × 2^(attempt−1), ±20 % by a stable hash. */
export function backoffMs(policy: WebhookRetryPolicy, attempt: number, key: string): number {
  const base = Math.min(DELAY_MAX_MS, policy.backoffMs * 2 ** Math.min(attempt - 1, 30));
  const factor = 1 - JITTER + 2 * JITTER * stableFraction(`${key}:retry:${attempt}`);
  return Math.max(1, Math.round(base * factor));
}

/** The longest a run can wait in one webhook step's retries (the simulator's horizon). */
export function longestRetryMs(policy: WebhookRetryPolicy): number {
  let total = 0;
  for (let attempt = 1; attempt < policy.attempts; attempt++) total += Math.max(Math.min(DELAY_MAX_MS, policy.backoffMs * 2 ** Math.min(attempt - 1, 30)) * (1 + JITTER), RETRY_AFTER_MAX_MS);
  return Math.ceil(total);
}

/** Retry-After as ms from now: delay-seconds or an HTTP date; null when absent or not either. */
export function retryAfterMs(value: string | null, now: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  // An HTTP date names a day of the week and GMT (IMF-fixdate, or the obsolete forms Date.parse reads).
  if (!/[a-z]{3}/i.test(text)) return null;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}
