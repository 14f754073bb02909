// What a kind of webhook posts, and where: a domain that wants its records posted registers a
// source (the inbound domain: each inbound message, to its workspace's InboundHookUrl; outbound
// webhooks: the body built when the event was read, to the endpoint the post names), and the
// dispatcher asks it at each attempt, so a URL changed meanwhile is the one used.
import type { WebhookDeliveryRow } from "./webhooks.schema.js";

export interface WebhookTarget {
  url: string;
  /** The JSON body, as posted. */
  body: string;
  /** The endpoint's own headers (Postmark's HttpHeaders). */
  headers?: Record<string, string>;
  /** Basic credentials (Postmark's HttpAuth); credentials in the URL are used otherwise. */
  auth?: { username: string; password: string } | null;
}

export interface WebhookSource {
  readonly kind: string;
  /** Where to post and what; null when nothing is to be posted any more (no URL configured, endpoint deleted). */
  target(workspaceId: string, subjectId: string, row: WebhookDeliveryRow): Promise<WebhookTarget | null>;
  /** Whether each outcome is announced as a webhook.* event (the inbound message's state follows it); default true. */
  readonly announcesOutcomes?: boolean;
  /** The wait before each retry, in ms, one per retry; absent: doubling from the dispatcher's backoff, 10 attempts in all. */
  readonly retryDelaysMs?: readonly number[];
}
