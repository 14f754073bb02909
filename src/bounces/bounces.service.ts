// Bounce records (Postmark's /bounces model), made as a reaction to the events that tell of mail
// that did not arrive or was not wanted: a bounce during our session or reported later, retries
// run out, an operator's purge, a delay report, an auto-reply, a complaint. Each record is
// announced as bounce.recorded (or complaint.recorded) with the event that caused it, in the same
// transaction; deactivating types then suppress the address (suppressions.service.ts reacts).
// An unverified report (src/bounces/README.md) becomes an Unknown record, which suppresses no one.
import type { Clock } from "../shared/clock.js";
import type { Store } from "../store/store.js";
import type { Reaction } from "../events/outbox.js";
import type { NewEvent, RecordedEvent } from "../events/event-map.js";
import { formatMailbox } from "../messages/addresses.js";
import type { MessagesService } from "../messages/messages.service.js";
import { BOUNCE_TYPES, type BounceType } from "./bounce-types.js";
import type { BouncesRepository } from "./bounces.repository.js";

/** A bounce record as read back. */
export interface BounceRecord {
  id: number;
  workspaceId: string;
  messageId: string;
  stream: string;
  type: BounceType;
  typeCode: number;
  email: string;
  from: string;
  subject: string;
  tag: string | null;
  description: string;
  details: string;
  inactive: boolean;
  canActivate: boolean;
  bouncedAt: number;
}

const CAUSES = ["delivery.bounced", "delivery.expired", "delivery.delayed", "delivery.auto-replied", "delivery.complained", "delivery.unverified-report"] as const;

export class BouncesService {
  constructor(private readonly deps: { clock: Clock; repository: BouncesRepository; messages: Pick<MessagesService, "forBounces">; store?: Store }) {}

  /** Bounce records by id within a workspace, in Posthorn's words (webhook payloads read them). */
  async records(workspaceId: string, ids: number[]): Promise<Map<number, BounceRecord>> {
    if (!this.deps.store) throw new Error("bounces: records() needs the store");
    const rows = await this.deps.repository.byIds(this.deps.store.db, workspaceId, ids);
    return new Map(
      rows.map((r) => [
        Number(r.id),
        {
          id: Number(r.id),
          workspaceId: r.workspace_id,
          messageId: r.message_id,
          stream: r.stream,
          type: r.type as BounceType,
          typeCode: r.type_code,
          email: r.email,
          from: r.from_header,
          subject: r.subject,
          tag: r.tag,
          description: r.description,
          details: r.details,
          inactive: r.inactive === 1,
          canActivate: r.can_activate === 1,
          bouncedAt: Number(r.bounced_at),
        },
      ]),
    );
  }

  /** Records a bounce for each event of mail that did not arrive, and announces it. */
  recordReaction(): Reaction {
    return {
      name: "bounces: a record per bounce, complaint and auto-reply",
      types: CAUSES,
      handle: async (trx, events, outbox) => {
        const messages = await this.deps.messages.forBounces(trx, [...new Set(events.map((e) => e.messageId!))]);
        const announced: NewEvent[] = [];
        for (const event of events) {
          const bounce = bounceOf(event);
          const message = messages.get(event.messageId!);
          if (!bounce || !message) continue;
          const type = BOUNCE_TYPES[bounce.type];
          const unverified = event.type === "delivery.unverified-report";
          const bounceId = await this.deps.repository.insert(trx, {
            workspace_id: event.workspaceId,
            message_id: event.messageId!,
            stream: bounce.stream,
            type: bounce.type,
            type_code: type.code,
            email: event.recipient!,
            from_header: formatMailbox(message.from),
            subject: message.subject,
            tag: message.tag,
            description: unverified ? "Unverified report" : type.name,
            details: bounce.details,
            inactive: type.deactivates ? 1 : 0,
            can_activate: type.deactivates ? 1 : 0,
            bounced_at: this.deps.clock.now(),
          });
          const about = { workspaceId: event.workspaceId, messageId: event.messageId, recipient: event.recipient };
          announced.push(
            bounce.type === "SpamComplaint"
              ? { ...about, type: "complaint.recorded", data: { bounceId, stream: bounce.stream, cause: event.id } }
              : { ...about, type: "bounce.recorded", data: { bounceId, bounceType: bounce.type, stream: bounce.stream, cause: event.id } },
          );
        }
        await outbox.emit(trx, announced);
      },
    };
  }
}

/** The bounce an event stands for: its type and the text a bounce record keeps. */
function bounceOf(event: RecordedEvent): { type: BounceType; details: string; stream: string } | null {
  switch (event.type) {
    case "delivery.bounced":
      return { type: event.data.bounceType, details: event.data.summary, stream: event.data.stream };
    case "delivery.expired":
      return { type: "SoftBounce", details: event.data.summary, stream: event.data.stream };
    case "delivery.delayed":
      return { type: "Transient", details: event.data.summary, stream: event.data.stream };
    case "delivery.auto-replied":
      return { type: "AutoResponder", details: event.data.summary, stream: event.data.stream };
    case "delivery.complained":
      return { type: "SpamComplaint", details: event.data.summary, stream: event.data.stream };
    case "delivery.unverified-report":
      // Unknown does not deactivate: the record is there for an operator to see, and suppresses no one.
      return {
        type: "Unknown",
        details: `Unverified ${event.data.report} report, not acted on (it came to no signed return path of ours): claims ${event.data.claimed}: ${event.data.summary}`,
        stream: event.data.stream,
      };
    default:
      return null;
  }
}
