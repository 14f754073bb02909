// Message streams and suppressions in Postmark's shapes, and Postmark's words for our values.
import type { Stream, UnsubscribeHandling } from "../../workspaces/streams.service.js";
import type { Suppression, SuppressionChange } from "../../suppressions/suppressions.service.js";
import { postmarkServerId } from "./server.routes.js";
import { linkTrackingOf, trackLinksOf, TRACK_LINKS } from "./postmark-words.js";

const HANDLING_WORDS: Record<UnsubscribeHandling, string> = { none: "None", posthorn: "Postmark", custom: "Custom" };

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function toMessageStream(s: Stream) {
  return {
    ID: s.id,
    ServerID: postmarkServerId(s.workspaceId),
    Name: s.name,
    Description: s.description,
    MessageStreamType: s.type,
    CreatedAt: iso(s.createdAt),
    UpdatedAt: iso(s.updatedAt),
    ArchivedAt: iso(s.archivedAt),
    ExpectedPurgeDate: iso(s.purgeAt),
    SubscriptionManagementConfiguration: { UnsubscribeHandlingType: HANDLING_WORDS[s.unsubscribeHandling] },
    // Posthorn's additions, not in Postmark's MessageStream: the stream's tracking defaults
    // (null: the server's TrackOpens / TrackLinks apply).
    TrackOpens: s.trackOpens,
    TrackLinks: s.trackLinks === null ? null : trackLinksOf(s.trackLinks),
  };
}

/** A TrackLinks value of a stream request (any case) in our words; null stays null; anything else is passed on for the service to refuse. */
export function streamTrackLinksOf(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const word = TRACK_LINKS.find((t) => t.toLowerCase() === value.toLowerCase());
  return word ? linkTrackingOf(word) : value;
}

/**
 * Postmark's UnsubscribeHandlingType (any case) in our words; a value Postmark does not define is
 * passed on as it is, for the streams service to refuse.
 */
export function handlingOf(word: unknown): unknown {
  if (typeof word !== "string") return word;
  const ours = Object.entries(HANDLING_WORDS).find(([, w]) => w.toLowerCase() === word.toLowerCase());
  return ours ? ours[0] : word;
}

export function toSuppression(s: Suppression) {
  return { EmailAddress: s.email, SuppressionReason: s.reason, Origin: s.origin, CreatedAt: new Date(s.createdAt).toISOString() };
}

const STATUS_WORDS: Record<SuppressionChange["outcome"], string> = { suppressed: "Suppressed", deleted: "Deleted", failed: "Failed" };

export function toSuppressionChange(c: SuppressionChange) {
  return { EmailAddress: c.email, Status: STATUS_WORDS[c.outcome], Message: c.message };
}
