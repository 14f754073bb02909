// A message's one timeline (issue 13's message detail): its events in order, each as a line in
// Posthorn's words, with the MX host, the remote reply and what was done about DKIM for every
// delivery attempt, merged in time with the attempts of the webhooks posted about the message and
// what each endpoint answered. Events and webhook attempts are the record (events/event-map.ts,
// webhooks/webhook-trail.ts): nothing here is stored twice.
import type { DkimData, DkimUnsignedReason, RecordedEvent } from "../../events/event-map.js";
import type { WebhookAttemptSeen } from "../../webhooks/webhook-trail.js";

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
  /** What was done about DKIM: on each attempt's outcome (as the MTA recorded it), and on a sandbox's acceptance. */
  dkim: { signed: boolean; summary: string } | null;
  /** A webhook attempt's answer (kind "webhook"). */
  webhook: Omit<WebhookAttemptSeen, "at" | "causeEventId"> & { cause: string | null } | null;
}

export function timelineOf(events: readonly RecordedEvent[], webhookAttempts: readonly WebhookAttemptSeen[] = []): TimelineEntry[] {
  const byId = new Map(events.map((e) => [e.id, e]));
  const hooks = webhookAttempts.map((w) => webhookEntry(w, w.causeEventId === null ? undefined : byId.get(w.causeEventId)));
  return mergeByTime(events.map(eventEntry), hooks);
}

function eventEntry(event: RecordedEvent): TimelineEntry {
  const base = { at: event.createdAt, type: event.type, recipient: event.recipient, remoteHost: null, reply: null, dkim: null, webhook: null };
  const kind = event.type.startsWith("webhook.") ? "webhook" : (event.type.split(".")[1] ?? event.type);
  switch (event.type) {
    case "message.accepted": {
      const d = event.data;
      if (d.sandboxed) return { ...base, kind: "accepted", summary: "Accepted and captured (sandbox: nothing is delivered)", dkim: { signed: false, summary: "not signed: sandbox, nothing is delivered" } };
      return { ...base, kind: "accepted", summary: `Accepted for ${d.recipients} recipient${d.recipients === 1 ? "" : "s"}` };
    }
    case "delivery.delivered":
      return { ...base, kind, summary: "Delivered", remoteHost: event.data.attempt.remoteHost, reply: event.data.attempt.reply, dkim: dkimLine(event.data.attempt.dkim) };
    case "delivery.deferred":
      return { ...base, kind, summary: `Deferred; next attempt ${new Date(event.data.nextAttemptAt).toISOString()}`, remoteHost: event.data.attempt.remoteHost, reply: event.data.attempt.reply, dkim: dkimLine(event.data.attempt.dkim) };
    case "delivery.bounced":
      return { ...base, kind, summary: `Bounced (${event.data.bounceType}): ${event.data.summary}`, remoteHost: event.data.attempt?.remoteHost ?? null, reply: event.data.attempt?.reply ?? null, dkim: dkimLine(event.data.attempt?.dkim) };
    case "delivery.expired":
      return { ...base, kind, summary: `Expired after ${event.data.attempts} attempts: ${event.data.summary}`, remoteHost: event.data.attempt.remoteHost, reply: event.data.attempt.reply, dkim: dkimLine(event.data.attempt.dkim) };
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
}

/** Why a message went unsigned, in a line (the reasons: DkimUnsignedReason in event-map.ts). */
const UNSIGNED: Record<DkimUnsignedReason, (d: string) => string> = {
  "null-sender": () => "not signed: a notice with a null sender has no domain of ours to sign for",
  "no-domain": () => "not signed: the From address has no domain",
  "not-sending-domain": (d) => `not signed: ${d} is not a sending domain (signing is exact-domain)`,
  unverified: (d) => `not signed: ${d} has no verified DKIM key yet (its TXT record was not seen)`,
};

function dkimLine(dkim: DkimData | undefined): TimelineEntry["dkim"] {
  if (!dkim) return null;
  if ("signed" in dkim) return { signed: true, summary: `signed ${dkim.signed.map((s) => `d=${s.d} s=${s.s} (${s.a})`).join(" and ")}` };
  return { signed: false, summary: UNSIGNED[dkim.unsigned](dkim.d ?? "the From domain") };
}

function webhookEntry(w: WebhookAttemptSeen, cause: RecordedEvent | undefined): TimelineEntry {
  const answer = w.status === null ? `no answer (${w.error ?? "unknown error"})` : `HTTP ${w.status}`;
  const then = { posted: "", retried: ", retried", "will-retry": ", will retry", failed: ", given up", dropped: ", dropped (the endpoint was deleted)" }[w.outcome];
  const { at, causeEventId: _cause, ...seen } = w;
  return {
    at,
    kind: "webhook",
    type: "webhook.attempt",
    recipient: cause?.recipient ?? null,
    summary: `Webhook ${w.outcome === "posted" ? "posted" : "attempt " + w.attempt} to ${w.endpoint ?? "a deleted endpoint"}${cause ? ` for ${cause.type}` : ""}: ${answer} in ${w.durationMs} ms${then}`,
    remoteHost: null,
    reply: null,
    dkim: null,
    webhook: { ...seen, cause: cause?.type ?? null },
  };
}

/** Both lists are in time order already; events come first at the same millisecond (a post follows its cause). */
function mergeByTime(a: TimelineEntry[], b: TimelineEntry[]): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]!.at <= b[j]!.at)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}
