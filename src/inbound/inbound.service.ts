// Inbound streams: mail received for a workspace's inbound address becomes an inbound message,
// stored (searchable through the API) and announced as inbound.received; the webhooks domain
// posts it to the workspace's inbound webhook (this service is its source, webhookSource()) and
// reports the outcome in events that set the message's state (hookOutcomeReaction()). Inbound
// rules block senders or whole domains: a blocked message is still stored, and posted only if a
// user bypasses it. The message is committed before the SMTP edge answers 250, like outbound mail.
import { isIP } from "node:net";
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import { newId } from "../shared/ids.js";
import type { Workspace, WorkspacesService, InboundSettings } from "../workspaces/workspaces.service.js";
import { isValidEmail } from "../messages/addresses.js";
import { domainOf } from "../shared/email-address.js";
import { formatInboundMessage } from "./inbound-message.format.js";
import { hasSpamHeaders, spamHeaders } from "./spam-headers.js";
import type { AuthenticationResult } from "./authentication.js";
import type { InboundMessagesRepository, InboundRecord, InboundRule, InboundSearch } from "./inbound-messages.repository.js";
import type { InboundState } from "./inbound.schema.js";
import type { EventEmitter, Reaction } from "../events/outbox.js";
import type { DestinationPolicy } from "../webhooks/webhook-destinations.js";
import type { InboundDomainProof } from "./inbound-domain-proof.js";
import {
  InboundDomainInvalid,
  InboundHookUrlInvalid,
  InboundMessageNotFound,
  InboundNotBlocked,
  InboundNotRetryable,
  InboundRuleExists,
  InboundRuleInvalid,
  InboundRuleNotFound,
  InboundContentRemoved,
} from "./inbound.errors.js";

/** The inbound stream every workspace has (Postmark's default inbound stream id). */
export const INBOUND_STREAM = "inbound";
const DOMAIN_PATTERN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/;
const MAX_HOOK_URL_CHARS = 2048;

export interface InboundDeps {
  store: Store;
  clock: Clock;
  workspaces: WorkspacesService;
  repository: InboundMessagesRepository;
  outbox: EventEmitter;
  /** The shared inbound domain (<hash>@<this>). */
  inboundDomain: string;
  /** Whether DNS proves a workspace controls its custom inbound domain (inbound-domain-proof.ts). */
  domainProof: InboundDomainProof;
  /**
   * Why a domain may not be any workspace's inbound domain (it is the server's own: its host name,
   * a return-path or sending domain), or null when it may.
   */
  reservedDomain(domain: string): Promise<string | null>;
  /** Where webhooks may be posted; a hook URL naming another IP address is refused when saved. */
  hookDestinations: Pick<DestinationPolicy, "allows">;
}

/** The webhook kind of inbound messages (see src/webhooks/). */
export const INBOUND_WEBHOOK = "inbound";

export interface ReceivedInbound {
  workspace: Workspace;
  mailFrom: string;
  /** The envelope recipient this copy is for. */
  recipient: string;
  raw: Buffer;
  auth: AuthenticationResult;
}

export class InboundService {
  constructor(private readonly deps: InboundDeps) {}

  /** The workspace an envelope recipient reaches: <hash>[+mailbox]@<shared domain>, or anyone@<custom inbound domain>. */
  async route(recipient: string): Promise<Workspace | null> {
    const at = recipient.lastIndexOf("@");
    if (at <= 0) return null;
    const domain = recipient.slice(at + 1).toLowerCase();
    if (domain === this.deps.inboundDomain) {
      const hash = recipient.slice(0, at).split("+")[0]!.toLowerCase();
      return /^[0-9a-f]{32}$/.test(hash) ? this.deps.workspaces.findByInboundHash(hash) : null;
    }
    // A custom domain receives mail only once its DNS proves the workspace controls it, and never
    // when it is one of the server's own (a value saved before such domains were refused).
    const workspace = await this.deps.workspaces.findByInboundDomain(domain);
    if (!workspace || (await this.deps.reservedDomain(domain)) !== null) return null;
    const { inboundHash } = await this.deps.workspaces.inboundSettings(workspace.id);
    return (await this.deps.domainProof.verified(domain, inboundHash)) ? workspace : null;
  }

  /** Stores one received message for one recipient; resolves once it is committed. */
  async receive(input: ReceivedInbound): Promise<{ id: string; state: InboundState }> {
    const id = newId();
    const raw = Buffer.concat([Buffer.from(input.auth.headers, "utf8"), input.raw]);
    const payload = await formatInboundMessage(raw, { mailFrom: input.mailFrom, recipient: input.recipient }, { messageId: id, messageStream: INBOUND_STREAM });
    // X-Spam-* headers from the sender are not trusted (anyone can write "X-Spam-Status: No"):
    // they are replaced by ours, derived from the authentication results, as SpamAssassin
    // replaces them. hasSpamHeaders tells whether there were any, for the log.
    if (hasSpamHeaders(payload.Headers)) payload.Headers = payload.Headers.filter((h) => !/^x-spam-/i.test(h.Name));
    const settings = await this.deps.workspaces.inboundSettings(input.workspace.id);
    // The workspace's threshold (Postmark's InboundSpamThreshold; 0 = off) also sets where
    // X-Spam-Status turns to Yes, so that the header agrees with the block.
    const { inboundSpamThreshold: threshold } = await this.deps.workspaces.settings(input.workspace.id);
    const spam = spamHeaders(input.auth.verdicts, threshold > 0 ? threshold : undefined);
    payload.Headers.push(...spam);
    const score = Number(spam.find((h) => h.Name === "X-Spam-Score")?.Value ?? 0);
    const sender = (payload.From || input.mailFrom).toLowerCase();
    const rule = sender ? await this.deps.repository.matchingRule(this.deps.store.db, input.workspace.id, sender, domainOf(sender)) : null;
    const blockedReason = rule
      ? `The sender matches the inbound rule '${rule}'.`
      : threshold > 0 && score > threshold
        ? `The spam score ${score.toFixed(1)} is above the inbound spam threshold ${threshold}.`
        : null;
    const now = this.deps.clock.now();
    const state: InboundState = blockedReason ? "blocked" : settings.inboundHookUrl ? "pending" : "stored";
    await this.deps.store.write(async (trx) => {
      await this.deps.repository.insert(trx, {
        id,
        workspace_id: input.workspace.id,
        stream: INBOUND_STREAM,
        recipient: input.recipient.toLowerCase(),
        mailbox_hash: payload.MailboxHash,
        from_email: sender,
        subject: payload.Subject,
        tag: payload.Tag || null,
        state,
        blocked_reason: blockedReason,
        payload_json: JSON.stringify(payload),
        mime: raw,
        received_at: now,
      });
      await this.deps.outbox.emit(trx, [
        { type: "inbound.received", workspaceId: input.workspace.id, messageId: id, recipient: input.recipient.toLowerCase(), data: { stream: INBOUND_STREAM, blocked: state === "blocked", hook: state === "pending" } },
      ]);
    });
    return { id, state };
  }

  search(query: InboundSearch): Promise<{ total: number; records: InboundRecord[] }> {
    return this.deps.repository.search(this.deps.store.db, query);
  }

  async get(workspaceId: string, id: string): Promise<InboundRecord> {
    const record = await this.deps.repository.findById(this.deps.store.db, workspaceId, id);
    if (!record) throw InboundMessageNotFound(`No inbound message with id '${id}'.`);
    return record;
  }

  /** The message, when its content is still kept: one whose content retention removed cannot be posted again. */
  private async postable(workspaceId: string, id: string): Promise<InboundRecord> {
    const record = await this.get(workspaceId, id);
    if (record.bodyRemovedAt !== null) throw InboundContentRemoved(`The content of inbound message '${id}' is no longer kept (POSTHORN_BODY_RETENTION), so it cannot be posted again.`);
    return record;
  }

  /** Posts a failed message's webhook again (Postmark: PUT /messages/inbound/{id}/retry). */
  async retry(workspaceId: string, id: string): Promise<void> {
    await this.postable(workspaceId, id);
    const scheduled = await this.deps.store.write(async (trx) => {
      if (!(await this.deps.repository.moveState(trx, workspaceId, id, ["failed"], "pending"))) return false;
      await this.deps.outbox.emit(trx, [{ type: "inbound.retried", workspaceId, messageId: id, recipient: null, data: {} }]);
      return true;
    });
    if (!scheduled) throw InboundNotRetryable(`The inbound message '${id}' has not failed; only failed messages can be retried.`);
  }

  /** Lets a blocked message through: it is posted as if no rule had matched. */
  async bypass(workspaceId: string, id: string): Promise<void> {
    await this.postable(workspaceId, id);
    const scheduled = await this.deps.store.write(async (trx) => {
      if (!(await this.deps.repository.moveState(trx, workspaceId, id, ["blocked"], "pending"))) return false;
      await this.deps.outbox.emit(trx, [{ type: "inbound.bypassed", workspaceId, messageId: id, recipient: null, data: {} }]);
      return true;
    });
    if (!scheduled) throw InboundNotBlocked(`The inbound message '${id}' is not blocked.`);
  }

  /** What the webhooks domain posts for an inbound message: its payload, to the workspace's InboundHookUrl as it is now. */
  webhookSource(): { kind: string; target(workspaceId: string, id: string): Promise<{ url: string; body: string } | null> } {
    return {
      kind: INBOUND_WEBHOOK,
      target: async (workspaceId, id) => {
        const settings = await this.deps.workspaces.inboundSettings(workspaceId);
        if (!settings.inboundHookUrl) return null;
        const record = await this.deps.repository.findById(this.deps.store.db, workspaceId, id);
        if (!record) return null;
        // RawEmail (Postmark's RawEmailEnabled) is read from the stored message at each post, so
        // the stored payload is not doubled and the setting holds for posts still due.
        if ((await this.deps.workspaces.settings(workspaceId)).rawEmailEnabled) {
          const mime = await this.deps.repository.mime(this.deps.store.db, workspaceId, id);
          if (mime) record.payload.RawEmail = mime.toString("utf8");
        }
        return { url: settings.inboundHookUrl, body: JSON.stringify(record.payload) };
      },
    };
  }

  /** The message's state follows its webhook's outcome. */
  hookOutcomeReaction(): Reaction {
    const repository = this.deps.repository;
    const STATES = { "webhook.posted": "posted", "webhook.retrying": "retrying", "webhook.failed": "failed", "webhook.dropped": "stored" } as const;
    return {
      name: "inbound: state follows the webhook",
      types: ["webhook.posted", "webhook.retrying", "webhook.failed", "webhook.dropped"],
      async handle(trx, events) {
        for (const e of events) {
          if ((e.type === "webhook.posted" || e.type === "webhook.retrying" || e.type === "webhook.failed" || e.type === "webhook.dropped") && e.data.kind === INBOUND_WEBHOOK) {
            await repository.setState(trx, e.workspaceId, e.messageId!, STATES[e.type]);
          }
        }
      },
    };
  }

  listRules(workspaceId: string, page: { count: number; offset: number }): Promise<{ total: number; rules: InboundRule[] }> {
    return this.deps.repository.listRules(this.deps.store.db, workspaceId, page);
  }

  async createRule(workspaceId: string, input: unknown): Promise<{ id: number; rule: string }> {
    const rule = typeof input === "string" ? input.trim().toLowerCase() : "";
    if (!(isValidEmail(rule) || DOMAIN_PATTERN.test(rule))) throw InboundRuleInvalid(`Invalid inbound rule '${String(input ?? "")}': use an email address or a domain name.`);
    return this.deps.store.write(async (trx) => {
      if (await this.deps.repository.findRule(trx, workspaceId, rule)) throw InboundRuleExists(`The inbound rule '${rule}' already exists.`);
      return { id: await this.deps.repository.insertRule(trx, workspaceId, rule, this.deps.clock.now()), rule };
    });
  }

  /** Deletes a rule and returns its text. */
  async deleteRule(workspaceId: string, id: number): Promise<string> {
    const deleted = await this.deps.store.write((trx) => this.deps.repository.deleteRule(trx, workspaceId, id));
    if (deleted === null) throw InboundRuleNotFound(`No inbound rule with id ${id}.`);
    return deleted;
  }

  /** The workspace's inbound address on the shared domain, and its settings with whether its custom domain is proven. */
  async settings(workspaceId: string): Promise<InboundSettings & { inboundAddress: string; inboundDomainVerified: boolean }> {
    const settings = await this.deps.workspaces.inboundSettings(workspaceId);
    const verified = settings.inboundDomain !== null && (await this.deps.domainProof.verified(settings.inboundDomain, settings.inboundHash));
    return { ...settings, inboundAddress: `${settings.inboundHash}@${this.deps.inboundDomain}`, inboundDomainVerified: verified };
  }

  /** Validates and sets the inbound domain and webhook URL ("" or null clears one). */
  async updateSettings(workspaceId: string, input: { inboundDomain?: unknown; inboundHookUrl?: unknown }): Promise<InboundSettings & { inboundAddress: string; inboundDomainVerified: boolean }> {
    const changes: { inboundDomain?: string | null; inboundHookUrl?: string | null } = {};
    if (input.inboundHookUrl !== undefined) changes.inboundHookUrl = parseHookUrl(input.inboundHookUrl, this.deps.hookDestinations);
    if (input.inboundDomain !== undefined) changes.inboundDomain = parseInboundDomain(input.inboundDomain, this.deps.inboundDomain);
    if (changes.inboundDomain) {
      // The server's own domains carry its bounces, complaints and mailer-daemon mail; a workspace
      // holding one would receive them, and forged VERP addresses with them.
      const reserved = await this.deps.reservedDomain(changes.inboundDomain);
      if (reserved) throw InboundDomainInvalid(`'${changes.inboundDomain}' cannot be an inbound domain: ${reserved}.`);
    }
    await this.deps.workspaces.updateInbound(workspaceId, changes);
    return this.settings(workspaceId);
  }
}

function parseHookUrl(value: unknown, destinations: Pick<DestinationPolicy, "allows">): string | null {
  if (value === null || value === "") return null;
  if (typeof value !== "string" || value.length > MAX_HOOK_URL_CHARS) throw InboundHookUrlInvalid();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw InboundHookUrlInvalid(`Invalid inbound webhook URL '${value}'.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw InboundHookUrlInvalid(`Invalid inbound webhook URL '${value}': use http or https.`);
  // Credentials are sent as Basic auth after percent-decoding; a malformed escape ("%zz") would
  // only fail at the first post, so it is refused here, where the user can still correct it.
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    throw InboundHookUrlInvalid(`Invalid inbound webhook URL '${value}': the credentials contain a malformed %-escape.`);
  }
  // A literal IP (after URL parsing, which turns 2130706433, 0x7f.1 and 017700000001 into
  // 127.0.0.1) can be judged now; a host name is judged by what it resolves to at each post.
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host) !== 0 && !destinations.allows(host)) {
    throw InboundHookUrlInvalid(`Invalid inbound webhook URL '${value}': webhooks are posted to public addresses only.`);
  }
  return url.toString();
}

function parseInboundDomain(value: unknown, sharedDomain: string): string | null {
  if (value === null || value === "") return null;
  const domain = typeof value === "string" ? value.trim().toLowerCase().replace(/\.$/, "") : "";
  if (!DOMAIN_PATTERN.test(domain)) throw InboundDomainInvalid(`Invalid inbound domain '${String(value)}'.`);
  // The shared domain routes by hash; a workspace cannot claim all of it.
  if (domain === sharedDomain) throw InboundDomainInvalid(`'${domain}' is the shared inbound domain; use the inbound address instead.`);
  return domain;
}
