// Sender signatures: single From addresses an account proves it controls by a confirmation mail
// (Postmark's Sender Signatures). Like sending domains they belong to the account. Creating one
// also registers its domain as a sending domain when it is not one yet (as Postmark lists a
// signature's domain under Domains), so that the signature's SPF, DKIM and return-path records
// are the domain's and verifySpf / requestNewDkim act on that domain. See README.md.
import type { Store } from "../store/store.js";
import { isUniqueViolation } from "../store/sql-errors.js";
import type { Clock } from "../shared/clock.js";
import type { CallContext, Logger } from "../shared/logger.js";
import { randomHex } from "../shared/ids.js";
import { addressKey, domainOf } from "../shared/email-address.js";
import { checkAddrSpec } from "../messages/addresses.js";
import { canonicalHostName } from "../sending-domains/domain-names.js";
import type { SendingDomain, SendingDomainsService } from "../sending-domains/sending-domains.service.js";
import { DomainExists } from "../sending-domains/sending-domains.errors.js";
import { isPosthornError } from "../shared/errors.js";
import { SendersRepository } from "./senders.repository.js";
import type { SenderSignatureRow } from "./senders.schema.js";
import { SenderAlreadyConfirmed, SenderExists, SenderInvalid, SenderNoChanges, SenderNotFound, SenderPublicDomain, SenderResendTooSoon } from "./senders.errors.js";
import { isPublicMailboxDomain } from "./public-mailbox-domains.js";
import type { ConfirmationLinks } from "./confirmation-link.js";
import { confirmationMail, type ConfirmationMail } from "./confirmation-mail.js";

/** Postmark's limits are not published; these keep stored values and the mail small. */
export const MAX_NAME_CHARS = 255;
export const MAX_NOTE_CHARS = 400;
const MAX_EMAIL_CHARS = 254;

export interface SenderSignature {
  id: number;
  email: string;
  domain: string;
  name: string;
  /** "" when none. */
  replyTo: string;
  confirmationNote: string;
  confirmed: boolean;
  confirmedAt: number | null;
  createdAt: number;
}

export interface SenderSignatureDetails extends SenderSignature {
  /** The sending domain of the signature's domain; null if it was deleted since. */
  sendingDomain: SendingDomain | null;
}

export interface SendersDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  domains: Pick<SendingDomainsService, "findByName" | "create" | "updateReturnPath" | "verifySpf" | "rotateDkim">;
  links: ConfirmationLinks;
  /** Least time between two confirmation mails of one signature (POSTHORN_SENDER_CONFIRMATION_INTERVAL). */
  resendIntervalMs: number;
  /** Hands a confirmation mail to acceptance; resolves once it is accepted (src/app/system-mail.ts). */
  sendConfirmation(mail: ConfirmationMail): Promise<void>;
  /** A signature changed in this process: the From rule forgets what it remembered. */
  onChanged(): void;
}

export class SendersService {
  private readonly repo = new SendersRepository();

  constructor(private readonly deps: SendersDeps) {}

  async list(page: { count: number; offset: number }): Promise<{ total: number; signatures: SenderSignature[] }> {
    const db = this.deps.store.db;
    const [total, rows] = await Promise.all([this.repo.count(db), this.repo.list(db, page)]);
    return { total, signatures: rows.map(toSignature) };
  }

  async get(id: number): Promise<SenderSignatureDetails> {
    const row = await this.find(id);
    return { ...toSignature(row), sendingDomain: await this.deps.domains.findByName(row.domain) };
  }

  /** `call`: the HTTP request that asked (its id goes on the log line). */
  async create(input: { fromEmail: unknown; name?: unknown; replyTo?: unknown; returnPathDomain?: unknown; note?: unknown }, call: CallContext = {}): Promise<SenderSignatureDetails> {
    const email = parseEmail(input.fromEmail, "FromEmail");
    const key = addressKey(email);
    const domain = domainOf(email);
    if (isPublicMailboxDomain(domain)) {
      throw SenderPublicDomain(`${email} is on ${domain}, a public mailbox domain; sender signatures must be on a domain you control.`);
    }
    if (canonicalHostName(domain) === null) throw SenderInvalid(`'FromEmail' must be on a domain name with at least two labels; got '${email}'.`);
    const name = input.name === undefined || input.name === null || input.name === "" ? email : parseText(input.name, "Name", MAX_NAME_CHARS);
    const replyTo = parseOptionalEmail(input.replyTo, "ReplyToEmail");
    const note = input.note === undefined || input.note === null ? "" : parseText(input.note, "ConfirmationPersonalNote", MAX_NOTE_CHARS, true);
    const exists = () => SenderExists(`A sender signature for ${email} already exists.`);
    if (await this.repo.findByKey(this.deps.store.db, key)) throw exists();
    // The domain first: a bad ReturnPathDomain refuses the call before anything is stored.
    await this.ensureDomain(domain, input.returnPathDomain);
    const now = this.deps.clock.now();
    const row = { email_key: key, email, domain, name, reply_to: replyTo, confirmation_note: note, confirmation_nonce: randomHex(16), confirmation_sent_at: now, confirmed_at: null, created_at: now, updated_at: now };
    const id = await this.deps.store.write((trx) => this.repo.insert(trx, row)).catch((err: unknown) => {
      throw isUniqueViolation(err) ? exists() : err;
    });
    this.deps.logger.info({ event: "sender.created", ...call, id, domain }, "sender signature created");
    this.deps.onChanged();
    await this.sendConfirmation({ ...row, id });
    return this.get(id);
  }

  async update(id: number, input: { name?: unknown; replyTo?: unknown; returnPathDomain?: unknown; note?: unknown }): Promise<SenderSignatureDetails> {
    const row = await this.find(id);
    const given = (v: unknown) => v !== undefined;
    if (!given(input.name) && !given(input.replyTo) && !given(input.returnPathDomain) && !given(input.note)) {
      throw SenderNoChanges("No sender signature field to change was given (Name, ReplyToEmail, ReturnPathDomain, ConfirmationPersonalNote).");
    }
    const changes: { name?: string; reply_to?: string; confirmation_note?: string; updated_at: number } = { updated_at: this.deps.clock.now() };
    if (given(input.name)) changes.name = parseText(input.name, "Name", MAX_NAME_CHARS);
    if (given(input.replyTo)) changes.reply_to = parseOptionalEmail(input.replyTo, "ReplyToEmail");
    if (given(input.note)) changes.confirmation_note = input.note === null ? "" : parseText(input.note, "ConfirmationPersonalNote", MAX_NOTE_CHARS, true);
    if (given(input.returnPathDomain)) await this.ensureDomain(row.domain, input.returnPathDomain);
    await this.deps.store.write((trx) => this.repo.update(trx, id, changes));
    return this.get(id);
  }

  /** Removes the signature; returns its address. Its domain stays (it may be used on its own). */
  async delete(id: number, call: CallContext = {}): Promise<string> {
    const row = await this.find(id);
    await this.deps.store.write((trx) => this.repo.delete(trx, id));
    this.deps.onChanged();
    this.deps.logger.info({ event: "sender.deleted", ...call, id, domain: row.domain }, "sender signature deleted");
    return row.email;
  }

  /** Sends the confirmation mail again, at most once per resend interval. */
  async resend(id: number): Promise<SenderSignature> {
    const row = await this.find(id);
    if (row.confirmed_at !== null) throw SenderAlreadyConfirmed(`The sender signature ${row.email} is already confirmed.`);
    const now = this.deps.clock.now();
    const claimed = await this.deps.store.write((trx) => this.repo.claimResend(trx, id, now - this.deps.resendIntervalMs, now));
    if (!claimed) {
      const seconds = Math.ceil(this.deps.resendIntervalMs / 1000);
      throw SenderResendTooSoon(`A confirmation email was sent to ${row.email} less than ${seconds} seconds ago; wait before asking for another.`);
    }
    await this.sendConfirmation(row);
    return toSignature({ ...row, confirmation_sent_at: now });
  }

  async verifySpf(id: number): Promise<SenderSignatureDetails> {
    const row = await this.find(id);
    await this.deps.domains.verifySpf((await this.ensureDomain(row.domain, undefined)).id);
    return this.get(id);
  }

  /** A new DKIM key for the signature's domain (a rotation; 505 while one is waiting). */
  async requestNewDkim(id: number): Promise<SenderSignatureDetails> {
    const row = await this.find(id);
    await this.deps.domains.rotateDkim((await this.ensureDomain(row.domain, undefined)).id);
    this.deps.onChanged();
    return this.get(id);
  }

  /** The signature a confirmation link names, or null when the link was not made for it (forged, altered, deleted). */
  async fromLink(id: number, mac: string): Promise<SenderSignature | null> {
    if (!Number.isSafeInteger(id) || id < 1) return null;
    const row = await this.repo.findById(this.deps.store.db, id);
    if (!row || !this.deps.links.verify({ id: row.id, emailKey: row.email_key, nonce: row.confirmation_nonce }, mac)) return null;
    return toSignature(row);
  }

  /** Confirms the signature a valid link names; null when the link is not valid. Idempotent. */
  async confirm(id: number, mac: string): Promise<SenderSignature | null> {
    const found = await this.fromLink(id, mac);
    if (!found) return null;
    if (!found.confirmed) {
      const now = this.deps.clock.now();
      if (await this.deps.store.write((trx) => this.repo.confirm(trx, id, now))) this.deps.logger.info({ event: "sender.confirmed", id, domain: found.domain }, "sender signature confirmed");
      this.deps.onChanged();
    }
    return toSignature((await this.repo.findById(this.deps.store.db, id))!);
  }

  private async sendConfirmation(row: Pick<SenderSignatureRow, "id" | "email" | "email_key" | "name" | "confirmation_note" | "confirmation_nonce">): Promise<void> {
    const link = this.deps.links.url({ id: row.id, emailKey: row.email_key, nonce: row.confirmation_nonce });
    try {
      await this.deps.sendConfirmation(confirmationMail({ email: row.email, name: row.name, note: row.confirmation_note, link }));
    } catch (err) {
      // The signature stands; the account can ask for the mail again (resend).
      this.deps.logger.warn({ event: "sender.confirmation-mail.refused", err, id: row.id }, "the confirmation mail of a sender signature was not accepted");
    }
  }

  /** The sending domain of this name, created when there is none; a given return-path domain is applied. */
  private async ensureDomain(name: string, returnPathDomain: unknown): Promise<SendingDomain> {
    const asked = returnPathDomain !== undefined && returnPathDomain !== null && returnPathDomain !== "";
    let domain = await this.deps.domains.findByName(name);
    if (!domain) {
      try {
        return await this.deps.domains.create({ name, returnPathDomain: asked ? returnPathDomain : undefined });
      } catch (err) {
        if (!isPosthornError(err, DomainExists.code)) throw err;
        domain = await this.deps.domains.findByName(name);
        if (!domain) throw err;
      }
    }
    if (asked) domain = await this.deps.domains.updateReturnPath(domain.id, returnPathDomain);
    return domain;
  }

  private async find(id: number): Promise<SenderSignatureRow> {
    const row = Number.isSafeInteger(id) && id > 0 ? await this.repo.findById(this.deps.store.db, id) : null;
    if (!row) throw SenderNotFound(`No sender signature has ID ${id}.`);
    return row;
  }
}

function toSignature(row: SenderSignatureRow): SenderSignature {
  return {
    id: Number(row.id),
    email: row.email,
    domain: row.domain,
    name: row.name,
    replyTo: row.reply_to,
    confirmationNote: row.confirmation_note,
    confirmed: row.confirmed_at !== null,
    confirmedAt: row.confirmed_at === null ? null : Number(row.confirmed_at),
    createdAt: Number(row.created_at),
  };
}

function parseEmail(input: unknown, field: string): string {
  if (typeof input !== "string" || input.trim() === "") throw SenderInvalid(`'${field}' is required: the address to send from.`);
  const email = input.length > MAX_EMAIL_CHARS ? null : checkAddrSpec(input.trim());
  if (!email) throw SenderInvalid(`'${field}' is not a valid email address: '${input.slice(0, 100)}'.`);
  return email;
}

function parseOptionalEmail(input: unknown, field: string): string {
  if (input === undefined || input === null || input === "") return "";
  return parseEmail(input, field);
}

function parseText(input: unknown, field: string, max: number, multiline = false): string {
  if (typeof input !== "string") throw SenderInvalid(`'${field}' must be a string.`);
  const text = multiline ? input.trim() : input.trim().replace(/\s+/g, " ");
  if (!multiline && text === "") throw SenderInvalid(`'${field}' must not be empty.`);
  if (text.length > max) throw SenderInvalid(`'${field}' is longer than ${max} characters.`);
  // Control characters other than line breaks have no place in a name or a note shown in a mail.
  if (hasControlCharacter(text)) throw SenderInvalid(`'${field}' contains control characters.`);
  return text;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}
