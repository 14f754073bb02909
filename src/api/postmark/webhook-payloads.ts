// The bodies of outbound webhook posts, in Postmark's shapes (Delivery, Bounce, SpamComplaint,
// Open, Click, SubscriptionChange), made from Posthorn's events and records. Handed to the
// webhooks domain as its payload builder (outbound-hooks.consumer.ts), which knows no wire shape.
// Dates are ISO 8601 in UTC; Metadata and Tag come from the message the event is about.
import type { RecordedEvent, RecordedEventOf, ReaderData, UserAgentPart } from "../../events/event-map.js";
import type { MessageForWebhook, MessagesService } from "../../messages/messages.service.js";
import type { BounceRecord, BouncesService } from "../../bounces/bounces.service.js";
import type { WebhookPayloads } from "../../webhooks/outbound-hooks.consumer.js";
import type { WebhookRecord } from "../../webhooks/webhook.record.js";
import { postmarkServerId } from "./server.routes.js";

const PLATFORM: Record<ReaderData["platform"], string> = { desktop: "Desktop", mobile: "Mobile", webmail: "WebMail", unknown: "Unknown" };

export function postmarkWebhookPayloads(deps: { messages: Pick<MessagesService, "forWebhooks">; bounces: Pick<BouncesService, "records"> }): WebhookPayloads {
  return {
    async build(items) {
      const events = items.map((i) => i.event);
      const messages = await deps.messages.forWebhooks([...new Set(events.map((e) => e.messageId).filter((id): id is string => id !== null))]);
      const bounces = new Map<number, BounceWithDump>();
      const byWorkspace = new Map<string, number[]>();
      // The kept report is read only for webhooks that include the bounce's content.
      const withDumps = new Set<number>();
      for (const { event: e, webhook } of items) {
        if (e.type !== "bounce.recorded" && e.type !== "complaint.recorded") continue;
        byWorkspace.set(e.workspaceId, [...(byWorkspace.get(e.workspaceId) ?? []), e.data.bounceId]);
        if ((e.type === "bounce.recorded" ? webhook.triggers.bounce : webhook.triggers.complaint).includeContent) withDumps.add(e.data.bounceId);
      }
      for (const [workspaceId, ids] of byWorkspace) for (const [id, record] of await deps.bounces.records(workspaceId, ids, withDumps)) bounces.set(id, record);
      return items.map(({ event, webhook }) => {
        const message = event.messageId ? messages.get(event.messageId) ?? null : null;
        const payload = payloadOf(event, webhook, message, bounces);
        return payload === null ? null : JSON.stringify(payload);
      });
    },
  };
}

type BounceWithDump = BounceRecord & { dump: string | null };

function payloadOf(event: RecordedEvent, webhook: WebhookRecord, message: MessageForWebhook | null, bounces: Map<number, BounceWithDump>): Record<string, unknown> | null {
  const serverId = postmarkServerId(event.workspaceId);
  const about = { Tag: message?.tag ?? "", Metadata: message?.metadata ?? {} };
  switch (event.type) {
    case "delivery.delivered":
      return {
        RecordType: "Delivery",
        ServerID: serverId,
        MessageStream: event.data.stream,
        MessageID: event.messageId,
        Recipient: event.recipient,
        ...about,
        DeliveredAt: iso(event.createdAt),
        Details: `smtp;${event.data.attempt.reply}`,
      };
    case "bounce.recorded":
    case "complaint.recorded": {
      const bounce = bounces.get(event.data.bounceId);
      if (!bounce) return null;
      const trigger = event.type === "bounce.recorded" ? webhook.triggers.bounce : webhook.triggers.complaint;
      return bouncePayload(event.type === "bounce.recorded" ? "Bounce" : "SpamComplaint", bounce, serverId, message, trigger.includeContent);
    }
    case "delivery.opened":
      return { RecordType: "Open", ...reader(event, event.data), FirstOpen: event.data.firstOpen, ReadSeconds: 0 };
    case "delivery.clicked":
      return { RecordType: "Click", ...reader(event, event.data), ClickLocation: event.data.location === "html" ? "HTML" : "Text", OriginalLink: event.data.link };
    case "suppression.added":
    case "suppression.removed": {
      const added = event.type === "suppression.added";
      // Postmark's reactivation carries no message, reason or tag.
      return {
        RecordType: "SubscriptionChange",
        ServerID: serverId,
        MessageStream: event.data.stream,
        MessageID: added ? event.messageId : null,
        ChangedAt: iso(event.createdAt),
        Recipient: event.recipient,
        Origin: event.data.origin,
        SuppressSending: added,
        SuppressionReason: added ? event.data.reason : null,
        Tag: added ? message?.tag ?? null : null,
        Metadata: added ? message?.metadata ?? {} : {},
      };
    }
    default:
      return null;
  }

  function reader(e: RecordedEventOf<"delivery.opened"> | RecordedEventOf<"delivery.clicked">, r: ReaderData & { stream: string }) {
    return {
      ServerID: serverId,
      MessageStream: r.stream,
      MessageID: e.messageId,
      Recipient: e.recipient,
      ...about,
      ReceivedAt: iso(e.createdAt),
      Platform: PLATFORM[r.platform],
      UserAgent: r.userAgent,
      Client: part(r.client),
      OS: part(r.os),
      Geo: {
        CountryISOCode: r.geo?.countryIso ?? "",
        Country: r.geo?.country ?? "",
        RegionISOCode: r.geo?.regionIso ?? "",
        Region: r.geo?.region ?? "",
        City: r.geo?.city ?? "",
        Zip: r.geo?.zip ?? "",
        Coords: r.geo?.coords ?? "",
        IP: r.ip ?? "",
      },
    };
  }
}

function bouncePayload(recordType: string, b: BounceWithDump, serverId: number, message: MessageForWebhook | null, includeContent: boolean): Record<string, unknown> {
  return {
    RecordType: recordType,
    ID: b.id,
    Type: b.type,
    TypeCode: b.typeCode,
    Name: b.description,
    Tag: b.tag ?? "",
    MessageID: b.messageId,
    ServerID: serverId,
    MessageStream: b.stream,
    Description: b.description,
    Details: b.details,
    Email: b.email,
    From: b.from,
    BouncedAt: iso(b.bouncedAt),
    DumpAvailable: b.dumpAvailable,
    Inactive: b.inactive,
    CanActivate: b.canActivate,
    Subject: b.subject,
    // The report as received when one told of the bounce; a bounce met in our own session has no
    // message of its own, and its content is the remote server's reply.
    ...(includeContent ? { Content: b.dump ?? b.details } : {}),
    Metadata: message?.metadata ?? {},
  };
}

function part(p: UserAgentPart) {
  return { Name: p.name, Company: p.company, Family: p.family };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
