// Turns stored bulk sends into messages (role worker). A due send is claimed under a lease, then
// taken in chunks: each recipient's message is rendered, validated and accepted like any other,
// and the chunk's messages commit in one transaction with the send's new progress, written only
// if the claim is still held. A crash or a lost claim therefore repeats no recipient and skips
// none: the next claimant starts after the last committed chunk.
import type { Db, Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import { isPosthornError } from "../shared/errors.js";
import { WorkLoop } from "../shared/work-loop.js";
import type { AcceptService } from "../messages/accept/accept.service.js";
import { structuredSubmission, type Submission } from "../messages/accept/submission.js";
import { validateMessage } from "../messages/message.validation.js";
import type { MessageDraft } from "../messages/message.types.js";
import type { WorkspacesService } from "../workspaces/workspaces.service.js";
import type { BulkRepository } from "./bulk.repository.js";
import type { BulkSendRow } from "./bulk.schema.js";
import type { BulkRecipient, BulkRenderer, BulkRequest } from "./bulk.types.js";

const POLL_MS = 1_000;

export interface BulkProcessorOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  repository: BulkRepository;
  accept: AcceptService;
  workspaces: WorkspacesService;
  renderer: BulkRenderer;
  /** Recipients accepted per transaction. */
  chunkSize?: number;
  /** How long a claim is held; renewed with every chunk. */
  leaseMs?: number;
}

/** Thrown inside a chunk's transaction when another process took the send over: nothing of the chunk commits. */
class ClaimLost extends Error {}

export class BulkProcessor {
  private readonly loop: WorkLoop;
  private readonly chunkSize: number;
  private readonly leaseMs: number;

  constructor(private readonly options: BulkProcessorOptions) {
    this.chunkSize = options.chunkSize ?? 100;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.loop = new WorkLoop({ runOnce: () => this.runOnce(), pollMs: POLL_MS, logger: options.logger, what: "a bulk pass" });
  }

  start(): void {
    this.loop.start();
  }

  /** Runs a pass now (a send was just stored). */
  wake(): void {
    this.loop.wake();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Claims one due send and processes it to the end (or until stopped). False when none was due. */
  async runOnce(): Promise<boolean> {
    const now = this.options.clock.now();
    const claimUntil = now + this.leaseMs;
    const row = await this.options.store.write((trx) => this.options.repository.claimDue(trx, now, claimUntil));
    if (!row) return false;
    await this.process(row, claimUntil);
    return true;
  }

  private async process(row: BulkSendRow, claimUntil: number): Promise<void> {
    const { store, repository, clock } = this.options;
    const workspace = await this.options.workspaces.findById(row.workspace_id);
    const request = JSON.parse(row.request_json) as BulkRequest;
    let claimed = claimUntil;
    let done = row.done;
    let failed = row.failed;
    let lastError = row.last_error;
    if (!workspace) {
      await store.write((trx) => repository.recordProgress(trx, row.id, claimed, { state: "failed", done, failed, lastError: "The workspace no longer exists.", nextClaim: null }, clock.now()));
      return;
    }
    while (done < row.total && !this.loop.stopping) {
      const recipients = request.recipients.slice(done, done + this.chunkSize);
      const submissions: Submission[] = [];
      let refused = 0;
      const rendered = await this.options.renderer.renderMany(workspace.id, request.content, recipients.map((r) => r.model));
      for (const [i, recipient] of recipients.entries()) {
        try {
          const content = rendered[i]!;
          if (isPosthornError(content)) throw content;
          submissions.push(submissionFor(request, recipient, content));
        } catch (err) {
          if (!isPosthornError(err)) throw err;
          refused++;
          lastError = err.message;
        }
      }
      const now = clock.now();
      const nextDone = done + recipients.length;
      const finished = nextDone >= row.total;
      const nextClaim = finished ? null : now + this.leaseMs;
      let chunkFailed = refused;
      const record = async (trx: Db, refusedByAcceptance: number) => {
        chunkFailed = refused + refusedByAcceptance;
        const state = finished ? "completed" : "processing";
        const held = await repository.recordProgress(trx, row.id, claimed, { state, done: nextDone, failed: failed + chunkFailed, lastError, nextClaim }, now);
        if (!held) throw new ClaimLost();
      };
      try {
        const outcomes = submissions.length > 0 ? await this.options.accept.acceptMany(workspace, submissions, record) : [];
        const notAccepted = outcomes.flatMap((o) => (o.ok ? [] : [o.error.message]));
        if (notAccepted.length > 0) lastError = notAccepted[notAccepted.length - 1]!;
        // Nothing was written with messages (none passed): the progress is written alone.
        if (!outcomes.some((o) => o.ok)) await store.write((trx) => record(trx, notAccepted.length));
      } catch (err) {
        if (err instanceof ClaimLost) {
          this.options.logger.warn({ event: "bulk.claim.lost", bulkId: row.id }, "bulk send taken over by another process");
          return;
        }
        throw err;
      }
      done = nextDone;
      failed += chunkFailed;
      if (nextClaim !== null) claimed = nextClaim;
    }
    // Stopped half-way: give the send back at once rather than when the claim runs out.
    if (done < row.total) await store.write((trx) => repository.recordProgress(trx, row.id, claimed, { state: "processing", done, failed, lastError, nextClaim: clock.now() }, clock.now()));
  }
}

/** One recipient's message: the shared draft with the recipient's addresses, content, metadata and headers. */
function submissionFor(request: BulkRequest, recipient: BulkRecipient, content: { subject: string; htmlBody: string | null; textBody: string | null }): Submission {
  const shared = request.content.draft;
  const draft: MessageDraft = {
    ...shared,
    to: recipient.to,
    cc: recipient.cc,
    bcc: recipient.bcc,
    subject: content.subject,
    htmlBody: content.htmlBody,
    textBody: content.textBody,
    metadata: { ...shared.metadata, ...recipient.metadata },
    headers: [...shared.headers, ...recipient.headers],
  };
  return structuredSubmission(validateMessage(draft));
}
