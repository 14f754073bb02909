// Acceptance: the one way in for every message, whichever door it came by (the Postmark API's
// structured JSON, SMTP submission's raw MIME, and later journeys). A call takes submissions
// through the steps in order — validate (acceptance.policy.ts), suppress, compose, then whatever
// rewrites are configured — and commits what passed: the message, its MIME and one delivery row
// per recipient, in one durable commit shared with concurrent calls (Store.writeGrouped). The
// caller's success answer (HTTP 200, SMTP 250) may be given only after this resolves.
import type { Store } from "../../store/store.js";
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

export interface Accepted {
  ok: true;
  messageId: string;
  submittedAt: number;
  to: Address[];
  cc: Address[];
  bcc: Address[];
  /** Recipients not attempted because they are inactive on the stream. */
  suppressed: string[];
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
}

export class AcceptService {
  constructor(private readonly deps: AcceptDeps) {}

  /** Accepts one message or throws its coded error. */
  async acceptOne(workspace: Workspace, submission: Submission): Promise<Accepted> {
    const [outcome] = await this.acceptMany(workspace, [submission]);
    if (!outcome!.ok) throw outcome!.error;
    return outcome!;
  }

  /** Accepts each message independently; the outcomes are in input order. */
  async acceptMany(workspace: Workspace, submissions: Submission[]): Promise<AcceptOutcome[]> {
    const now = this.deps.clock.now();
    const candidates: Candidate[] = submissions.map((submission, index) => ({
      index,
      workspace,
      submission,
      id: newMessageId(now),
      view: viewOf(submission),
      stream: "",
      recipients: [],
      mime: null,
      error: null,
    }));
    for (const step of this.deps.steps) await step.run(candidates);

    const passed = candidates.filter((c) => c.error === null);
    if (passed.length > 0) await this.persist(passed, now);
    return candidates.map((c) =>
      c.error
        ? { ok: false, error: c.error }
        : {
            ok: true,
            messageId: c.id,
            submittedAt: now,
            to: c.view.to,
            cc: c.view.cc,
            bcc: c.view.bcc,
            suppressed: c.recipients.filter((r) => r.suppressed).map((r) => r.email),
          },
    );
  }

  /**
   * Commits the candidates' rows and events in one durable commit shared with concurrent calls;
   * deliveries the local MTA has room for are written leased to it and handed over after the commit.
   */
  private async persist(passed: Candidate[], now: number): Promise<void> {
    const rows = acceptedRows(passed, now, this.deps.failureNoticesByDefault);
    const queued = rows.deliveries.filter((d) => d.state === "queued");
    const handoff = queued.length > 0 ? (this.deps.handoff?.() ?? null) : null;
    const grant = handoff?.reserve(queued.length) ?? null;
    const handed: NewDeliveryRow[] = grant ? queued.slice(0, grant.granted) : [];
    for (const d of handed) {
      d.lease_owner = grant!.owner;
      d.next_attempt_at = grant!.leaseUntil;
    }
    let ids: Map<string, number>;
    try {
      ids = await this.deps.store.writeGrouped(async (trx) => {
        const inserted = await this.deps.messages.insertAccepted(trx, rows.messages, rows.deliveries, handed.length > 0);
        await this.deps.outbox.emit(trx, rows.events);
        return inserted;
      });
    } catch (err) {
      if (grant) handoff!.release(grant.granted);
      throw err;
    }
    if (grant) {
      // Every handed row has its id back; one without (which RETURNING would have to lose) stays
      // leased and comes back like a crashed worker's, rather than failing a committed acceptance.
      const taken = handed.flatMap((d) => handedDelivery(d, ids) ?? []);
      if (taken.length < grant.granted) handoff!.release(grant.granted - taken.length);
      if (taken.length > 0) handoff!.take(taken, new Map(passed.map((c) => [c.id, { envelopeFrom: c.view.envelopeFrom, mime: c.mime! }])));
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

function handedDelivery(d: NewDeliveryRow, ids: Map<string, number>): HandedDelivery | null {
  const id = ids.get(deliveryKey(d.message_id, d.recipient));
  if (id === undefined) return null;
  return { id, messageId: d.message_id, workspaceId: d.workspace_id, recipient: d.recipient, domain: d.domain, stream: d.stream ?? "outbound", attempts: 0, createdAt: d.created_at, leaseOwner: d.lease_owner! };
}

function viewOf(submission: Submission): MessageView {
  return submission.content.kind === "structured" ? viewOfStructured(submission.content.message) : viewOfRaw(submission.content);
}
