// Transactional messages, as Customer.io has them: a message defined once (Liquid templates for
// from, subject, bodies, reply-to, headers) and sent to one person at a time by the App API's
// POST /v1/send/email with `message_data`, or a send that carries its own from/subject/body. The
// person is named by one identifier and created when missing (as Customer.io does); `to` overrides
// their address. Transactional mail is sent to unsubscribed people unless the send says not to,
// and never counts toward message limits. It goes through the outreach mailer (its ledger records
// it, origin "transactional"), so its statuses and the customer's message list include it.
//
// Rate: at most 100 sends per second per workspace (Customer.io's limit for transactional sends),
// counted in each API process; several API processes each allow that much.
import type { Store } from "../../store/store.js";
import type { Clock } from "../../shared/clock.js";
import type { PeopleIngest, PeopleReader, PersonIdentifier } from "../../people/people.port.js";
import type { LiquidRenderer } from "../../templates/liquid/liquid.renderer.js";
import { TokenBucket } from "../../mta/shaping/throttle.js";
import { DEFAULT_STREAM } from "../../messages/message.validation.js";
import type { TransactionalMessageRow } from "./outreach.schema.js";
import type { TransactionalMessagesRepository } from "./transactional-messages.repository.js";
import type { ExtendedMail, StoredOutreachMailer } from "./outreach.mailer.js";
import { TransactionalConflict, TransactionalInvalid, TransactionalNotFound, TransactionalRateLimited, TransactionalRecipientInactive } from "./outreach.errors.js";

/** A transactional message's templates (Liquid; `customer`, `trigger` and `message_data` in scope). */
export interface TransactionalContent {
  from: string;
  subject: string;
  /** HTML body. */
  body: string | null;
  /** Text body. */
  bodyPlain: string | null;
  replyTo: string | null;
  preheader: string | null;
  headers: Record<string, string>;
}

export interface TransactionalMessage {
  id: string;
  workspaceId: string;
  name: string;
  /** Another name a send may use instead of the id (Customer.io's "trigger name"); unique per workspace. */
  triggerName: string | null;
  content: TransactionalContent;
  createdAt: number;
  updatedAt: number;
}

export interface TransactionalDefinition {
  name: string;
  triggerName: string | null;
  content: TransactionalContent;
}

export interface TransactionalSendRequest {
  /** transactional_message_id: an id, or a trigger name; null: the send's own content. */
  message: string | null;
  content: Partial<TransactionalContent> | null;
  identifiers: PersonIdentifier;
  to: string | null;
  messageData: Record<string, unknown>;
  /** Added to (and, per name, replacing) the message's own headers. */
  headers: Record<string, string>;
  replyTo: string | null;
  bcc: string | null;
  bodyPlain: string | null;
  preheader: string | null;
  sendToUnsubscribed: boolean;
  tracked: boolean;
  attachments: Array<{ name: string; content: string }>;
  /** Unix ms; null: now. */
  sendAt: number | null;
}

export interface TransactionalSent {
  deliveryId: string;
  messageId: string;
  /** Unix ms. */
  queuedAt: number;
}

/** Bounds of what is stored and sent. */
export const TRANSACTIONAL_LIMITS = Object.freeze({
  messagesPerWorkspace: 1_000,
  nameBytes: 255,
  templateChars: 512 * 1024,
  headers: 50,
  messageDataBytes: 100 * 1024,
  /** Customer.io schedules up to 90 days ahead. */
  sendAtAheadMs: 90 * 24 * 3_600_000,
  sendsPerSecond: 100,
});

export interface TransactionalDeps {
  store: Store;
  clock: Clock;
  repository: TransactionalMessagesRepository;
  mailer: Pick<StoredOutreachMailer, "send">;
  people: Pick<PeopleReader, "find"> & Pick<PeopleIngest, "apply">;
  renderer: Pick<LiquidRenderer, "check">;
}

export class TransactionalMessagesService {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly deps: TransactionalDeps) {}

  async list(workspaceId: string): Promise<TransactionalMessage[]> {
    return (await this.deps.repository.list(this.deps.store.db, workspaceId)).map(toMessage);
  }

  /** By id, or by trigger name. */
  async get(workspaceId: string, ref: string): Promise<TransactionalMessage> {
    return toMessage(await this.find(workspaceId, ref));
  }

  async create(workspaceId: string, definition: TransactionalDefinition): Promise<TransactionalMessage> {
    this.check(definition);
    const id = await this.unique(() =>
      this.deps.store.write(async (trx) => {
        if ((await this.deps.repository.count(trx, workspaceId)) >= TRANSACTIONAL_LIMITS.messagesPerWorkspace) throw TransactionalInvalid(`A workspace has at most ${TRANSACTIONAL_LIMITS.messagesPerWorkspace} transactional messages.`, { field: "name" });
        return this.deps.repository.insert(trx, { workspace_id: workspaceId, name: definition.name, trigger_name: definition.triggerName, content_json: JSON.stringify(definition.content), now: this.deps.clock.now() });
      }),
    );
    return this.get(workspaceId, String(id));
  }

  async update(workspaceId: string, ref: string, definition: TransactionalDefinition): Promise<TransactionalMessage> {
    this.check(definition);
    const existing = await this.find(workspaceId, ref);
    await this.unique(() => this.deps.store.write((trx) => this.deps.repository.update(trx, workspaceId, existing.id, { name: definition.name, trigger_name: definition.triggerName, content_json: JSON.stringify(definition.content), now: this.deps.clock.now() })));
    return this.get(workspaceId, String(existing.id));
  }

  async delete(workspaceId: string, ref: string): Promise<void> {
    const existing = await this.find(workspaceId, ref);
    await this.deps.store.write((trx) => this.deps.repository.delete(trx, workspaceId, existing.id));
  }

  /** POST /v1/send/email: renders and accepts one message to one person. */
  async send(workspaceId: string, request: TransactionalSendRequest): Promise<TransactionalSent> {
    this.takeRate(workspaceId);
    const now = this.deps.clock.now();
    checkSend(request, now);
    const stored = request.message === null ? null : toMessage(await this.find(workspaceId, request.message));
    const content = contentOf(stored?.content ?? null, request);
    for (const [field, text] of [["subject", content.subject], ["body", content.body], ["from", content.from]] as const) {
      if (text !== null) this.checkLiquid(text, field);
    }
    const personId = await this.personFor(workspaceId, request.identifiers, request.to);
    if (!request.sendToUnsubscribed) {
      const person = await this.deps.people.find(workspaceId, { kind: "cio_id", value: personId });
      if (person?.unsubscribed) throw TransactionalRecipientInactive("The person is unsubscribed and send_to_unsubscribed is false.", { field: "send_to_unsubscribed" });
    }
    const mail: ExtendedMail = {
      workspaceId,
      personId,
      content: { kind: "liquid", from: content.from, to: request.to, replyTo: content.replyTo, subject: content.subject, html: content.body, text: content.bodyPlain, headers: content.headers },
      scope: { trigger: request.messageData, message_data: request.messageData },
      tag: null,
      send: { from: null, stream: DEFAULT_STREAM, countsTowardLimit: false, transactional: true, topic: null },
      idempotencyKey: null,
      origin: { kind: "transactional", transactionalId: stored?.id ?? null },
      overLimit: "skip",
      quietHours: false,
      sendAt: request.sendAt,
      extras: { bcc: request.bcc, attachments: request.attachments.map((a) => ({ ...a, contentType: null })), tracked: request.tracked, preheader: content.preheader },
    };
    const [outcome] = await this.deps.mailer.send([mail]);
    switch (outcome!.kind) {
      case "accepted":
        return { deliveryId: outcome!.deliveryId, messageId: outcome!.messageId, queuedAt: now };
      case "failed":
        throw outcome!.error;
      case "skipped":
        if (outcome!.reason === "no_email") throw TransactionalInvalid("The person has no email address: give `to`.", { field: "to" });
        throw TransactionalRecipientInactive(`Not sent: ${outcome!.detail}`, { field: "to" });
      case "held":
        // Transactional mail is neither limited nor held by quiet hours (mail.quietHours false).
        throw new Error(`transactional mail was held (${outcome!.reason})`);
    }
  }

  private async personFor(workspaceId: string, who: PersonIdentifier, to: string | null): Promise<string> {
    const found = await this.deps.people.find(workspaceId, who);
    if (found) return found.personId;
    if (who.kind === "cio_id") throw TransactionalInvalid(`No person has cio_id ${who.value}.`, { field: "identifiers.cio_id" });
    // A person made now from an id alone has no address: refused before anyone is made.
    if (who.kind === "id" && !to) throw TransactionalInvalid("The person is new and has no email address: give `to`.", { field: "to" });
    const attributes = who.kind === "email" ? { email: who.value } : {};
    const [result] = await this.deps.people.apply(workspaceId, [{ op: "identify", who, attributes }], { atomic: true });
    if (!result?.ok || !result.personId) throw TransactionalInvalid(`The person could not be created: ${result && !result.ok ? result.message : "unknown"}`, { field: `identifiers.${who.kind}` });
    return result.personId;
  }

  private takeRate(workspaceId: string): void {
    let bucket = this.buckets.get(workspaceId);
    if (!bucket) {
      if (this.buckets.size > 10_000) this.buckets.clear();
      const n = TRANSACTIONAL_LIMITS.sendsPerSecond;
      this.buckets.set(workspaceId, (bucket = new TokenBucket({ messages: n, perMs: 1_000, burst: n }, () => this.deps.clock.now())));
    }
    if (bucket.reserve(0) === null) throw TransactionalRateLimited();
  }

  private async find(workspaceId: string, ref: string): Promise<TransactionalMessageRow> {
    const db = this.deps.store.db;
    const byId = /^[1-9][0-9]{0,15}$/.test(ref) ? await this.deps.repository.byId(db, workspaceId, Number(ref)) : null;
    const row = byId ?? (ref.length <= TRANSACTIONAL_LIMITS.nameBytes ? await this.deps.repository.byTrigger(db, workspaceId, ref) : null);
    if (!row) throw TransactionalNotFound(`There is no transactional message ${ref.slice(0, 100)}.`, { field: "transactional_message_id" });
    return row;
  }

  private check(d: TransactionalDefinition): void {
    if (!d.name || Buffer.byteLength(d.name) > TRANSACTIONAL_LIMITS.nameBytes) throw TransactionalInvalid(`name is required, at most ${TRANSACTIONAL_LIMITS.nameBytes} bytes.`, { field: "name" });
    if (d.triggerName !== null && (d.triggerName === "" || Buffer.byteLength(d.triggerName) > TRANSACTIONAL_LIMITS.nameBytes || /^[0-9]+$/.test(d.triggerName))) {
      throw TransactionalInvalid("trigger_name must be 1–255 bytes and not a number (numbers name messages by id).", { field: "trigger_name" });
    }
    if (!d.content.from) throw TransactionalInvalid("from is required.", { field: "from" });
    if (!d.content.subject) throw TransactionalInvalid("subject is required.", { field: "subject" });
    if (d.content.body === null && d.content.bodyPlain === null) throw TransactionalInvalid("body or body_plain is required.", { field: "body" });
    checkHeaders(d.content.headers);
    for (const [field, text] of [["from", d.content.from], ["subject", d.content.subject], ["body", d.content.body], ["body_plain", d.content.bodyPlain], ["reply_to", d.content.replyTo], ["preheader", d.content.preheader]] as const) {
      if (text !== null) this.checkLiquid(text, field);
    }
  }

  private checkLiquid(text: string, field: string): void {
    if (text.length > TRANSACTIONAL_LIMITS.templateChars) throw TransactionalInvalid(`${field} is longer than ${TRANSACTIONAL_LIMITS.templateChars} characters.`, { field });
    try {
      this.deps.renderer.check(text);
    } catch (err) {
      throw TransactionalInvalid(`${field}: ${(err as Error).message}`, { field });
    }
  }

  private async unique<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string } | null)?.code;
      // SQLite and PostgreSQL (SQLSTATE 23505) spell a unique-constraint violation differently.
      if (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "23505") throw TransactionalConflict("Another transactional message of this workspace has this trigger_name.", { field: "trigger_name" });
      throw err;
    }
  }
}

/** The stored message's content with what the send overrides, or the send's own content. */
function contentOf(stored: TransactionalContent | null, r: TransactionalSendRequest): TransactionalContent {
  const own = r.content ?? {};
  const from = own.from ?? stored?.from ?? null;
  const subject = own.subject ?? stored?.subject ?? null;
  const body = own.body ?? stored?.body ?? null;
  const bodyPlain = r.bodyPlain ?? own.bodyPlain ?? stored?.bodyPlain ?? null;
  if (!from) throw TransactionalInvalid("from is required (or transactional_message_id).", { field: "from" });
  if (!subject) throw TransactionalInvalid("subject is required (or transactional_message_id).", { field: "subject" });
  if (body === null && bodyPlain === null) throw TransactionalInvalid("body is required (or transactional_message_id).", { field: "body" });
  return {
    from,
    subject,
    body,
    bodyPlain,
    replyTo: r.replyTo ?? stored?.replyTo ?? null,
    preheader: r.preheader ?? stored?.preheader ?? null,
    headers: { ...(stored?.headers ?? {}), ...r.headers },
  };
}

function checkSend(r: TransactionalSendRequest, now: number): void {
  if (r.message === null && r.content === null) throw TransactionalInvalid("Give transactional_message_id, or from, subject and body.", { field: "transactional_message_id" });
  if (Buffer.byteLength(JSON.stringify(r.messageData)) > TRANSACTIONAL_LIMITS.messageDataBytes) throw TransactionalInvalid(`message_data is larger than ${TRANSACTIONAL_LIMITS.messageDataBytes / 1024} KB.`, { field: "message_data" });
  checkHeaders(r.headers);
  if (r.sendAt !== null && r.sendAt > now + TRANSACTIONAL_LIMITS.sendAtAheadMs) throw TransactionalInvalid("send_at may be at most 90 days ahead.", { field: "send_at" });
}

function checkHeaders(headers: Record<string, string>): void {
  const names = Object.keys(headers);
  if (names.length > TRANSACTIONAL_LIMITS.headers) throw TransactionalInvalid(`At most ${TRANSACTIONAL_LIMITS.headers} headers.`, { field: "headers" });
  for (const name of names) {
    if (!/^[\x21-\x39\x3b-\x7e]{1,100}$/.test(name)) throw TransactionalInvalid(`Header name '${name.slice(0, 100)}' is not a valid field name.`, { field: `headers.${name.slice(0, 100)}` });
    if (typeof headers[name] !== "string" || /[\r\n]/.test(headers[name])) throw TransactionalInvalid(`Header ${name} must be text on one line.`, { field: `headers.${name}` });
  }
}

function toMessage(row: TransactionalMessageRow): TransactionalMessage {
  return {
    id: String(row.id),
    workspaceId: row.workspace_id,
    name: row.name,
    triggerName: row.trigger_name,
    content: JSON.parse(row.content_json) as TransactionalContent,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
