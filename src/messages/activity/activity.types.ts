// The activity list's words: what it asks and what it gets, in the domain's terms (positions, not
// the dashboard's opaque cursors; milliseconds, not dates).
import type { DeliveryState } from "../../store/schema.js";

/** A message's state summed over its recipients (sumStates below). */
export type ActivityState = "accepted" | DeliveryState;

/** A place in the list's order: newest first by acceptance time, then by id. */
export interface ListPosition {
  at: number;
  id: string;
}

export interface ActivityQuery {
  workspaceId: string;
  /** An address, matched whole and without regard to case. */
  recipient?: string;
  tag?: string;
  /** Messages with a recipient in this state; "accepted": messages with no delivery (sandbox). */
  state?: ActivityState;
  stream?: string;
  fromAt?: number;
  toAt?: number;
  /** Text found in the subject or in a To/Cc/Bcc address. */
  text?: string;
  /** Older than this position. */
  before?: ListPosition;
  /** Newer than this position (polling for what arrived). */
  after?: ListPosition;
  count: number;
}

export interface ActivityRow {
  id: string;
  acceptedAt: number;
  stream: string;
  from: string;
  recipients: string[];
  subject: string;
  tag: string | null;
  sandboxed: boolean;
  state: ActivityState;
}

export interface ActivityPage {
  /** Newest first. */
  rows: ActivityRow[];
  /** Where the next (older) page starts; null when nothing older matches. */
  next: ListPosition | null;
  /** The newest position covered: poll with after = newest. */
  newest: ListPosition | null;
  /** The scan bound stopped the search before the page was full. */
  partial: boolean;
  /** A search: messages accepted before the search index existed are still being indexed (search-indexer.ts). */
  searchIndexing?: boolean;
}

/**
 * One state for a message from its recipients' states: still waiting (deferred, else queued)
 * while any recipient waits; then delivered when all were; else the worst outcome (bounced,
 * expired, suppressed). A message with no delivery (a sandbox's) is accepted.
 */
export function sumStates(states: readonly DeliveryState[]): ActivityState {
  if (states.length === 0) return "accepted";
  if (states.includes("deferred")) return "deferred";
  if (states.includes("queued")) return "queued";
  for (const worst of ["bounced", "expired", "suppressed"] as const) if (states.includes(worst)) return worst;
  return "delivered";
}
