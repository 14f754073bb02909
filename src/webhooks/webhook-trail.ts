// What a message's timeline (issue 13) shows of the webhooks posted about it: every attempt of
// every outbound post whose subject is the message, with what the endpoint answered (status, time
// taken, the start of its body: webhook-post.ts keeps 1 KB) or the error when nothing answered
// (refused, timed out, TLS). Read from webhook_attempts, which the dispatcher writes with each
// outcome: nothing is recorded twice for the timeline's sake.
import type { Store } from "../store/store.js";
import type { WebhookAttemptAbout, WebhookDeliveriesRepository } from "./webhook-deliveries.repository.js";
import { OUTBOUND_WEBHOOK } from "./outbound-hooks.consumer.js";
import { RESPONSE_KEPT_BYTES } from "./webhook-post.js";

/** Attempts shown per message: an endpoint down for a day is 11 attempts a post, and a much-opened message has many posts. */
export const MAX_TRAIL_ATTEMPTS = 200;

export interface WebhookAttemptSeen {
  at: number;
  /** scheme://host/path of the endpoint, never its credentials or query (either may carry a secret); null once the endpoint is deleted. */
  endpoint: string | null;
  /** The event that asked for the post (the timeline names its type). */
  causeEventId: number | null;
  attempt: number;
  /** posted: 2xx; retried: a later attempt followed; will-retry: the post is due again; failed: given up (a 403, a refused destination, or the last attempt); dropped: its endpoint went away. */
  outcome: "posted" | "retried" | "will-retry" | "failed" | "dropped";
  /** The HTTP status; null when no answer came. */
  status: number | null;
  durationMs: number;
  /** The start of the answer's body, as text. */
  response: string | null;
  /** The body's whole size in bytes, when known. */
  responseBytes: number | null;
  /** Whether `response` is only the start of the body (for an attempt older than its size's record: whether it filled the excerpt). */
  responseCut: boolean;
  /** Why the attempt failed ("HTTP 500", "connect ECONNREFUSED …", "timed out after …"). */
  error: string | null;
}

export class WebhookTrail {
  constructor(private readonly deps: { store: Store; repository: Pick<WebhookDeliveriesRepository, "attemptsAbout"> }) {}

  /** The attempts of outbound posts about one message of the workspace, oldest first. */
  async aboutMessage(workspaceId: string, messageId: string): Promise<WebhookAttemptSeen[]> {
    const rows = await this.deps.repository.attemptsAbout(this.deps.store.db, workspaceId, OUTBOUND_WEBHOOK, messageId, MAX_TRAIL_ATTEMPTS);
    return rows.map((r) => ({
      at: r.attempted_at,
      endpoint: r.url === null ? null : publicPart(r.url),
      causeEventId: r.cause_event_id,
      attempt: r.attempt,
      outcome: outcomeOf(r),
      status: r.status,
      durationMs: r.duration_ms,
      response: r.response,
      responseBytes: r.response_bytes,
      responseCut: r.response_bytes !== null ? r.response_bytes > RESPONSE_KEPT_BYTES : Buffer.byteLength(r.response ?? "") >= RESPONSE_KEPT_BYTES,
      error: r.error,
    }));
  }
}

function outcomeOf(r: WebhookAttemptAbout): WebhookAttemptSeen["outcome"] {
  if (r.status !== null && r.status >= 200 && r.status < 300) return "posted";
  if (r.attempt < r.post_attempts) return "retried";
  if (r.state === "failed") return "failed";
  if (r.state === "dropped") return "dropped";
  return "will-retry";
}

/** The URL without user:password, query or fragment; an unparsable one (stored before validation) is not shown. */
function publicPart(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(not a valid URL)";
  }
}
