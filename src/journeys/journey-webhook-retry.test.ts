import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { journeysConfig } from "./journeys.config.js";
import { backoffMs, DEFAULT_WEBHOOK_RETRY, longestRetryMs, RETRY_AFTER_MAX_MS, retryAfterMs, webhookResult, type WebhookAttempt } from "./journey-webhook-retry.js";

const NOW = Date.UTC(2026, 0, 5, 12, 0, 0);
const M = 60_000;
const answer = (status: number, retryAfter: string | null = null): WebhookAttempt => ({ status, body: { n: status }, retryAfter });

test("each answer is done, retried or failed at once, as the table says", () => {
  const cases: Array<[string, WebhookAttempt, "webhook" | "retry" | "failed"]> = [
    ["200", answer(200), "webhook"],
    ["204", answer(204), "webhook"],
    ["no answer (refused connection)", { status: null, error: "connect ECONNREFUSED", refused: false }, "retry"],
    ["a timeout", { status: null, error: "timed out after 10000 ms", refused: false }, "retry"],
    ["408", answer(408), "retry"],
    ["429", answer(429), "retry"],
    ["500", answer(500), "retry"],
    ["503", answer(503), "retry"],
    ["599", answer(599), "retry"],
    ["400", answer(400), "failed"],
    ["401", answer(401), "failed"],
    ["404", answer(404), "failed"],
    ["409", answer(409), "failed"],
    ["422", answer(422), "failed"],
    ["301 (redirects are not followed)", answer(301), "failed"],
    ["a destination the policy refuses", { status: null, error: "not a public address", refused: true }, "failed"],
  ];
  for (const [name, got, kind] of cases) assert.equal(webhookResult(got, 1, DEFAULT_WEBHOOK_RETRY, "r:s", NOW).kind, kind, name);
});

test("a 4xx fails at once and keeps its answer for later steps", () => {
  assert.deepEqual(webhookResult(answer(404), 1, DEFAULT_WEBHOOK_RETRY, "r:s", NOW), { kind: "failed", error: "HTTP 404", response: { status: 404, body: { n: 404 } } });
  assert.deepEqual(webhookResult({ status: null, error: "not a public address", refused: true }, 1, DEFAULT_WEBHOOK_RETRY, "r:s", NOW), { kind: "failed", error: "not a public address" });
});

test("retries back off exponentially with ±20 % jitter, stable per run, step and attempt; the last attempt fails", () => {
  const policy = { attempts: 5, backoffMs: 4 * M };
  for (let attempt = 1; attempt <= 4; attempt++) {
    const base = 4 * M * 2 ** (attempt - 1);
    const delays = new Set<number>();
    for (let run = 0; run < 200; run++) {
      const r = webhookResult(answer(503), attempt, policy, `run-${run}:call`, NOW);
      assert.equal(r.kind, "retry");
      if (r.kind !== "retry") return;
      assert.equal(r.attempt, attempt);
      assert.equal(r.error, "HTTP 503");
      const delay = r.at - NOW;
      assert.ok(delay >= base * 0.8 && delay <= base * 1.2, `attempt ${attempt}: ${delay} within ±20 % of ${base}`);
      delays.add(delay);
    }
    assert.ok(delays.size > 150, "runs that failed together come back apart");
  }
  assert.equal(backoffMs(policy, 2, "run-1:call"), backoffMs(policy, 2, "run-1:call"), "the same run waits the same time");
  assert.notEqual(backoffMs(policy, 2, "run-1:call"), backoffMs(policy, 2, "run-2:call"));
  const last = webhookResult(answer(503), 5, policy, "r:s", NOW);
  assert.deepEqual(last, { kind: "failed", error: "HTTP 503 (after 5 attempts)", response: { status: 503, body: { n: 503 } } });
  assert.deepEqual(webhookResult({ status: null, error: "timed out", refused: false }, 5, policy, "r:s", NOW), { kind: "failed", error: "timed out (after 5 attempts)" });
  // One attempt in all: never retried.
  assert.deepEqual(webhookResult(answer(500), 1, { attempts: 1, backoffMs: M }, "r:s", NOW), { kind: "failed", error: "HTTP 500", response: { status: 500, body: { n: 500 } } });
  // The defaults: four waits of about 4, 8, 16 and 32 minutes, about an hour in all.
  const total = [1, 2, 3, 4].reduce((sum, a) => sum + backoffMs(DEFAULT_WEBHOOK_RETRY, a, "run-x:call"), 0);
  assert.ok(total >= 48 * M && total <= 72 * M, `${total / M} minutes`);
  assert.ok(longestRetryMs(DEFAULT_WEBHOOK_RETRY) >= 72 * M);
});

test("Retry-After is honoured (seconds or an HTTP date), never shortens the backoff, and is capped at an hour", () => {
  const policy = { attempts: 5, backoffMs: 1_000 };
  const at = (got: WebhookAttempt) => {
    const r = webhookResult(got, 1, policy, "r:s", NOW);
    assert.equal(r.kind, "retry");
    return r.kind === "retry" ? r.at - NOW : -1;
  };
  assert.equal(at(answer(429, "30")), 30_000);
  assert.equal(at(answer(503, new Date(NOW + 90_000).toUTCString())), 90_000);
  assert.equal(at(answer(503, "86400")), RETRY_AFTER_MAX_MS, "a day is cut to an hour");
  const plain = at(answer(503));
  assert.ok(plain >= 800 && plain <= 1_200);
  assert.equal(at(answer(503, "0")), plain, "Retry-After: 0 does not use the attempts up at once");
  assert.equal(at(answer(503, "soon")), plain, "an unreadable Retry-After is ignored");
  assert.equal(retryAfterMs("  12 ", NOW), 12_000);
  assert.equal(retryAfterMs(new Date(NOW - 5_000).toUTCString(), NOW), 0, "a date gone by: now");
  assert.equal(retryAfterMs("-3", NOW), null);
  assert.equal(retryAfterMs("2026", NOW), 2_026_000);
  assert.equal(retryAfterMs("12345678901", NOW), null, "too long to be seconds, not a date");
  assert.equal(retryAfterMs(null, NOW), null);
});

test("the configuration's defaults are the policy's defaults", () => {
  const env = z.object(journeysConfig.keys).parse({});
  const { journeys } = journeysConfig.toConfig(env, undefined as never);
  assert.deepEqual(journeys.webhookRetry, { ...DEFAULT_WEBHOOK_RETRY });
});
