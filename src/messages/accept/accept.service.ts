// Acceptance: the one way in for every message, whichever door it came by (the Postmark API's
// structured JSON, SMTP submission's raw MIME, and later journeys). A call takes submissions
// through the steps in order — validate (acceptance.policy.ts), suppress, compose, then whatever
// rewrites are configured — and commits what passed: the message, its MIME and one delivery row
// per recipient, in one durable commit shared with concurrent calls (Store.writeGrouped). The
// caller's success answer (HTTP 200, SMTP 250) may be given only after this resolves.
import type { Db, Store } from "../../store/store.js";
import type { Clock } from "../../shared/clock.js";
import { newMessageId } from "../../shared/ids.js";
import type { PosthornError } from "../../shared/errors.js";
import type { Workspace } from "../../workspaces/workspaces.service.js";
import type { Address } from "../message.types.js";
import { deliveryKey, type MessagesRepository } from "../messages.repository.js";
import type { NewDeliveryRow } from "../../store/schema.js";
import type { DeliveryHandoff, HandedDelivery } from "./delivery-handoff.js";
import type { EventEmitter } from "../../events/outbox.js";
import type { AcceptStep } from "./accept.step.js";
import type { Candidate, MessageView } from "./candidate.js";
import type { Submission } from "./submission.js";
import { viewOfRaw, viewOfStructured } from "./message-view.js";
import { checkContent } from "./acceptance.policy.js";
import { acceptedRows } from "./message-rows.js";
import { anyKeyed, claimKeys, settleRepeats } from "./idempotency.js";
import { markPerDeliveryIds, stampDeliveryIds, wantsDeliveryId } from "./delivery-id-field.js";
import type { PublicDeliveryIds } from "../public-delivery-ids.js";
import { needsPerDelivery } from "../per-delivery.js";
import { tellAccepted, type AcceptObserver } from "./accept-observer.js";
import type { Spans } from "../../shared/spans.js";

export interface Accepted {
  ok: true;
  messageId: string;
  submittedAt: number;
  to: Address[];
  cc: Address[];
  bcc: Address[];
  /** Recipients not attempted because they are inactive on the stream. */
  suppressed: string[];
  /** Its idempotency key was accepted before: this is that earlier message (recipients as this submission named them), and nothing new was written. */
  duplicate?: boolean;
  /** With Submission.stampDeliveryId: the signed public delivery id the message carries (CIO-Delivery-ID); absent for a duplicate or a sandboxed message. */
  deliveryId?: string;
}

export type AcceptOutcome = Accepted | { ok: false; error: PosthornError };

export interface AcceptDeps {
  store: Store;
  clock: Clock;
  messages: MessagesRepository;
  outbox: EventEmitter;
  /** In order; see accept.step.ts. */
  steps: AcceptStep[];
  /** Ask for failure notices (RFC 3464) for submissions that do not say (POSTHORN_DSN_FOR_API). */
  failureNoticesByDefault: boolean;
  /** Called after a commit that created deliveries not handed off, so a local MTA can look for work at once. */
  onQueued?: () => void;
  /** The MTA worker of this process, if one runs and has room: new deliveries go straight to it. */
  handoff?: () => DeliveryHandoff | null;
  /** Signs the delivery ids that submissions asking for a CIO-Delivery-ID field carry. */
  deliveryIds?: PublicDeliveryIds;
  /** Told what each commit accepted (the metrics). */
  observer?: AcceptObserver;
  /**
   * Traces (src/shared/spans.ts): each acceptance in a `message.accept` span whose traceparent is
   * stored with the message, so that its delivery attempts join its trace. Absent: tracing is off.
   */
  spans?: Spans;
}

/** Most single acceptances decided and written together (see acceptOne). */
const MOST_COALESCED = 500;

interface Waiting {
  workspace: Workspace;
  submission: Submission;
  traceparent: string | null;
  resolve: (accepted: Accepted) => void;
  reject: (err: unknown) => void;
}

export class AcceptService {
  /** acceptOne calls of this turn of the event loop, not yet decided. */
  private waiting: Waiting[] = [];

  constructor(private readonly deps: AcceptDeps) {}

  /**
   * Accepts one message or throws its coded error. Calls made in the same turn of the event loop
   * (concurrent SMTP sessions, concurrent API requests) are taken through the steps together and
   * written with one insert per table, as a batch is: one statement per table instead of one per
   * message was the largest saving on the busiest thread under load. Each call still has its own
   * outcome: a refusal refuses only its own message, and if the shared write fails, each message
   * is written again alone, so one that cannot be stored fails no other.
   */
  acceptOne(workspace: Workspace, submission: Submission): Promise<Accepted> {
    const spans = this.deps.spans;
    if (!spans) return this.wait(workspace, submission, null);
    const door = doorOf(submission);
    return spans.inSpan(
      "message.accept",
      { kind: door === "smtp" ? "server" : "internal", attributes: { "posthorn.door": door, "posthorn.workspace.id": workspace.id }, after: acceptedAttributes },
      (traceparent) => this.wait(workspace, submission, traceparent),
    );
  }

  private wait(workspace: Workspace, submission: Submission, traceparent: string | null): Promise<Accepted> {
    return new Promise<Accepted>((resolve, reject) => {
      if (this.waiting.push({ workspace, submission, traceparent, resolve, reject }) === 1) setImmediate(() => void this.acceptWaiting());
    });
  }

  /**
   * Accepts each message independently (the outcomes are in input order) and writes those that pass
   * all or none. `alsoWrite` runs in the same transaction when something is written, told how many
   * submissions were refused, so a caller's own record of the acceptance (a bulk send's progress)
   * commits or fails with the messages; it may throw to refuse the commit. It is also given every
   * outcome (in input order) as it will be returned, duplicates decided in the transaction included.
   */
  acceptMany(workspace: Workspace, submissions: Submission[], alsoWrite?: (trx: Db, refused: number, outcomes: AcceptOutcome[]) => Promise<void>): Promise<AcceptOutcome[]> {
    return this.acceptEach(submissions.map((submission) => ({ workspace, submission })), alsoWrite);
  }

  /** acceptMany for submissions of several workspaces (the outreach mailer's batches of many runs). */
  acceptEach(items: Array<{ workspace: Workspace; submission: Submission }>, alsoWrite?: (trx: Db, refused: number, outcomes: AcceptOutcome[]) => Promise<void>): Promise<AcceptOutcome[]> {
    const spans = this.deps.spans;
    if (!spans || items.length === 0) return this.acceptEachIn(items, alsoWrite, null);
    return spans.inSpan(
      "message.accept",
      { attributes: { "posthorn.door": doorOf(items[0]!.submission), "posthorn.messages": items.length }, after: (outcomes) => ({ "posthorn.accepted": outcomes.filter((o) => o.ok).length }) },
      (traceparent) => this.acceptEachIn(items, alsoWrite, traceparent),
    );
  }

  private async acceptEachIn(items: Array<{ workspace: Workspace; submission: Submission }>, alsoWrite: ((trx: Db, refused: number, outcomes: AcceptOutcome[]) => Promise<void>) | undefined, traceparent: string | null): Promise<AcceptOutcome[]> {
    const now = this.deps.clock.now();
    const candidates = items.map((item, index) => candidateOf(item.workspace, item.submission, index, now, item.submission.traceparent ?? traceparent));
    const fresh = anyKeyed(candidates) ? await settleRepeats(this.deps.store.db, this.deps.messages, candidates) : candidates;
    await this.decide(fresh);
    const passed = fresh.filter((c) => c.error === null);
    const refused = fresh.length - passed.length;
    if (passed.length > 0) await this.persist(passed, now, alsoWrite && ((trx) => alsoWrite(trx, refused, candidates.map((c) => outcomeOf(c, now)))));
    return candidates.map((c) => outcomeOf(c, now));
  }

  private async acceptWaiting(): Promise<void> {
    const calls = this.waiting.splice(0, MOST_COALESCED);
    if (this.waiting.length > 0) setImmediate(() => void this.acceptWaiting());
    const now = this.deps.clock.now();
    // Reading one message's content is not expected to fail; if it does, only that call fails.
    const candidates = calls.flatMap((call, index) => {
      try {
        return [candidateOf(call.workspace, call.submission, index, now, call.traceparent)];
      } catch (err) {
        call.reject(err);
        return [];
      }
    });
    let fresh = candidates;
    try {
      if (anyKeyed(candidates)) fresh = await settleRepeats(this.deps.store.db, this.deps.messages, candidates);
      await this.decide(fresh);
    } catch (err) {
      for (const c of candidates) calls[c.index]!.reject(err);
      return;
    }
    const passed = fresh.filter((c) => c.error === null);
    const failed = new Map<Candidate, unknown>();
    if (passed.length > 0) {
      try {
        await this.persist(passed, now);
      } catch (err) {
        if (passed.length === 1) failed.set(passed[0]!, err);
        else await Promise.all(passed.map((c) => this.persist([c], now).catch((alone: unknown) => failed.set(c, alone))));
      }
    }
    for (const c of candidates) {
      const call = calls[c.index]!;
      const outcome = outcomeOf(c, now);
      const failure = failed.has(c) ? failed.get(c) : c.repeatOf && failed.has(c.repeatOf) ? failed.get(c.repeatOf) : undefined;
      if (failure !== undefined) call.reject(failure);
      else if (outcome.ok) call.resolve(outcome);
      else call.reject(outcome.error);
    }
  }

  /** Takes the candidates through the steps; each leaves refused (error set) or ready to write. */
  private async decide(candidates: Candidate[]): Promise<void> {
    for (const step of this.deps.steps) await step.run(candidates);
  }

  /**
   * Commits the candidates' rows and events in one durable commit shared with concurrent calls;
   * deliveries the local MTA has room for are written leased to it and handed over after the commit.
   */
  private async persist(passed: Candidate[], now: number, alsoWrite?: (trx: Db) => Promise<void>): Promise<void> {
    const stamp = this.deps.deliveryIds && wantsDeliveryId(passed) ? this.deps.deliveryIds : null;
    // Outreach mail to several: the field is composed per delivery (before the rows, which record it).
    if (stamp) markPerDeliveryIds(passed);
    const rows = acceptedRows(passed, now, this.deps.failureNoticesByDefault);
    // Deliveries due later (send_at) wait in the queue; only those due now may be handed over.
    const queued = rows.deliveries.filter((d) => d.state === "queued" && d.next_attempt_at <= now);
    const handoff = queued.length > 0 ? (this.deps.handoff?.() ?? null) : null;
    const grant = handoff?.reserve(queued.length) ?? null;
    const handed: NewDeliveryRow[] = grant ? queued.slice(0, grant.granted) : [];
    for (const d of handed) {
      d.lease_owner = grant!.owner;
      d.next_attempt_at = grant!.leaseUntil;
    }
    const keyed = anyKeyed(passed);
    let ids: Map<string, number>;
    let written = rows;
    try {
      ids = await this.deps.store.writeGrouped(async (trx) => {
        written = keyed ? await claimKeys(trx, this.deps.messages, passed, rows) : rows;
        const inserted = await this.deps.messages.insertAccepted(trx, written.messages, written.deliveries, handed.length > 0 || stamp !== null);
        if (stamp) await stampDeliveryIds(trx, this.deps.messages, stamp, passed, inserted);
        await this.deps.outbox.emit(trx, written.events);
        await alsoWrite?.(trx);
        return inserted;
      });
    } catch (err) {
      if (grant) handoff!.release(grant.granted);
      throw err;
    }
    if (this.deps.observer) tellAccepted(this.deps.observer, passed, written.deliveries);
    if (grant) {
      // Every handed row has its id back; one without (which RETURNING would have to lose) stays
      // leased and comes back like a crashed worker's, rather than failing a committed acceptance.
      const taken = handed.flatMap((d) => handedDelivery(d, ids) ?? []);
      if (taken.length < grant.granted) handoff!.release(grant.granted - taken.length);
      if (taken.length > 0) handoff!.take(taken, new Map(passed.map((c) => [c.id, { envelopeFrom: c.view.envelopeFrom, author: c.view.from?.email ?? "", mime: c.stampedMime ?? c.mime!, dsn: c.submission.dsn, perDelivery: needsPerDelivery(c.perDelivery) ? c.perDelivery : null, tag: c.submission.tag, traceparent: c.traceparent }])));
    }
    if (queued.length > handed.length) this.deps.onQueued?.();
  }

  /**
   * The content rules alone, for requests that are validated but never accepted (Postmark's test
   * token): throws what acceptance would refuse the message for, stream and suppressions aside.
   */
  check(submission: Submission): MessageView {
    const view = viewOf(submission);
    checkContent(view);
    return view;
  }
}

function candidateOf(workspace: Workspace, submission: Submission, index: number, now: number, traceparent: string | null): Candidate {
  return { index, workspace, submission, id: newMessageId(now), view: viewOf(submission), stream: "", recipients: [], mime: null, error: null, traceparent };
}

function doorOf(submission: Submission): string {
  return submission.door ?? (submission.content.kind === "raw" ? "smtp" : "api");
}

/** What an acceptance span says of the message: its id and how many it goes to (no address). */
function acceptedAttributes(accepted: Accepted): Record<string, string | number | boolean> {
  return { "posthorn.message.id": accepted.messageId, "posthorn.recipients": accepted.to.length + accepted.cc.length + accepted.bcc.length, "posthorn.duplicate": accepted.duplicate === true };
}

function outcomeOf(c: Candidate, now: number): AcceptOutcome {
  if (c.repeatOf) {
    const first = outcomeOf(c.repeatOf, now);
    return first.ok ? { ...first, to: c.view.to, cc: c.view.cc, bcc: c.view.bcc, suppressed: [], duplicate: true } : first;
  }
  if (c.earlier) return { ok: true, messageId: c.earlier.messageId, submittedAt: c.earlier.submittedAt, to: c.view.to, cc: c.view.cc, bcc: c.view.bcc, suppressed: [], duplicate: true };
  if (c.error) return { ok: false, error: c.error };
  return {
    ...(c.deliveryId ? { deliveryId: c.deliveryId } : {}),
    ok: true,
    messageId: c.id,
    submittedAt: now,
    to: c.view.to,
    cc: c.view.cc,
    bcc: c.view.bcc,
    suppressed: c.recipients.filter((r) => r.suppressed).map((r) => r.email),
  };
}

function handedDelivery(d: NewDeliveryRow, ids: Map<string, number>): HandedDelivery | null {
  const id = ids.get(deliveryKey(d.message_id, d.recipient));
  if (id === undefined) return null;
  return { id, messageId: d.message_id, workspaceId: d.workspace_id, recipient: d.recipient, domain: d.domain, stream: d.stream ?? "outbound", attempts: 0, createdAt: d.created_at, leaseOwner: d.lease_owner! };
}

function viewOf(submission: Submission): MessageView {
  return submission.content.kind === "structured" ? viewOfStructured(submission.content.message) : viewOfRaw(submission.content);
}
