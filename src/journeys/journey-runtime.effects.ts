// Performing the effects a run asks for, other than email (which the runtime batches into one
// OutreachMailer.send, its runs' moves committed in the same transaction). These cannot share a
// transaction with the run's move, so each is made safe to repeat or says that it may repeat:
// - webhook: POSTed (or the step's method) through the webhooks' SSRF-safe client (never to an
//   internal address, a timeout, the response bounded and kept on the run). A worker that dies
//   between the request and the run's move makes the request again when the run comes back: the
//   request carries `Idempotency-Key: <runId>:<stepId>` so the receiver can tell. A transient
//   failure is tried again later (journey-webhook-retry.ts): the run waits in its step, durably,
//   with the attempts made in its wait; no worker sleeps on it. Every attempt carries the same key.
// - update_attributes: an identify with updateOnly; setting the same values twice changes nothing.
// - segment: adding someone already in (or removing someone already out) changes nothing.
import type { PeopleIngest } from "../people/people.port.js";
import type { SegmentsService } from "../segments/segments.port.js";
import { postWebhook } from "../webhooks/webhook-post.js";
import type { DestinationPolicy } from "../webhooks/webhook-destinations.js";
import type { OutreachOutcome } from "../channels/email/outreach.port.js";
import type { Effect, EffectResult } from "./journey-interpreter.port.js";
import { DEFAULT_WEBHOOK_RETRY, webhookResult, type WebhookRetryPolicy } from "./journey-webhook-retry.js";

export interface EffectDeps {
  people: Pick<PeopleIngest, "apply">;
  segments: Pick<SegmentsService, "addPeople" | "removePeople">;
  destinations: DestinationPolicy;
  userAgent: string;
  /** Webhook steps' retries (POSTHORN_JOURNEYS_WEBHOOK_ATTEMPTS, _BACKOFF); default DEFAULT_WEBHOOK_RETRY. */
  webhookRetry?: WebhookRetryPolicy;
  /** The time a webhook's answer came (the retry's delay counts from it). */
  now?: () => number;
}

/** The longest a webhook step may wait for its answer, whatever the step says. */
export const MAX_WEBHOOK_TIMEOUT_MS = 30_000;

export async function performEffect(deps: EffectDeps, workspaceId: string, personId: string, effect: Exclude<Effect, { kind: "email" }>): Promise<EffectResult> {
  try {
    switch (effect.kind) {
      case "webhook": {
        const { method, url, headers, body, timeoutMs } = effect.request;
        const result = await postWebhook(url, body ?? "", Math.min(timeoutMs, MAX_WEBHOOK_TIMEOUT_MS), deps.userAgent, deps.destinations, {
          method,
          headers: { ...headers, "idempotency-key": effect.idempotencyKey },
        });
        const got = result.status === null ? { status: null, error: result.error ?? "no answer", refused: result.refused === true } : { status: result.status, body: parseBody(result.response ?? ""), retryAfter: result.retryAfter ?? null };
        return webhookResult(got, effect.attempt, deps.webhookRetry ?? DEFAULT_WEBHOOK_RETRY, effect.idempotencyKey, (deps.now ?? Date.now)());
      }
      case "update_attributes": {
        const [result] = await deps.people.apply(workspaceId, [{ op: "identify", who: { kind: "cio_id", value: personId }, attributes: effect.attributes, updateOnly: true }], { atomic: true });
        return result && !result.ok ? { kind: "failed", error: `${result.code}: ${result.message}` } : { kind: "done" };
      }
      case "segment": {
        const who = [{ kind: "cio_id" as const, value: personId }];
        if (effect.action === "add") await deps.segments.addPeople(workspaceId, effect.segmentId, who);
        else await deps.segments.removePeople(workspaceId, effect.segmentId, who);
        return { kind: "done" };
      }
    }
  } catch (err) {
    // A refused request (a segment gone, a bad value) fails the step; the run goes on.
    return { kind: "failed", error: (err as Error).message };
  }
}

/** A webhook's kept answer: JSON when it parses (Liquid reads `steps.<id>.response.body.x`), else the text. */
function parseBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function emailResult(outcome: OutreachOutcome): EffectResult {
  switch (outcome.kind) {
    case "accepted":
      return { kind: "email", outcome: "accepted", messageId: outcome.messageId };
    case "held":
      return { kind: "email", outcome: "held", until: outcome.until, reason: outcome.reason };
    case "skipped":
      return { kind: "email", outcome: "skipped", reason: outcome.reason };
    case "failed":
      return { kind: "failed", error: `${outcome.error.code}: ${outcome.error.message}` };
  }
}

/** How a step's outcome is shown on the run's path. */
export function outcomeText(result: EffectResult): string {
  switch (result.kind) {
    case "email":
      return result.outcome === "accepted" ? "sent" : result.outcome === "held" ? `held: ${result.reason}` : `skipped: ${result.reason}`;
    case "webhook":
      return `status ${result.status}`;
    case "retry":
      return `attempt ${result.attempt} failed: ${result.error}`.slice(0, 300);
    case "done":
      return "done";
    case "failed":
      return `failed: ${result.error}`.slice(0, 300);
  }
}
