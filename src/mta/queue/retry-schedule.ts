// When to try a deferred delivery again. The schedule is data (config POSTHORN_RETRY_SCHEDULE):
// the n-th retry waits schedule[n-1], and the last step repeats until the message is older than
// the give-up age (RFC 5321 §4.5.4.1 suggests retrying for at least 4–5 days).

export interface RetryPolicy {
  scheduleMs: readonly number[];
  maxAgeMs: number;
}

export type RetryDecision = { kind: "retry"; at: number } | { kind: "give-up" };

export function nextRetry(policy: RetryPolicy, input: { attempts: number; createdAt: number; now: number }): RetryDecision {
  const { scheduleMs } = policy;
  const delay = scheduleMs[Math.min(Math.max(input.attempts, 1), scheduleMs.length) - 1] ?? 300_000;
  const at = input.now + delay;
  // Give up when the next try would fall past the age limit: waiting for it could not help.
  if (at - input.createdAt > policy.maxAgeMs) return { kind: "give-up" };
  return { kind: "retry", at };
}
