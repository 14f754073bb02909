// Postmark's words for Posthorn's: the enumerations whose spellings differ, in both directions.
// Records are stored in our words (DESIGN.md § Words); these tables are the only place that knows
// Postmark's.
import type { LinkTracking } from "../../messages/message.types.js";
import type { MessageState } from "../../messages/message.record.js";
import type { InboundState } from "../../inbound/inbound.schema.js";

/** Postmark's TrackLinks values, as they are spelled on the wire. */
export const TRACK_LINKS = ["None", "HtmlAndText", "HtmlOnly", "TextOnly"] as const;
export type PostmarkTrackLinks = (typeof TRACK_LINKS)[number];

const LINK_TRACKING: Record<PostmarkTrackLinks, LinkTracking> = {
  None: "none",
  HtmlAndText: "html-and-text",
  HtmlOnly: "html-only",
  TextOnly: "text-only",
};

export function linkTrackingOf(value: PostmarkTrackLinks): LinkTracking {
  return LINK_TRACKING[value];
}

export function trackLinksOf(value: LinkTracking): PostmarkTrackLinks {
  return (Object.keys(LINK_TRACKING) as PostmarkTrackLinks[]).find((k) => LINK_TRACKING[k] === value) ?? "None";
}

/** An outbound message's Status: Queued while deliveries wait, Sent once all have an outcome, Processed in a sandbox. */
const STATUS: Record<MessageState, string> = { queued: "Queued", finished: "Sent", sandboxed: "Processed" };

export function statusOf(state: MessageState): string {
  return STATUS[state];
}

/** The state a Status filter value asks for (case-insensitive), or undefined when it names none. */
export function stateOfStatus(status: string): MessageState | undefined {
  const lower = status.toLowerCase();
  return (Object.keys(STATUS) as MessageState[]).find((state) => STATUS[state].toLowerCase() === lower);
}

/** An inbound message's Status for each of its states: Processed when stored without a webhook or posted. */
const INBOUND_STATUS: Record<InboundState, string> = {
  stored: "Processed",
  posted: "Processed",
  pending: "Queued",
  retrying: "Scheduled",
  blocked: "Blocked",
  failed: "Failed",
};

export function inboundStatusOf(state: InboundState): string {
  return INBOUND_STATUS[state];
}

/**
 * The states a Status filter value asks for (case-insensitive), or undefined when it names none.
 * The official client's enum also offers "sent", which has no inbound meaning of its own; it is
 * taken as processed (posted).
 */
export function inboundStatesOf(status: string): InboundState[] | undefined {
  const lower = status.toLowerCase() === "sent" ? "processed" : status.toLowerCase();
  const states = (Object.keys(INBOUND_STATUS) as InboundState[]).filter((s) => INBOUND_STATUS[s].toLowerCase() === lower);
  return states.length > 0 ? states : undefined;
}
