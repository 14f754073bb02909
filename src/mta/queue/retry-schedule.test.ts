import { test } from "node:test";
import assert from "node:assert/strict";
import { nextRetry } from "./retry-schedule.js";

const MIN = 60_000;
const policy = { scheduleMs: [5 * MIN, 10 * MIN, 60 * MIN], maxAgeMs: 5 * 24 * 60 * MIN };

test("the n-th retry waits the n-th step, and the last step repeats", () => {
  const cases: Array<[attempts: number, waitMs: number]> = [
    [1, 5 * MIN],
    [2, 10 * MIN],
    [3, 60 * MIN],
    [4, 60 * MIN],
    [40, 60 * MIN],
  ];
  for (const [attempts, waitMs] of cases) {
    assert.deepEqual(nextRetry(policy, { attempts, createdAt: 0, now: 1000 }), { kind: "retry", at: 1000 + waitMs }, `attempt ${attempts}`);
  }
});

test("gives up when the next try would fall past the maximum age", () => {
  const now = policy.maxAgeMs - 30 * MIN;
  assert.deepEqual(nextRetry(policy, { attempts: 9, createdAt: 0, now }), { kind: "give-up" });
  assert.equal(nextRetry(policy, { attempts: 9, createdAt: 0, now: policy.maxAgeMs - 61 * MIN }).kind, "retry");
});
