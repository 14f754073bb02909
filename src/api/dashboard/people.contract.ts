// What the dashboard's people calls take and answer (issue 13). web/ imports the types.
import { z } from "zod";

const Limit = (most: number, fallback: number) => z.coerce.number().int().min(1).max(most).default(fallback);

export const PersonParams = z.object({ workspaceId: z.string().min(1).max(100), personId: z.string().min(1).max(200) });

/**
 * q: a cio_id, or an id or email prefix; empty lists everyone. in: "identifiers" (the default)
 * reads indexes only, so pages are full at any size; "attributes" also tests attribute values, by
 * a scan of at most 5,000 people a call, so a page may come back short and still have a next.
 */
export const PeopleQuery = z.object({ q: z.string().max(200).default(""), in: z.enum(["identifiers", "attributes"]).default("identifiers"), limit: Limit(100, 25), cursor: z.string().max(400).optional() });

/** before: ms since the epoch, the timeline's page starts at or before it (the `next` of the previous page). */
export const TimelineQuery = z.object({ before: z.coerce.number().int().min(0).optional(), limit: Limit(200, 50) });

export interface PersonSummary {
  personId: string;
  id: string | null;
  email: string | null;
  unsubscribed: boolean;
  suppressed: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface PeopleAnswer {
  people: PersonSummary[];
  /** The cursor of the next page; null on the last. A page may be short and still have a next (the search scans a bounded number of people per call). */
  next: string | null;
}

export interface PersonDetail extends PersonSummary {
  anonymousIds: string[];
  attributes: Record<string, unknown>;
  topics: Record<string, boolean>;
  devices: Array<{ deviceId: string; platform: string; lastUsedAt: number | null; attributes: Record<string, unknown> }>;
}

export interface PersonAnswer {
  person: PersonDetail;
  /** The segments the person is in now. */
  segments: Array<{ segmentId: string; name: string; enteredAt: number }>;
  /** The person's runs, newest first. */
  runs: Array<{ runId: string; journeyId: string; journeyName: string; version: number; state: string; stepId: string | null; enteredAt: number }>;
}

export type TimelineKind = "event" | "attribute_change" | "segment_entered" | "segment_left" | "journey_entered" | "journey_step" | "message";

export interface TimelineItem {
  kind: TimelineKind;
  at: number;
  /** One line: the event's name, "plan: free → pro", the segment's or journey's name and step. */
  title: string;
  /** The rest as JSON (event data, a step's outcome, a message's statuses). */
  detail: Record<string, unknown>;
  /** Where the item leads in the dashboard, if anywhere. */
  link: { kind: "message"; messageId: string } | { kind: "segment"; segmentId: string } | { kind: "journey"; journeyId: string } | null;
}

export interface TimelineAnswer {
  items: TimelineItem[];
  /** Pass as `before` for the next page; null on the last. */
  next: number | null;
}
