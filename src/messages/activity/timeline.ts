// A message's one timeline (issue 13's message detail): its events in order, each as a line in
// Posthorn's words, with the MX host and the remote reply of every delivery attempt. Events are
// the record (events/event-map.ts): nothing here is stored twice.
import type { RecordedEvent } from "../../events/event-map.js";

export interface TimelineEntry {
  at: number;
  /** accepted, delivered, deferred, bounced, expired, suppressed, opened, clicked, complained, webhook, … */
  kind: string;
  /** The event's own type, for a bug report. */
  type: string;
  recipient: string | null;
  summary: string;
  remoteHost: string | null;
  reply: string | null;
}

export function timelineOf(events: readonly RecordedEvent[]): TimelineEntry[] {
  return events.map((event) => {
    const base = { at: event.createdAt, type: event.type, recipient: event.recipient, remoteHost: null, reply: null };
    const kind = event.type.startsWith("webhook.") ? "webhook" : (event.type.split(".")[1] ?? event.type);
    switch (event.type) {
      case "message.accepted": {
        const d = event.data;
        return { ...base, kind: "accepted", summary: d.sandboxed ? "Accepted and captured (sandbox: nothing is delivered)" : `Accepted for ${d.recipients} recipient${d.recipients === 1 ? "" : "s"}` };
      }
      case "delivery.delivered":
        return { ...base, kind, summary: "Delivered", remoteHost: event.data.attempt.remoteHost, reply: event.data.attempt.reply };
      case "delivery.deferred":
        return { ...base, kind, summary: `Deferred; next attempt ${new Date(event.data.nextAttemptAt).toISOString()}`, remoteHost: event.data.attempt.remoteHost, reply: event.data.attempt.reply };
      case "delivery.bounced":
        return { ...base, kind, summary: `Bounced (${event.data.bounceType}): ${event.data.summary}`, remoteHost: event.data.attempt?.remoteHost ?? null, reply: event.data.attempt?.reply ?? null };
      case "delivery.expired":
        return { ...base, kind, summary: `Expired after ${event.data.attempts} attempts: ${event.data.summary}`, remoteHost: event.data.attempt.remoteHost, reply: event.data.attempt.reply };
      case "delivery.suppressed":
        return { ...base, kind, summary: "Suppressed: the recipient is inactive, nothing was attempted" };
      case "delivery.opened":
        return { ...base, kind, summary: `Opened${event.data.proxied ? " (by a proxy)" : ""} in ${event.data.client.name || "an unknown client"}` };
      case "delivery.clicked":
        return { ...base, kind, summary: `Clicked ${event.data.link}` };
      case "webhook.posted":
        return { ...base, kind, summary: `Webhook (${event.data.kind}) posted after ${event.data.attempts} attempt${event.data.attempts === 1 ? "" : "s"}` };
      case "webhook.retrying":
        return { ...base, kind, summary: `Webhook (${event.data.kind}) failed, will retry: ${event.data.error}` };
      case "webhook.failed":
        return { ...base, kind, summary: `Webhook (${event.data.kind}) failed for good: ${event.data.error}` };
      default:
        return { ...base, kind, summary: "summary" in event.data && typeof event.data.summary === "string" ? event.data.summary : event.type };
    }
  });
}
