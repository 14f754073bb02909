// Reading accepted messages back (search, one message with its bodies and timeline, its MIME),
// and the messages domain's own reaction to delivery outcomes: a message is finished once none of
// its deliveries waits any more. Edges call this, never the repository.
import { lazyModule } from "../shared/lazy-module.js";
import type { Store } from "../store/store.js";
import type { EventEmitter, Reaction } from "../events/outbox.js";
import { domainOf } from "../shared/email-address.js";
import type { Address } from "./message.types.js";
import type { EventsRepository } from "../events/events.repository.js";
import { MessageNotFound } from "./accept.errors.js";
import type { Db } from "../store/store.js";
import type { MessageForBounce, MessageForDelivery, MessageForNotice, MessageForWebhook, MessagesRepository, MessageSearch } from "./messages.repository.js";
import type { MessageDetails, MessageRecord } from "./message.record.js";

const mailparser = lazyModule<typeof import("mailparser")>("mailparser");

export type { MessageForWebhook } from "./messages.repository.js";

export class MessagesService {
  constructor(private readonly deps: { store: Store; repository: MessagesRepository; events: EventsRepository }) {}

  search(query: MessageSearch): Promise<{ total: number; records: MessageRecord[] }> {
    return this.deps.repository.search(this.deps.store.db, query);
  }

  /** One message with its bodies and its events; MESSAGE_NOT_FOUND outside the workspace. */
  async details(workspaceId: string, id: string): Promise<MessageDetails> {
    const found = await this.deps.repository.findById(this.deps.store.db, workspaceId, id);
    if (!found) throw MessageNotFound(`Message '${id}' was not found.`);
    const events = await this.deps.events.forMessage(this.deps.store.db, workspaceId, id);
    let { textBody, htmlBody } = found;
    // Mail submitted whole (SMTP) keeps only its MIME: the bodies are read from it when shown,
    // which costs a parse per view instead of one per accepted message. A body removed by
    // retention (src/retention/) has nothing left to read.
    if (textBody === null && htmlBody === null && found.bodyRemovedAt === null) ({ textBody, htmlBody } = await bodiesOf(found.mime));
    return { ...found.record, textBody, htmlBody, mime: found.mime, bodyRemovedAt: found.bodyRemovedAt, events };
  }

  /** The message as stored and sent; empty once retention removed the body (then `bodyRemovedAt` says when). */
  async mime(workspaceId: string, id: string): Promise<Buffer> {
    return (await this.source(workspaceId, id)).mime;
  }

  /** The message as stored and sent, and when retention removed it (null while kept). */
  async source(workspaceId: string, id: string): Promise<{ mime: Buffer; bodyRemovedAt: number | null }> {
    const found = await this.deps.repository.findById(this.deps.store.db, workspaceId, id);
    if (!found) throw MessageNotFound(`Message '${id}' was not found.`);
    return { mime: found.mime, bodyRemovedAt: found.bodyRemovedAt };
  }

  /** A message's deliveries, one per recipient, with their states (tools and tests). */
  deliveries(db: Db, messageId: string) {
    return this.deps.repository.deliveries(db, messageId);
  }

  /** What the MTA needs to send messages: envelope sender and MIME. */
  forDelivery(db: Db, ids: string[]): Promise<MessageForDelivery[]> {
    return this.deps.repository.forDelivery(db, ids);
  }

  /** What bounce records copy from their messages (in the caller's transaction). */
  forBounces(db: Db, ids: string[]): Promise<Map<string, MessageForBounce>> {
    return this.deps.repository.forBounces(db, ids);
  }

  /** What webhook payloads copy from their messages (tag, metadata), by id. */
  forWebhooks(ids: string[]): Promise<Map<string, MessageForWebhook>> {
    return this.deps.repository.forWebhooks(this.deps.store.db, ids);
  }

  /** What failure notices need of their original messages (in the caller's transaction). */
  forNotices(db: Db, ids: string[]): Promise<Map<string, MessageForNotice>> {
    return this.deps.repository.forNotices(db, ids);
  }

  /**
   * Queues a message Posthorn wrote itself (a failure notice) to one recipient, with a null
   * envelope sender, outside acceptance: it answers mail we accepted and obeys no client's policy.
   */
  async recordNotice(trx: Db, outbox: EventEmitter, n: { id: string; workspaceId: string; stream: string; from: Address; to: string; subject: string; mime: Buffer; now: number }): Promise<void> {
    await this.deps.repository.insertAccepted(
      trx,
      [
        {
          id: n.id,
          workspace_id: n.workspaceId,
          stream: n.stream,
          envelope_from: "",
          from_json: JSON.stringify({ address: n.from.email, name: n.from.name }),
          to_json: JSON.stringify([{ address: n.to, name: "" }]),
          cc_json: "[]",
          bcc_json: "[]",
          subject: n.subject,
          tag: null,
          metadata_json: "{}",
          track_opens: 0,
          track_links: "none",
          attachments_json: "[]",
          text_body: null,
          html_body: null,
          mime: n.mime,
          sandboxed: 0,
          state: "queued",
          created_at: n.now,
        },
      ],
      [{ message_id: n.id, workspace_id: n.workspaceId, recipient: n.to, domain: domainOf(n.to), stream: n.stream, state: "queued", attempts: 0, next_attempt_at: n.now, lease_owner: null, last_reply: null, created_at: n.now, updated_at: n.now }],
    );
    await outbox.emit(trx, [{ type: "message.accepted", workspaceId: n.workspaceId, messageId: n.id, recipient: null, data: { stream: n.stream, recipients: 1, tag: null, sandboxed: false } }]);
  }

  /** Marks messages finished when their last delivery reaches an outcome. */
  finishReaction(): Reaction {
    const repository = this.deps.repository;
    return {
      name: "messages: finished when no delivery waits",
      // Acceptance itself sets the state of a message whose recipients were all suppressed.
      types: ["delivery.delivered", "delivery.bounced", "delivery.expired"],
      async handle(trx, events) {
        await repository.finishWhereDone(trx, [...new Set(events.map((e) => e.messageId!))]);
      },
    };
  }
}

async function bodiesOf(mime: Buffer): Promise<{ textBody: string | null; htmlBody: string | null }> {
  try {
    const parsed = await mailparser().simpleParser(mime, { skipImageLinks: true, skipTextToHtml: true, skipHtmlToText: true });
    return { textBody: parsed.text ?? null, htmlBody: typeof parsed.html === "string" ? parsed.html : null };
  } catch {
    return { textBody: null, htmlBody: null };
  }
}
