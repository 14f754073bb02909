// Every domain event Posthorn records, by type, with the data it carries. A state change and its
// event are written in the same transaction (outbox.ts); the message's timeline, the webhooks,
// stats and journeys all read these records, in Posthorn's words: the Postmark and Track API
// shapes are made from them at their edges.
//
// Each attempt's outcome is exactly one of delivered/deferred/bounced/expired: there is no
// separate "attempted" event that would double the rows per attempt.
import type { BounceType } from "../bounces/bounce-types.js";

/** What the remote server said in one SMTP attempt, when one was reached. */
export interface AttemptData {
  /** The reply as text ("250 2.0.0 Ok"), or our reason when there was none (DNS, timeout). */
  reply: string;
  /** The reply's code and enhanced status (RFC 3463), when a server replied. */
  code: number | null;
  enhanced: string | null;
  remoteHost: string | null;
  remoteIp: string | null;
  tls: boolean;
  /** What was done about DKIM for the bytes of this attempt; absent on older records and where the MTA has no signer. */
  dkim?: DkimData;
}

/**
 * DKIM at one attempt, kept short (it rides on every outcome's event): the signatures made, each
 * with its d=, s= and a=; or why none was made. Recorded by the MTA, which signs at delivery
 * (src/sending-domains/dkim.signer.ts), so a key verified or rotated between two attempts shows.
 */
export type DkimData = { signed: DkimSignatureData[] } | { unsigned: DkimUnsignedReason; d?: string };
export interface DkimSignatureData {
  d: string;
  s: string;
  a: "rsa-sha256" | "ed25519-sha256";
}
/**
 * null-sender: a notice with an empty MAIL FROM (a DSN) has no domain of ours to sign for;
 * no-domain: the From address has no usable domain; not-sending-domain: the From domain is not a
 * sending domain (signing is exact-domain); unverified: it is one, but no key's record was seen yet.
 */
export type DkimUnsignedReason = "null-sender" | "no-domain" | "not-sending-domain" | "unverified";

/** One part of a parsed user agent (Postmark's Client and OS objects): "Chrome", "Google", "Chrome 120". */
export interface UserAgentPart {
  name: string;
  company: string;
  family: string;
}

/** Where a reader was, from a local geo database when one is configured. */
export interface GeoData {
  countryIso: string | null;
  country: string | null;
  regionIso: string | null;
  region: string | null;
  city: string | null;
  zip: string | null;
  coords: string | null;
}

/** Who fetched a tracking URL: an open's pixel or a click's redirect. */
export interface ReaderData {
  userAgent: string;
  client: UserAgentPart;
  os: UserAgentPart;
  platform: "desktop" | "mobile" | "webmail" | "unknown";
  ip: string | null;
  geo: GeoData | null;
  /** Fetched by an image proxy or a privacy prefetcher (Gmail, Apple Mail Privacy Protection), not by a person. */
  proxied: boolean;
}

export type SuppressionReason = "HardBounce" | "SpamComplaint" | "ManualSuppression";
export type SuppressionOrigin = "Recipient" | "Customer" | "Admin";

/** Where news of a bounce came from. */
export type BounceOrigin = "session" | "report" | "operator";

export interface EventMap {
  /** A message was accepted: committed with its deliveries (one event per message). */
  /**
   * trackOpens/trackLinks: the tracking applied (absent on events written before stats needed them;
   * the stats read them as off); trackedLinks: how many links were rewritten for click tracking (absent: none).
   */
  "message.accepted": { stream: string; recipients: number; tag: string | null; sandboxed: boolean; trackOpens?: boolean; trackLinks?: "none" | "html-and-text" | "html-only" | "text-only"; trackedLinks?: number };
  /** Not attempted: the recipient is inactive on the stream (final from acceptance). */
  "delivery.suppressed": { stream: string };
  /** notice: the sender asked for NOTIFY=SUCCESS (RFC 3461) and is owed a "relayed" notice from us. */
  /** tag: the message's (absent on events recorded before it was carried here: read from the message then). */
  "delivery.delivered": { stream: string; attempt: AttemptData; notice?: "relayed"; tag?: string | null };
  /**
   * A transient failure; the next attempt is due at nextAttemptAt (ms since the epoch); attempts
   * counts this one. notice: the first deferral of a recipient whose sender asked for NOTIFY=DELAY.
   */
  "delivery.deferred": { stream: string; attempt: AttemptData; nextAttemptAt: number; attempts?: number; notice?: "delayed" };
  /** Permanently failed: refused during our session, reported later by mail, or purged by an operator. */
  /** reportedStatus: a later report's RFC 3463 Status (origin "report"), when it gave one. */
  "delivery.bounced": { stream: string; origin: BounceOrigin; bounceType: BounceType; summary: string; attempt: AttemptData | null; reportedStatus?: string };
  /** Retries ran out (POSTHORN_MAX_QUEUE_AGE); the last attempt's reply, if any. */
  "delivery.expired": { stream: string; attempts: number; summary: string; attempt: AttemptData };
  /** A delivery status report says the message is delayed; the delivery's state does not change. */
  "delivery.delayed": { stream: string; summary: string };
  /** An automatic reply (out of office) came back to the delivery's return path. */
  "delivery.auto-replied": { stream: string; summary: string };
  /** The recipient reported the message as spam (a feedback-loop report). */
  "delivery.complained": { stream: string; feedbackType: string; summary: string };
  /**
   * A report (DSN or ARF) about the delivery that did not prove itself: it carried no signed VERP
   * address of ours and was matched by Message-ID and recipient only, which any co-recipient of
   * the message knows. Recorded for operators; it suppresses no one and changes nothing.
   */
  "delivery.unverified-report": { stream: string; report: "bounce" | "delay" | "complaint"; claimed: BounceType; summary: string };
  /** A bounce record was made (Postmark's bounce, with its BounceID) because of the event `cause`. */
  "bounce.recorded": { bounceId: number; bounceType: BounceType; stream: string; cause: number };
  /** A complaint was recorded as a SpamComplaint bounce record because of the event `cause`. */
  "complaint.recorded": { bounceId: number; stream: string; cause: number };
  /** The address became inactive on the stream. */
  "suppression.added": { stream: string; reason: SuppressionReason; origin: SuppressionOrigin };
  /** The address became active again on the stream (a suppression deleted, a bounce activated); reason: the suppression it had. */
  "suppression.removed": { stream: string; reason: SuppressionReason; origin: SuppressionOrigin };
  /** The recipient's tracking pixel was fetched; firstOpen: the first recorded open of this delivery. */
  "delivery.opened": ReaderData & { stream: string; firstOpen: boolean };
  /**
   * How long an open's pixel kept loading, in whole seconds (at most the measuring limit,
   * POSTHORN_TRACKING_READ_SECONDS): how long the message stayed open. capped: measuring stopped
   * at the limit with the message still open (it was read at least that long). openId: the open's record.
   */
  "delivery.read-time": { stream: string; seconds: number; capped: boolean; openId: number };
  /** A tracked link was followed; firstClick: the first click of this delivery on this link. */
  "delivery.clicked": ReaderData & { stream: string; link: string; location: "html" | "text"; firstClick: boolean };
  /** Mail for an inbound stream was received and stored (messageId is the inbound message's id); hook: its webhook is to be posted. */
  "inbound.received": { stream: string; blocked: boolean; hook: boolean };
  /** A user asked for a failed inbound message's webhook to be posted again. */
  "inbound.retried": Record<string, never>;
  /** A user let a blocked inbound message through. */
  "inbound.bypassed": Record<string, never>;
  /** A webhook post about a record (messageId: the record's id) succeeded. */
  "webhook.posted": WebhookAttemptData;
  /** A webhook post failed and will be made again at nextAttemptAt. */
  "webhook.retrying": WebhookAttemptData & { error: string; nextAttemptAt: number };
  /** A webhook post failed for good (a 403, or every attempt failed). */
  "webhook.failed": WebhookAttemptData & { error: string };
  /** Nothing was posted: the record no longer had a webhook to go to (its URL was removed). */
  "webhook.dropped": WebhookAttemptData;

  // Behavioral data (issue 11). These events are about a person, not a message: messageId and
  // recipient are null and the person is named in the data (personId is Posthorn's id, which the
  // Track API shows as cio_id). Segment upkeep and journeys read them as outbox consumers.
  /** A person was created or their attributes, identifiers or subscription changed; changes: each changed attribute, from → to (undefined: absent). */
  "person.identified": { personId: string; created: boolean; changes: Record<string, AttributeChange> };
  /** A person was deleted (destroy, a v2 delete, or the secondary of a merge). */
  "person.deleted": { personId: string };
  /** `mergedId` was merged into `personId` (merge_customers, alias, or an anonymous id identified): its events, devices and manual segments now belong to personId. */
  "person.merged": { personId: string; mergedId: string | null; anonymousId: string | null };
  /** The person was suppressed (nothing is sent to them, their data is not kept) or unsuppressed. */
  "person.suppressed": { personId: string; suppressed: boolean };
  /** A device was added or updated, or removed. */
  "person.device-changed": { personId: string; deviceId: string; platform: string; removed: boolean };
  /**
   * An event, page view or screen view was recorded. personId is null while only anonymousId is
   * known (a person.merged follows when it is identified). timestamp: when it happened, as sent
   * (ms; the time received when none was sent); eventRowId: its row in the people domain's
   * event store.
   */
  "person.event": TrackedEventData;
  /** The person entered a segment (at: when the condition became true, ms). */
  "segment.entered": SegmentChangeData;
  /** The person left a segment. */
  "segment.left": SegmentChangeData;

  // Journeys (issue 12): about a person's run through a journey (messageId and recipient null).
  /** A person entered a journey (a run began on `version`). */
  "journey.run-started": JourneyRunData;
  /** A run ended: its steps ran out, an exit step or condition, its goal met (with exit on conversion), the journey archived, or the person deleted. */
  "journey.run-ended": JourneyRunData & { reason: "completed" | "exited" | "converted" | "archived" | "person_deleted" };
  /** The person met the journey's conversion goal within its window (stepId: the last send step they passed, if any). */
  "journey.converted": JourneyRunData & { stepId: string | null };

  // Installation-wide (workspaceId INSTALLATION_WIDE; messageId and recipient null).
  /**
   * A data removal began erasing (src/data-removals/). It names the request, never the address.
   * It also keeps the log's end past where the erasure began: the erasure deletes her events, and
   * when the newest ones were hers the end moved back, so a consumer that had not yet read them
   * could never read past that point and the erasure waited its two minutes for it.
   */
  "data-removal.started": { requestId: number };
}

/** The workspaceId of an event about the installation rather than one workspace ("" matches no workspace's id). */
export const INSTALLATION_WIDE = "";

export interface JourneyRunData {
  journeyId: string;
  version: number;
  runId: string;
  personId: string;
}

/** One attribute's change. `from` or `to` is null when the attribute was absent. */
export interface AttributeChange {
  from: unknown;
  to: unknown;
}

export interface TrackedEventData {
  personId: string | null;
  anonymousId: string | null;
  name: string;
  eventType: "event" | "page" | "screen";
  properties: Record<string, unknown>;
  timestamp: number;
  eventRowId: number;
  /** W3C traceparent of the request that tracked it, when traced (src/observability/tracing.ts): the journey runs it starts continue its trace. */
  traceparent?: string;
}

export interface SegmentChangeData {
  personId: string;
  segmentId: string;
  at: number;
}

/** Which webhook (its kind: "inbound") and how many posts it took so far. */
export interface WebhookAttemptData {
  kind: string;
  attempts: number;
}

export type EventType = keyof EventMap;

/** An event of one type as a domain emits it. `messageId` and `recipient` say what it is about, when it is about one. */
export interface NewEventOf<T extends EventType> {
  type: T;
  workspaceId: string;
  messageId: string | null;
  recipient: string | null;
  data: EventMap[T];
}

/** Any event as emitted: a union discriminated by `type`, so a switch narrows `data`. */
export type NewEvent = { [T in EventType]: NewEventOf<T> }[EventType];

/** An event as recorded: with its id (its order among all events) and when it happened. */
export type RecordedEventOf<T extends EventType> = NewEventOf<T> & { id: number; createdAt: number };
export type RecordedEvent = { [T in EventType]: RecordedEventOf<T> }[EventType];

/** Narrows a recorded event to one type. */
export function isEvent<T extends EventType>(event: RecordedEvent, type: T): event is RecordedEventOf<T> & RecordedEvent {
  return event.type === type;
}
