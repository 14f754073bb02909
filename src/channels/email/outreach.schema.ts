// Tables of outreach, added to the store's Database type (migration 026).
import type { Generated, Selectable } from "kysely";

/** One mail to a person: accepted (message_id set) or skipped (skip_reason set, no message). */
export interface OutreachMessagesTable {
  id: Generated<number>;
  workspace_id: string;
  message_id: string | null;
  /** The signed public delivery id (CIO-Delivery-ID); null when skipped. */
  delivery_id: string | null;
  person_id: string;
  /** "" when skipped before an address was known. */
  recipient: string;
  subject: string;
  origin_kind: "journey" | "broadcast" | "transactional";
  journey_id: string | null;
  journey_version: number | null;
  step_id: string | null;
  run_id: string | null;
  broadcast_id: string | null;
  transactional_id: string | null;
  /** 1: counts toward the workspace's message limits. */
  counted: number;
  skip_reason: string | null;
  delivered_at: number | null;
  opened_at: number | null;
  clicked_at: number | null;
  bounced_at: number | null;
  /** An unsubscribe through this message's link, or a spam complaint about it (Customer.io unsubscribes on both). */
  unsubscribed_at: number | null;
  created_at: number;
  updated_at: number;
}

/** A row per person whose limits were checked: locked in the accepting transaction so concurrent checks for one person take turns. */
export interface OutreachLimitLocksTable {
  workspace_id: string;
  person_id: string;
  touched_at: number;
}

export interface MessageLimitsTable {
  workspace_id: string;
  /** [{count, periodMs}] */
  caps_json: string;
  /** {fromMinute, toMinute, fallbackTimezone} or null. */
  quiet_hours_json: string | null;
  updated_at: number;
}

export interface TransactionalMessagesTable {
  id: Generated<number>;
  workspace_id: string;
  name: string;
  /** Customer.io lets a send name the message by its trigger name instead of its id; unique per workspace. */
  trigger_name: string | null;
  /** TransactionalContent as JSON. */
  content_json: string;
  created_at: number;
  updated_at: number;
}

export type OutreachMessageRow = Selectable<OutreachMessagesTable>;
export type TransactionalMessageRow = Selectable<TransactionalMessagesTable>;

declare module "../../store/schema.js" {
  interface Database {
    outreach_messages: OutreachMessagesTable;
    outreach_limit_locks: OutreachLimitLocksTable;
    message_limits: MessageLimitsTable;
    transactional_messages: TransactionalMessagesTable;
  }
}
