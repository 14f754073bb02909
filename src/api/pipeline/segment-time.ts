// When a Segment-spec event happened. Segment's spec (connections/spec/common) gives every call
// four times: `originalTimestamp` (the sender's clock when the call was made), `sentAt` (the
// sender's clock when the request left), `receivedAt` (ours, on arrival) and `timestamp`, which
// Segment computes as
//
//     timestamp = receivedAt - (sentAt - originalTimestamp)
//
// so that a sender whose clock is off by minutes (a phone) still places its events right: the
// skew cancels out, and only the delay between the call and the request is kept. RudderStack's
// gateway applies the same formula. Server-side libraries send their time as `timestamp` and a
// batch-level `sentAt` (@segment/analytics-node does; @customerio/cdp-analytics-node sends no
// `sentAt` at all), so the sender's own time is `originalTimestamp`, else `timestamp`.
//
// The rule here, in order:
//   1. no parseable originalTimestamp or timestamp: null (the people domain stores the time received);
//   2. no parseable sentAt (the event's own, else the batch's): the sender's time as given;
//   3. otherwise the corrected time above.
// An unparseable time is ignored rather than refused: Segment answers 200 to everything but size
// and JSON errors, and a wrong time is better placed at arrival than lost.

/** Milliseconds since the epoch from an ISO-8601 string (or a Date the caller built), or null. */
export function parseSegmentTime(value: unknown): number | null {
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value.getTime() : null;
  if (typeof value !== "string" || value.trim() === "") return null;
  // Date.parse also reads forms like "Dec 5 2026"; the spec's times are ISO-8601, which start with a year.
  if (!/^\d{4}-\d{2}-\d{2}/.test(value.trim())) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

export interface SegmentTimes {
  originalTimestamp?: unknown;
  timestamp?: unknown;
  sentAt?: unknown;
}

/** When the event happened (ms), by the rule above; null: when received. */
export function eventTime(event: SegmentTimes, batchSentAt: unknown, receivedAt: number): number | null {
  const senderTime = parseSegmentTime(event.originalTimestamp) ?? parseSegmentTime(event.timestamp);
  if (senderTime === null) return null;
  const sentAt = parseSegmentTime(event.sentAt) ?? parseSegmentTime(batchSentAt);
  if (sentAt === null) return senderTime;
  return receivedAt - (sentAt - senderTime);
}
