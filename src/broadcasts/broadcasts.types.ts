// Broadcasts in Posthorn's words. A broadcast (Customer.io's newsletter) is one email to an
// audience, sent once: now, at a time, or at the same local time in each person's timezone. An
// API-triggered broadcast (Customer.io's triggerBroadcast) starts a journey with a broadcast
// trigger for the people a call names; its record here is the trigger and its progress.
import type { EmailContent, JourneyId, SendDefaults } from "../journeys/journey.model.js";
import type { PersonIdentifier } from "../people/people.port.js";

/** Who a broadcast goes to: Customer.io's recipient filter tree (and/or/not, segment membership, attribute tests). */
export type RecipientFilter =
  | { and: RecipientFilter[] }
  | { or: RecipientFilter[] }
  | { not: RecipientFilter }
  | { segment: { id: string } }
  | { attribute: { field: string; operator: "eq" | "exists"; value?: unknown } };

export type BroadcastSchedule =
  | { kind: "now" }
  /** Unix ms. */
  | { kind: "at"; at: number }
  /** The same wall-clock time (HH:MM on date YYYY-MM-DD) in each person's `timezone` attribute (IANA), else in `fallback`. */
  | { kind: "local"; date: string; time: string; fallback: string };

export type BroadcastState = "scheduled" | "sending" | "done" | "cancelled" | "failed";

export interface BroadcastDefinition {
  name: string;
  audience: RecipientFilter;
  content: EmailContent;
  send: SendDefaults;
  tag: string | null;
  schedule: BroadcastSchedule;
  /** Messages per minute at most; null: as fast as accepted. */
  throttlePerMinute: number | null;
  /** Over the workspace's message limits: skip the person (Customer.io's "undeliverable"), or hold until there is room. */
  overLimit: "skip" | "hold";
}

export interface BroadcastProgress {
  /** People in the audience snapshot; null until it is taken. */
  audience: number | null;
  /** People handled (sent, skipped or failed). */
  handled: number;
  sent: number;
  skipped: number;
  failed: number;
}

export interface Broadcast {
  /** An integer as text, as Customer.io's broadcast ids are numbers. */
  broadcastId: string;
  workspaceId: string;
  definition: BroadcastDefinition;
  state: BroadcastState;
  progress: BroadcastProgress;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/** The people a triggerBroadcast call names, in one of Customer.io's four shapes (data_file_url is refused). */
export type TriggerAudience =
  | { kind: "identifiers"; who: PersonIdentifier[]; ignoreMissing: boolean }
  | { kind: "per_user"; entries: Array<{ who: PersonIdentifier; data: Record<string, unknown> }>; ignoreMissing: boolean }
  | { kind: "filter"; filter: RecipientFilter };

export type TriggerState = "pending" | "running" | "done" | "failed";

export interface BroadcastTrigger {
  triggerId: string;
  workspaceId: string;
  journeyId: JourneyId;
  state: TriggerState;
  /** People named (lists) or found (filters) so far. */
  total: number;
  entered: number;
  /** Not entered by the journey's filters or re-entry rule. */
  skipped: number;
  /** Identifiers naming nobody. */
  missing: number;
  /** What went wrong (at most 100 lines): identifiers not found when not ignored, failures. */
  errors: string[];
  createdAt: number;
  processedAt: number | null;
}

export interface TriggerRequest {
  data: Record<string, unknown>;
  audience: TriggerAudience;
}
