// Email to people: what journeys, broadcasts and Customer.io-style transactional messages send
// through, on top of the one acceptance (src/messages/accept/). The outreach mailer renders the
// content (Liquid, or a stored Postmark-style template), applies the policy that mail to a person
// obeys and transactional mail to an address does not — unsubscribed, suppressed, topic
// preferences, the workspace's message limits (frequency caps across every journey and
// broadcast) and quiet hours in the person's timezone — and accepts what passes with an
// idempotency key, so a step run twice after a crash is accepted once. It records each message it
// sends to a person (its origin: journey step, broadcast or transactional message) and keeps
// that record's statuses from the email side's events, for metrics and message conditions.
import type { Db } from "../../store/store.js";
import type { PosthornError } from "../../shared/errors.js";
import type { Page } from "../../people/people.port.js";
import type { LiquidScope } from "../../templates/liquid/liquid.renderer.js";
import type { EmailContent, JourneyId, MessageStatus, SendDefaults } from "../../journeys/journey.model.js";
import type { MessageCounts } from "../../journeys/journeys.port.js";

export type OutreachOrigin =
  | { kind: "journey"; journeyId: JourneyId; version: number; stepId: string; runId: string }
  | { kind: "broadcast"; broadcastId: string }
  | { kind: "transactional"; transactionalId: string | null };

export interface OutreachMail {
  workspaceId: string;
  /** The person it goes to (their email attribute is the default recipient, their attributes are `customer`). */
  personId: string;
  content: EmailContent;
  /** Liquid's scope besides `customer` (filled from the person): event, trigger, journey, steps, campaign, … */
  scope: LiquidScope;
  tag: string | null;
  send: SendDefaults;
  /** Unique per workspace: a second mail with a key already accepted is not accepted again (its first message is answered). */
  idempotencyKey: string | null;
  origin: OutreachOrigin;
  /** Over the message limits: hold until there is room (journeys), or skip (broadcasts, as configured). */
  overLimit: "hold" | "skip";
  /** Hold marketing mail during the workspace's quiet hours in the person's timezone. */
  quietHours: boolean;
  /** Unix ms: accept now but hold delivery until then (Customer.io send_at); null: now. */
  sendAt: number | null;
  /** The trace the message continues (a journey step's span), when traced; absent: the acceptance's own. */
  traceparent?: string | null;
}

export type OutreachOutcome =
  /** deliveryId: the signed public delivery id (CIO-Delivery-ID; POST /unsubscribe/{delivery_id}). duplicate: the idempotency key was seen, this is the earlier message. */
  | { kind: "accepted"; messageId: string; deliveryId: string; duplicate: boolean }
  | { kind: "held"; until: number; reason: "message_limit" | "quiet_hours" }
  | { kind: "skipped"; reason: "unsubscribed" | "suppressed" | "topic_unsubscribed" | "no_email" | "message_limit" | "person_not_found"; detail: string }
  | { kind: "failed"; error: PosthornError };

export interface OutreachMailer {
  /**
   * Decides and accepts each mail (outcomes in input order) in one durable commit. `alsoWrite`
   * runs once in that same transaction with every outcome, whatever they are, so a caller's own
   * state (a run moved past its step, a broadcast's progress) commits with the messages or not
   * at all.
   */
  send(mails: OutreachMail[], alsoWrite?: (trx: Db, outcomes: OutreachOutcome[]) => Promise<void>): Promise<OutreachOutcome[]>;
}

/** A message sent to a person, as recorded by the outreach mailer. */
export interface OutreachMessage {
  messageId: string;
  deliveryId: string;
  workspaceId: string;
  personId: string;
  recipient: string;
  subject: string;
  origin: OutreachOrigin;
  statuses: MessageStatus[];
  createdAt: number;
  updatedAt: number;
}

export interface OutreachLedger {
  /** The message step `stepId` of run `runId` sent, if any. */
  ofRunStep(workspaceId: string, runId: string, stepId: string): Promise<OutreachMessage | null>;
  /** Per send step of a journey (one version, or all). */
  countsByStep(workspaceId: string, journeyId: JourneyId, version: number | null): Promise<Map<string, MessageCounts>>;
  countsByBroadcast(workspaceId: string, broadcastId: string): Promise<MessageCounts>;
  /** A person's messages, newest first (App API GET /v1/customers/{id}/messages). */
  messagesOf(workspaceId: string, personId: string, options: { limit: number; cursor: string | null }): Promise<Page<OutreachMessage>>;
  /** One broadcast's mail, oldest first, with its status times (deliveries exports, src/exports/); `status` "accepted": every accepted message. */
  broadcastMail(workspaceId: string, broadcastId: string, options: { limit: number; cursor: string | null; from: number | null; until: number | null; status: MessageStatus | "accepted" | null }): Promise<Page<OutreachMailRecord>>;
}

/** A ledger line with what the message list leaves out: why it was skipped, and when each status came. */
export interface OutreachMailRecord extends OutreachMessage {
  skipReason: string | null;
  times: { delivered: number | null; opened: number | null; clicked: number | null; bounced: number | null; unsubscribed: number | null };
}

/** The workspace's message limits (frequency caps) and quiet hours. */
export interface MessageLimits {
  /** At most `count` messages that count toward limits per person per `periodMs`; [] : no limit. */
  caps: Array<{ count: number; periodMs: number }>;
  /** Marketing mail is held while the person's local time is within [fromMinute, toMinute) (minutes after midnight; to < from spans midnight); null: none. */
  quietHours: { fromMinute: number; toMinute: number; fallbackTimezone: string } | null;
}

export interface MessageLimitsSettings {
  get(workspaceId: string): Promise<MessageLimits>;
  set(workspaceId: string, limits: MessageLimits): Promise<MessageLimits>;
}
