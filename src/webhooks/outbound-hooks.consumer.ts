// The outbox consumer of outbound webhooks: each event a workspace's endpoints want (by stream and
// trigger) becomes one post per endpoint, with its body built now by the payload builder the app
// hands in (the Postmark edge's, webhook-payloads.ts: this domain knows no wire shape), keyed by
// the event and the endpoint so a batch seen twice schedules each post once. Posts of one message
// to one endpoint share an order key, so the dispatcher makes them in the order of their events.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Consumer } from "../events/outbox.runner.js";
import type { EventType, RecordedEvent } from "../events/event-map.js";
import type { WebhookDeliveriesRepository, NewWebhookPost } from "./webhook-deliveries.repository.js";
import type { WebhooksService } from "./webhooks.service.js";
import type { TriggerName, WebhookRecord } from "./webhook.record.js";

export const OUTBOUND_WEBHOOK = "outbound";
const ENDPOINT_CACHE_MS = 1_000;
const ENDPOINT_CACHE_MAX = 10_000;

/** Which trigger each event type fires. */
export const TRIGGER_OF: Partial<Record<EventType, TriggerName>> = {
  "delivery.delivered": "delivery",
  "bounce.recorded": "bounce",
  "complaint.recorded": "complaint",
  "delivery.opened": "open",
  "delivery.clicked": "click",
  "suppression.added": "subscriptionChange",
  "suppression.removed": "subscriptionChange",
};

/** Builds the bodies of posts; null where the event has nothing to post (its record is gone). */
export interface WebhookPayloads {
  build(items: Array<{ event: RecordedEvent; webhook: WebhookRecord }>): Promise<Array<string | null>>;
}

export function outboundHooksConsumer(deps: {
  store: Store;
  clock: Clock;
  repository: WebhookDeliveriesRepository;
  webhooks: Pick<WebhooksService, "endpointsOf">;
  payloads: WebhookPayloads;
  scheduled: () => void;
}): Consumer {
  return {
    name: "webhooks.outbound",
    types: Object.keys(TRIGGER_OF) as EventType[],
    async handle(events) {
      const endpoints = await deps.webhooks.endpointsOf([...new Set(events.map((e) => e.workspaceId))]);
      if (endpoints.length === 0) return;
      const items = events.flatMap((event) => endpoints.filter((w) => wants(w, event)).map((webhook) => ({ event, webhook })));
      if (items.length === 0) return;
      const bodies = await deps.payloads.build(items);
      const posts: NewWebhookPost[] = [];
      items.forEach(({ event, webhook }, i) => {
        const body = bodies[i];
        if (body === null || body === undefined) return;
        const subject = event.messageId ?? event.recipient ?? "";
        posts.push({ workspaceId: event.workspaceId, kind: OUTBOUND_WEBHOOK, subjectId: subject, causeEventId: event.id, webhookId: webhook.id, body, orderKey: `${webhook.id}:${subject}` });
      });
      const added = await deps.store.write((trx) => deps.repository.schedule(trx, posts, deps.clock.now()));
      if (added > 0) deps.scheduled();
    },
  };
}

/** Whether the endpoint wants this event: its workspace and stream, its trigger on, and for opens and clicks the first only where asked. */
function wants(webhook: WebhookRecord, event: RecordedEvent): boolean {
  if (webhook.workspaceId !== event.workspaceId) return false;
  const trigger = TRIGGER_OF[event.type];
  if (!trigger || !webhook.triggers[trigger].enabled) return false;
  if (!("stream" in event.data) || event.data.stream !== webhook.stream) return false;
  if (event.type === "delivery.opened") return event.data.firstOpen || !webhook.triggers.open.firstOpenOnly;
  // Postmark posts one click per recipient and link.
  if (event.type === "delivery.clicked") return event.data.firstClick;
  return true;
}

/**
 * The source of outbound posts: the body stored with the post, to its endpoint as configured now
 * (dropped once deleted). Endpoints are read at most once a second each: a change reaches the
 * posts within a second, and a busy endpoint does not cost a query (and an unsealing) per post.
 */
export function outboundHooksSource(deps: { webhooks: Pick<WebhooksService, "endpoint">; retryDelaysMs: readonly number[]; clock: Clock }) {
  const cache = new Map<number, { webhook: WebhookRecord | null; until: number }>();
  const endpoint = async (id: number): Promise<WebhookRecord | null> => {
    const now = deps.clock.now();
    const hit = cache.get(id);
    if (hit && hit.until > now) return hit.webhook;
    const webhook = await deps.webhooks.endpoint(id);
    if (cache.size >= ENDPOINT_CACHE_MAX) cache.clear();
    cache.set(id, { webhook, until: now + ENDPOINT_CACHE_MS });
    return webhook;
  };
  return {
    kind: OUTBOUND_WEBHOOK,
    announcesOutcomes: false,
    retryDelaysMs: deps.retryDelaysMs,
    async target(workspaceId: string, _subject: string, row: { webhook_id: number; body: string | null }) {
      const webhook = await endpoint(Number(row.webhook_id));
      if (!webhook || webhook.workspaceId !== workspaceId || row.body === null) return null;
      return { url: webhook.url, body: row.body, auth: webhook.auth, headers: Object.fromEntries(webhook.headers.map((h) => [h.name, h.value])) };
    },
  };
}

/**
 * The wait before each retry of an outbound post, in units of the configured backoff (1 minute by
 * default): 1, 5, 10, 30 minutes, 1, 2, 4 hours, then 6 hours three times: 10 retries (11 attempts) over about
 * 26 hours, so an endpoint that is down for a day still gets every post.
 */
export const OUTBOUND_RETRY_STEPS = [1, 5, 10, 30, 60, 120, 240, 360, 360, 360] as const;
