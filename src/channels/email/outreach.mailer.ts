// The outreach mailer (outreach.port.ts): mail to people from journeys, broadcasts and
// transactional messages. For each mail, in order:
//   1. the person (none: skipped person_not_found) and their address (rendered `to`, else their
//      email; none: skipped no_email);
//   2. unless the mail is transactional: unsubscribed, suppressed (the person, or the address on
//      the stream), a topic set false → skipped;
//   3. the content rendered (outreach-render.ts); a render error fails the mail alone;
//   4. unless transactional: quiet hours in the person's zone → held until they end; message
//      limits (counted sends in the ledger) → held until there is room, or skipped, as the mail asks;
//   5. what passed is accepted by the one acceptance with its idempotency key, a CIO-Delivery-ID
//      field and, for send_at, deliveries due later; in that same transaction the limits are
//      checked again under per-person locks (a concurrent send for the same person may have taken
//      the place: then the whole batch is decided again), the ledger rows are written, and the
//      caller's alsoWrite runs — exactly once, also when nothing was accepted (then in a
//      transaction of its own).
import type { Db, Store } from "../../store/store.js";
import type { Clock } from "../../shared/clock.js";
import type { PosthornError } from "../../shared/errors.js";
import { isPosthornError } from "../../shared/errors.js";
import type { LiquidRenderer } from "../../templates/liquid/liquid.renderer.js";
import type { TemplatesService } from "../../templates/templates.service.js";
import type { Person, PeopleReader } from "../../people/people.port.js";
import type { SuppressionsService } from "../../suppressions/suppressions.service.js";
import type { Workspace } from "../../workspaces/workspaces.repository.js";
import type { AcceptOutcome, AcceptService } from "../../messages/accept/accept.service.js";
import { structuredSubmission, type Submission } from "../../messages/accept/submission.js";
import { validateMessage, DEFAULT_STREAM } from "../../messages/message.validation.js";
import { InactiveRecipients } from "../../messages/accept.errors.js";
import { addressKey } from "../../shared/email-address.js";
import { checkAddrSpec } from "../../messages/addresses.js";
import type { MessageLimits, MessageLimitsSettings, OutreachMail, OutreachMailer, OutreachOutcome } from "./outreach.port.js";
import type { NewOutreachRow, OutreachLedgerRepository } from "./outreach-ledger.repository.js";
import { renderContent, scopeOf, type RenderedMail } from "./outreach-render.js";
import { quietUntil } from "./quiet-hours.js";
import { roomAt } from "./message-limits.js";
import { OutreachContentInvalid } from "./outreach.errors.js";

export interface OutreachMailerDeps {
  store: Store;
  clock: Clock;
  people: Pick<PeopleReader, "getMany">;
  renderer: LiquidRenderer;
  templates: Pick<TemplatesService, "renderForSending">;
  suppressions: Pick<SuppressionsService, "findSuppressed">;
  workspaces: { findById(id: string): Promise<Workspace | null> };
  accept: Pick<AcceptService, "acceptEach">;
  limits: MessageLimitsSettings;
  ledger: OutreachLedgerRepository;
}

/**
 * What a transactional send (Customer.io's POST /v1/send/email) adds to a mail beyond the port's
 * content: Bcc, attachments (base64, Postmark's limits through acceptance), tracking as asked, a
 * preheader. Only this domain's transactional messages pass it; journeys and broadcasts do not.
 */
export interface MailExtras {
  bcc: string | null;
  attachments: Array<{ name: string; content: string; contentType: string | null }>;
  tracked: boolean;
  preheader: string | null;
}

export type ExtendedMail = OutreachMail & { extras?: MailExtras };

/** The Broadcasts stream every workspace has (src/workspaces/default-streams.ts): marketing mail's default. */
export const DEFAULT_MARKETING_STREAM = "broadcast";
/** Times a batch is decided again after a concurrent send took a person's last place under a limit. */
const MOST_LIMIT_RETRIES = 5;

/** Thrown inside the accepting transaction when a person's limit was taken meanwhile; the batch is decided again. */
class LimitTaken extends Error {}

interface Plan {
  mail: ExtendedMail;
  person: Person | null;
  /** Decided before acceptance (skipped, held, failed); null: to be accepted. */
  outcome: OutreachOutcome | null;
  recipient: string;
  subject: string;
  stream: string;
  counted: boolean;
  submission: Submission | null;
  workspace: Workspace | null;
}

export class StoredOutreachMailer implements OutreachMailer {
  constructor(private readonly deps: OutreachMailerDeps) {}

  async send(mails: ExtendedMail[], alsoWrite?: (trx: Db, outcomes: OutreachOutcome[]) => Promise<void>): Promise<OutreachOutcome[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(mails, alsoWrite);
      } catch (err) {
        if (err instanceof LimitTaken && attempt < MOST_LIMIT_RETRIES) continue;
        throw err;
      }
    }
  }

  private async attempt(mails: ExtendedMail[], alsoWrite?: (trx: Db, outcomes: OutreachOutcome[]) => Promise<void>): Promise<OutreachOutcome[]> {
    const now = this.deps.clock.now();
    // Looked up once per workspace of the call: a batch of many runs mostly shares one.
    const limits = new Map<string, MessageLimits>();
    const workspaces = new Map<string, Workspace | null>();
    for (const id of new Set(mails.map((m) => m.workspaceId))) {
      limits.set(id, await this.deps.limits.get(id));
      workspaces.set(id, await this.deps.workspaces.findById(id));
    }
    // The people of the call, read together: three statements per workspace rather than three
    // per mail (per-person reads were most of a journey batch's time, docs/journeys-benchmark.md).
    const people = new Map<string, Map<string, Person>>();
    for (const id of workspaces.keys()) people.set(id, await this.deps.people.getMany(id, mails.filter((m) => m.workspaceId === id).map((m) => m.personId)));
    // Planned together; the limits are applied after, in input order.
    const plans = await Promise.all(mails.map((mail) => this.plan(mail, people.get(mail.workspaceId)?.get(mail.personId) ?? null, limits.get(mail.workspaceId)!, workspaces.get(mail.workspaceId) ?? null, now)));
    await this.skipInactive(plans);
    await this.applyLimits(this.deps.store.db, plans, limits, now, false);

    const submitted = plans.filter((p) => p.outcome === null);
    let written = false;
    const finish = async (trx: Db, accepted: AcceptOutcome[]): Promise<OutreachOutcome[]> => {
      written = true;
      await this.settle(trx, submitted, accepted);
      await this.applyLimits(trx, submitted, limits, now, true);
      await this.deps.ledger.insert(trx, plans.flatMap((p) => ledgerRow(p, now) ?? []));
      const outcomes = plans.map((p) => p.outcome!);
      await alsoWrite?.(trx, outcomes);
      return outcomes;
    };
    if (submitted.length > 0) {
      const items = submitted.map((p) => ({ workspace: p.workspace!, submission: p.submission! }));
      const accepted = await this.deps.accept.acceptEach(items, async (trx, _refused, outcomes) => void (await finish(trx, outcomes)));
      // Nothing was written (every submission refused or a duplicate): the outcomes and the
      // caller's writes still commit together, in a transaction of their own.
      if (!written) return this.deps.store.writeGrouped((trx) => finish(trx, accepted));
      return plans.map((p) => p.outcome!);
    }
    return this.deps.store.writeGrouped((trx) => finish(trx, []));
  }

  /** Steps 1–4 for one mail: a decided outcome, or a submission to accept. */
  private async plan(mail: ExtendedMail, found: Person | null, limits: MessageLimits, workspace: Workspace | null, now: number): Promise<Plan> {
    const plan: Plan = { mail, person: null, outcome: null, recipient: "", subject: "", stream: "", counted: false, submission: null, workspace: null };
    const decided = (outcome: OutreachOutcome) => Object.assign(plan, { outcome });
    const transactional = mail.send.transactional;
    plan.stream = mail.send.stream ?? (transactional ? DEFAULT_STREAM : DEFAULT_MARKETING_STREAM);
    const person = (plan.person = found);
    if (!person) return decided({ kind: "skipped", reason: "person_not_found", detail: `No person ${mail.personId} in this workspace.` });
    if (!transactional) {
      if (person.unsubscribed) return decided({ kind: "skipped", reason: "unsubscribed", detail: "The person is unsubscribed." });
      if (person.suppressed) return decided({ kind: "skipped", reason: "suppressed", detail: "The person is suppressed." });
      if (mail.send.topic && person.topics[mail.send.topic] === false) return decided({ kind: "skipped", reason: "topic_unsubscribed", detail: `The person is unsubscribed from ${mail.send.topic}.` });
    }
    const rendered = await renderContent(this.deps, mail.workspaceId, mail.content, scopeOf(person, mail.scope));
    if (isPosthornError(rendered)) return decided({ kind: "failed", error: rendered });
    plan.subject = rendered.subject;
    const to = rendered.to?.trim() || person.email;
    if (!to) return decided({ kind: "skipped", reason: "no_email", detail: "The person has no email address and the mail names none." });
    plan.recipient = to;
    plan.workspace = workspace;
    if (!workspace) return decided({ kind: "skipped", reason: "person_not_found", detail: "The workspace no longer exists." });
    const submission = submissionOf(mail, rendered, to, plan.stream);
    if (isPosthornError(submission)) return decided({ kind: "failed", error: submission });
    if (mail.traceparent) submission.traceparent = mail.traceparent;
    plan.submission = submission;
    if (!transactional) {
      const quiet = mail.quietHours && limits.quietHours ? quietUntil(limits.quietHours, person.attributes.timezone, now) : null;
      if (quiet !== null) return decided({ kind: "held", until: quiet, reason: "quiet_hours" });
      plan.counted = mail.send.countsTowardLimit && limits.caps.length > 0;
    }
    return plan;
  }

  /** Marketing mail to an address inactive on its stream is skipped: one lookup per workspace and stream. */
  private async skipInactive(plans: Plan[]): Promise<void> {
    const groups = new Map<string, Plan[]>();
    for (const p of plans) {
      // Held by quiet hours or not yet decided: a skip is final and is said at once.
      if ((p.outcome !== null && p.outcome.kind !== "held") || p.mail.send.transactional) continue;
      const id = `${p.mail.workspaceId}\u0000${p.stream}`;
      groups.set(id, [...(groups.get(id) ?? []), p]);
    }
    for (const list of groups.values()) {
      const { workspaceId } = list[0]!.mail;
      const keyOf = (p: Plan) => addressKey(checkAddrSpec(p.recipient) ?? p.recipient);
      const inactive = await this.deps.suppressions.findSuppressed(this.deps.store.db, workspaceId, list[0]!.stream, [...new Set(list.map(keyOf))]);
      if (inactive.size === 0) continue;
      for (const p of list) {
        if (inactive.has(keyOf(p))) p.outcome = { kind: "skipped", reason: "suppressed", detail: `${p.recipient} is inactive on the stream ${p.stream}.` };
      }
    }
  }

  /**
   * Step 4's limits for the plans still to accept, in input order (a person's second mail of the
   * batch counts the first). Inside the transaction (`locked`), after the people's locks are taken,
   * a mail that no longer fits means a concurrent send took the place: LimitTaken.
   */
  private async applyLimits(db: Db, plans: Plan[], limits: Map<string, MessageLimits>, now: number, locked: boolean): Promise<void> {
    const counted = plans.filter((p) => p.counted && (locked ? p.outcome?.kind === "accepted" && !p.outcome.duplicate : p.outcome === null));
    const byWorkspace = new Map<string, Plan[]>();
    for (const p of counted) byWorkspace.set(p.mail.workspaceId, [...(byWorkspace.get(p.mail.workspaceId) ?? []), p]);
    for (const [workspaceId, list] of byWorkspace) {
      const caps = limits.get(workspaceId)!.caps;
      const longest = Math.max(...caps.map((c) => c.periodMs));
      const people = list.map((p) => p.mail.personId);
      if (locked) await this.deps.ledger.lockPeople(db, workspaceId, people, now);
      const sends = await this.deps.ledger.countedSince(db, workspaceId, people, now - longest);
      for (const p of list) {
        const mine = sends.get(p.mail.personId) ?? [];
        const room = roomAt(caps, mine, 1, now);
        if (room <= now) {
          mine.push(now);
          sends.set(p.mail.personId, mine);
          continue;
        }
        if (locked) throw new LimitTaken();
        p.outcome = p.mail.overLimit === "hold" ? { kind: "held", until: room, reason: "message_limit" } : { kind: "skipped", reason: "message_limit", detail: `Over the workspace's message limits until ${new Date(room).toISOString()}.` };
      }
    }
  }

  /** Acceptance's outcomes as outreach outcomes; a duplicate's delivery id is its ledger row's. */
  private async settle(trx: Db, submitted: Plan[], accepted: AcceptOutcome[]): Promise<void> {
    const duplicates = accepted.flatMap((o) => (o.ok && o.duplicate ? [o.messageId] : []));
    const earlier = new Map<string, string>();
    if (duplicates.length > 0) for (const [id, row] of await this.deps.ledger.byMessageIds(trx, duplicates)) earlier.set(id, row.delivery_id ?? "");
    // A key repeated within this call: its first mail's message is being written now.
    for (const o of accepted) if (o.ok && !o.duplicate && o.deliveryId) earlier.set(o.messageId, o.deliveryId);
    submitted.forEach((p, i) => {
      const o = accepted[i]!;
      const refusal: PosthornError | null = o.ok ? null : o.error;
      if (o.ok) p.outcome = { kind: "accepted", messageId: o.messageId, deliveryId: o.duplicate ? (earlier.get(o.messageId) ?? "") : (o.deliveryId ?? ""), duplicate: o.duplicate === true };
      else if (refusal!.code === InactiveRecipients.code) p.outcome = { kind: "skipped", reason: "suppressed", detail: refusal!.message };
      // Acceptance's own refusal (a forbidden attachment, an unknown stream): the mail cannot be
      // sent as it is, in outreach's words, with acceptance's code kept as the cause.
      else p.outcome = { kind: "failed", error: OutreachContentInvalid(`The mail was refused: ${refusal!.message}`, { field: typeof refusal!.details.field === "string" ? refusal!.details.field : null, cause: refusal!.code }) };
    });
  }
}

function submissionOf(mail: ExtendedMail, rendered: RenderedMail, to: string, stream: string): Submission | PosthornError {
  const from = rendered.from?.trim() || mail.send.from;
  if (!from) return OutreachContentInvalid("The mail has no From address: give one in the content or the send defaults.", { field: "from" });
  const extras = mail.extras;
  // Marketing mail is tracked (its opens and clicks are the journey's message conditions);
  // transactional mail as its send asks, else as the stream's and workspace's settings say.
  const tracked = extras ? extras.tracked : !mail.send.transactional;
  const html = rendered.html !== null && extras?.preheader ? withPreheader(rendered.html, extras.preheader) : rendered.html;
  try {
    const message = validateMessage({
      from,
      to,
      cc: null,
      bcc: extras?.bcc ?? null,
      replyTo: rendered.replyTo?.trim() || null,
      subject: rendered.subject,
      htmlBody: html,
      textBody: rendered.text,
      tag: mail.tag,
      headers: Object.entries(rendered.headers).map(([name, value]) => ({ name, value })),
      attachments: (extras?.attachments ?? []).map((a) => ({ name: a.name, content: a.content, contentType: a.contentType, contentId: null })),
      metadata: {},
      stream,
      trackOpens: tracked,
      trackLinks: tracked ? "html-only" : "none",
    });
    return { ...structuredSubmission(message), door: "outreach", idempotencyKey: mail.idempotencyKey, notBefore: mail.sendAt, stampDeliveryId: true };
  } catch (err) {
    if (isPosthornError(err)) return OutreachContentInvalid(`The rendered mail cannot be sent: ${err.message}`, { field: null, cause: err.code });
    throw err;
  }
}

/** The preheader: the inbox's preview line, as the first, hidden text of the HTML body (as Customer.io writes it). */
function withPreheader(html: string, preheader: string): string {
  const span = `<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">${escapeHtml(preheader)}</div>`;
  const body = /<body[^>]*>/i.exec(html);
  return body ? html.slice(0, body.index + body[0].length) + span + html.slice(body.index + body[0].length) : span + html;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** The ledger row of a decided plan: accepted (not a duplicate) or skipped; held and failed mail leave none. */
function ledgerRow(p: Plan, now: number): NewOutreachRow | null {
  const o = p.outcome!;
  if (o.kind !== "skipped" && !(o.kind === "accepted" && !o.duplicate)) return null;
  const origin = p.mail.origin;
  return {
    workspace_id: p.mail.workspaceId,
    message_id: o.kind === "accepted" ? o.messageId : null,
    delivery_id: o.kind === "accepted" ? o.deliveryId || null : null,
    person_id: p.mail.personId,
    recipient: p.recipient,
    subject: p.subject,
    origin_kind: origin.kind,
    journey_id: origin.kind === "journey" ? origin.journeyId : null,
    journey_version: origin.kind === "journey" ? origin.version : null,
    step_id: origin.kind === "journey" ? origin.stepId : null,
    run_id: origin.kind === "journey" ? origin.runId : null,
    broadcast_id: origin.kind === "broadcast" ? origin.broadcastId : null,
    transactional_id: origin.kind === "transactional" ? origin.transactionalId : null,
    counted: o.kind === "accepted" && p.counted ? 1 : 0,
    skip_reason: o.kind === "skipped" ? o.reason : null,
    delivered_at: null,
    opened_at: null,
    clicked_at: null,
    bounced_at: null,
    unsubscribed_at: null,
    created_at: now,
    updated_at: now,
  };
}
