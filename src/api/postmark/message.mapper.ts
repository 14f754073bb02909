// Posthorn's message records as Postmark's OutboundMessage, OutboundMessageDetails and
// MessageEvents (postmark.js 5.1.0 models). Only this file knows those shapes.
import { formatMailbox } from "../../messages/addresses.js";
import type { Address } from "../../messages/message.types.js";
import type { MessageDetails, MessageRecord } from "../../messages/message.record.js";
import type { AttemptData, ReaderData, RecordedEvent } from "../../events/event-map.js";
import { statusOf, trackLinksOf } from "./postmark-words.js";

export function toOutboundMessage(m: MessageRecord) {
  const to = m.to.map(toPostmarkAddress);
  const cc = m.cc.map(toPostmarkAddress);
  const bcc = m.bcc.map(toPostmarkAddress);
  return {
    Tag: m.tag ?? "",
    MessageID: m.id,
    MessageStream: m.stream,
    To: to,
    Cc: cc,
    Bcc: bcc,
    Recipients: [...to, ...cc, ...bcc].map((a) => a.Email),
    ReceivedAt: new Date(m.acceptedAt).toISOString(),
    From: formatMailbox(m.from),
    Subject: m.subject,
    Attachments: m.attachments,
    Status: statusOf(m.state),
    TrackOpens: m.trackOpens,
    TrackLinks: trackLinksOf(m.linkTracking),
    Metadata: m.metadata,
    Sandboxed: m.sandboxed,
  };
}

export function toOutboundDetails(m: MessageDetails) {
  return {
    ...toOutboundMessage(m),
    TextBody: m.textBody ?? "",
    HtmlBody: m.htmlBody ?? "",
    Body: m.mime.toString("utf8"),
    ...bodyRemoved(m.bodyRemovedAt),
    MessageEvents: toMessageEvents(m.events),
  };
}

/**
 * A message whose body retention removed (src/retention/) answers with its metadata and events
 * and empty bodies, as Postmark's details do for content it no longer keeps, and says so in two
 * fields of ours (absent while the body is kept, so the common answer is Postmark's shape exactly).
 */
export function bodyRemoved(at: number | null): { BodyRemovedAt?: string; BodyRemovedReason?: string } {
  if (at === null) return {};
  return { BodyRemovedAt: new Date(at).toISOString(), BodyRemovedReason: "The message body is no longer kept (content retention); its metadata and events are." };
}

function toPostmarkAddress(a: Address) {
  return { Email: a.email, Name: a.name };
}

/**
 * The events Postmark shows on a message, in order. A bounce or complaint carries the BounceID of
 * the record made because of it (the bounce.recorded / complaint.recorded event naming it as cause).
 */
export function toMessageEvents(events: RecordedEvent[]) {
  const bounceIds = new Map<number, string>();
  for (const e of events) {
    if (e.type === "bounce.recorded" || e.type === "complaint.recorded") bounceIds.set(e.data.cause, String(e.data.bounceId));
  }
  const shown = [];
  for (const e of events) {
    const item = messageEvent(e, bounceIds.get(e.id) ?? "");
    if (item) shown.push({ Recipient: e.recipient ?? "", Type: item.type, ReceivedAt: new Date(e.createdAt).toISOString(), Details: item.details });
  }
  return shown;
}

function messageEvent(e: RecordedEvent, bounceId: string): { type: string; details: Record<string, unknown> } | null {
  switch (e.type) {
    case "delivery.suppressed":
      return { type: "Suppressed", details: { Summary: "Not delivered: the recipient is inactive on this stream." } };
    case "delivery.delivered":
      return { type: "Delivered", details: server(e.data.attempt) };
    case "delivery.deferred":
      return { type: "Transient", details: { ...server(e.data.attempt), NextAttemptAt: new Date(e.data.nextAttemptAt).toISOString() } };
    case "delivery.expired":
      return { type: "Bounced", details: { Summary: e.data.summary, ...server(e.data.attempt), BounceID: bounceId } };
    case "delivery.bounced":
      if (e.data.origin === "session" && e.data.attempt) {
        return { type: "Bounced", details: { Summary: e.data.summary, BounceType: e.data.bounceType, ...server(e.data.attempt), BounceID: bounceId } };
      }
      if (e.data.origin === "report") return { type: "Bounced", details: { Summary: e.data.summary, BounceID: bounceId, BounceType: e.data.bounceType, Origin: "report" } };
      return { type: "Bounced", details: { Summary: e.data.summary, BounceID: bounceId } };
    case "delivery.delayed":
      return { type: "Transient", details: { Summary: e.data.summary, BounceID: bounceId, BounceType: "Transient", Origin: "report" } };
    case "delivery.auto-replied":
      return { type: "Bounced", details: { Summary: e.data.summary, BounceID: bounceId, BounceType: "AutoResponder", Origin: "report" } };
    case "delivery.complained":
      return { type: "SpamComplaint", details: { Summary: e.data.summary, BounceID: bounceId, BounceType: "SpamComplaint", Origin: "report" } };
    case "delivery.unverified-report":
      // Shown as its bounce record (Unknown, which deactivates nothing), the way Postmark shows
      // every bounce record, auto-replies included; never as the HardBounce or complaint it claims.
      return {
        type: "Bounced",
        details: { Summary: `Unverified ${e.data.report} report, not acted on: ${e.data.summary}`, BounceID: bounceId, BounceType: "Unknown", ClaimedBounceType: e.data.claimed, Origin: "unverified-report" },
      };
    case "delivery.opened":
      return { type: "Opened", details: { Summary: readSummary("Opened", e.data), FirstOpen: e.data.firstOpen, Proxied: e.data.proxied } };
    case "delivery.clicked":
      return {
        type: "LinkClicked",
        details: { Summary: readSummary("Clicked a link", e.data), Link: e.data.link, ClickLocation: e.data.location === "text" ? "Text" : "HTML", Proxied: e.data.proxied },
      };
    default:
      return null;
  }
}

/** "Opened with Outlook 16.0 on Windows 10", or "… through an image proxy (Gmail)" for a proxy's fetch. */
function readSummary(what: string, reader: ReaderData): string {
  if (reader.proxied) return `${what} through an image proxy (${reader.client.name})`;
  return reader.client.name === "unknown" ? what : `${what} with ${reader.client.name}${reader.os.name === "unknown" ? "" : ` on ${reader.os.name}`}`;
}

function server(a: AttemptData) {
  return { DeliveryMessage: a.reply, DestinationServer: a.remoteHost ?? "", DestinationIP: a.remoteIp ?? "", Tls: a.tls };
}
