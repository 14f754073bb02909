// The MTA role's loop: claim due deliveries under a lease, group them into SMTP transactions
// (one message, one domain, many recipients), hand them to the transport, and record outcomes.
// Several workers, in one process or many, can run against one database: claims never overlap
// (see DeliveriesRepository.claimDue) and a worker that dies only delays its claimed rows until
// the lease runs out. Leases are short and renewed while the worker holds the rows, so a live
// worker keeps its deliveries however long an attempt takes, and a dead one's come back soon.
import type { SpanOptions } from "../shared/spans.js";
import { randomHex } from "../shared/ids.js";
import { verpAddress } from "../bounces/verp.js";
import { domainOf } from "../shared/email-address.js";
import type { DeliveryHandoff, HandedDelivery } from "../messages/accept/delivery-handoff.js";
import type { AttemptResult, DeliveryJob, JobDsn, RecipientOutcome } from "./mta.types.js";
import type { ClaimedDelivery } from "./queue/deliveries.repository.js";
import type { RecordItem } from "./queue/outcome.recorder.js";
import { contentNeeds, toSevenBit, type ContentNeeds } from "./smtp-client/seven-bit.js";
import type { DsnRequest } from "../messages/dsn-request.js";
import type { MtaWorkerDeps, MtaWorkerOptions } from "./mta-worker.deps.js";
import type { PerDelivery } from "../messages/per-delivery.js";
import type { DkimData } from "../events/event-map.js";
import { addressKey } from "../shared/email-address.js";

export type { EnvelopePolicy, MessageSigner, MtaWorkerDeps, MtaWorkerOptions } from "./mta-worker.deps.js";

/**
 * The share of its concurrency a worker gives to deliveries handed over at acceptance; the rest is
 * kept for claims, which alone bring retries and other workspaces' queued mail (fairness).
 */
const HANDOFF_SHARE = 0.75;

/** author: the From header's address, whose domain signs and whose return path VERP uses ("" for none). */
type MessageToSend = { envelopeFrom: string; author: string; mime: Buffer; dsn?: DsnRequest | null; perDelivery?: PerDelivery | null; tag?: string | null; traceparent?: string | null };

/** A message ready for its attempts: signed, and for 8-bit content also in 7 bits, signed too. */
interface Prepared {
  raw: Promise<Buffer>;
  /** What signing did (undefined without a signer), known once `raw` is. */
  dkim: Promise<DkimData | undefined>;
  needs: ContentNeeds | null;
  sevenBit: Promise<Buffer | { impossible: string }> | null;
}

export class MtaWorker implements DeliveryHandoff {
  readonly owner = `mta-${process.pid}-${randomHex(6)}`;
  private readonly held = new Map<number, ClaimedDelivery>();
  /** Room promised to acceptances whose commits are still under way. */
  private reserved = 0;
  /**
   * Whether due deliveries may be waiting for a claim: new mail was queued without a hand-off, or
   * the last claim filled its batch. Freed room is only worth a claim then; when acceptance hands
   * everything over, claims would find nothing, and each is a write transaction.
   */
  private backlog = true;
  /**
   * The held deliveries whose leases this worker renews: claimed, and attempted or being recorded.
   * A delivery leaves it once its outcome is written (the write clears the lease itself) or the
   * write failed, or when a renewal finds its lease taken by another worker.
   */
  private readonly renewing = new Set<number>();
  /**
   * Those of `renewing` whose outcomes are on their way to the recorder. Their leases are kept
   * until the write: a starved process (a busy machine, a long garbage collection) could otherwise
   * let a lease run out between the next hop's 250 and the commit of that outcome, and another
   * worker would claim the row and carry the message a second time. A renewal that misses one of
   * them is not a lost lease: its outcome was written first, or holds the row (on PostgreSQL a
   * renewal skips rows it would wait for: DeliveriesRepository.renewLeases).
   */
  private readonly recording = new Set<number>();
  private renewTimer: NodeJS.Timeout | null = null;
  private renewal: Promise<void> | null = null;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | null = null;
  private wakeRequested = false;
  private readonly pollMs: number;
  private readonly claimBatch: number;
  private readonly minClaim: number;
  /** Which workspace a fair claim starts with; moves on every claim. */
  private rotation = 0;

  constructor(
    private readonly deps: MtaWorkerDeps,
    private readonly options: MtaWorkerOptions,
  ) {
    this.pollMs = options.pollMs ?? 250;
    this.claimBatch = options.claimBatch ?? 500;
    this.minClaim = Math.max(1, Math.min(this.claimBatch, Math.floor(options.concurrency / 4)));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
    // Renewed every third of the lease, so two renewals can fail or be late before it runs out
    // (the connection slots' keeper does the same). Renewal runs on SQLite too, though one process
    // has no peer to lose rows to: an attempt may rightly outlast the lease (RFC 5321 §4.5.3.2
    // gives the end of DATA 10 minutes), and without renewal this very worker would claim the row
    // again and attempt it a second time. One code path on both stores, for one small UPDATE a tick.
    this.renewTimer = setInterval(() => {
      // A renewal still running (a slow database) is not joined by another: the next tick retries.
      this.renewal ??= this.renewLeases().finally(() => (this.renewal = null));
    }, Math.max(10, Math.floor(this.options.leaseMs / 3)));
    this.renewTimer.unref();
  }

  /** New work was queued (or capacity freed): look for it now rather than at the next poll. */
  wake(): void {
    this.backlog = true;
    this.wakeRequested = true;
    this.wakeUp?.();
  }

  get inFlight(): number {
    return this.held.size;
  }

  reserve(count: number): { owner: string; leaseUntil: number; granted: number } | null {
    if (!this.running) return null;
    const room = Math.floor(this.options.concurrency * HANDOFF_SHARE) - this.held.size - this.reserved;
    const granted = Math.min(count, room);
    if (granted <= 0) return null;
    this.reserved += granted;
    return { owner: this.owner, leaseUntil: this.deps.clock.now() + this.options.leaseMs, granted };
  }

  release(count: number): void {
    this.reserved = Math.max(0, this.reserved - count);
  }

  take(deliveries: HandedDelivery[], messages: Map<string, MessageToSend>): void {
    this.release(deliveries.length);
    // Stopping: they stay leased and come back like any unfinished claim (at the next start on SQLite).
    if (!this.running) return;
    const fresh = this.hold(deliveries);
    this.dispatch(fresh, messages);
  }

  /**
   * Two-phase stop: claim nothing more, let in-flight attempts finish and be recorded within the
   * deadline, then give back whatever is still held so another worker can take it at once.
   */
  async stop(deadlineMs: number): Promise<void> {
    this.running = false;
    this.wake();
    await this.loopDone;
    const until = Date.now() + deadlineMs;
    // Acceptances that reserved room commit first, then their deliveries are attempted like the rest.
    while ((this.held.size > 0 || this.reserved > 0) && Date.now() < until) await sleep(20);
    await this.deps.recorder.flush();
    // Leases were renewed while attempts drained; from here on nothing is attempted, so stop, and
    // let a renewal in progress finish before the rows are given back below.
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
    await this.renewal;
    if (this.held.size > 0) {
      const ids = [...this.held.keys()];
      this.deps.logger.warn({ event: "mta.shutdown.released", count: ids.length }, "shutdown deadline reached; releasing deliveries still in flight");
      await this.deps.store.write((trx) => this.deps.deliveries.release(trx, ids, this.owner, this.deps.clock.now()));
      this.held.clear();
      this.renewing.clear();
    }
  }

  /**
   * A clean stop gives its rows back, so leases left in the database belong to a process that was
   * killed: its in-flight deliveries are due at once, as Postfix requeues its active queue when
   * it starts, rather than when those leases would have run out. Where peers may be alive
   * (PostgreSQL) this is not done; short renewed leases bring a dead process's rows back instead.
   */
  private async takeBackPredecessorLeases(): Promise<void> {
    try {
      const taken = await this.deps.store.write((trx) => this.deps.deliveries.takeBackLeasesOfOthers(trx, { owner: this.owner, now: this.deps.clock.now() }));
      if (taken > 0) this.deps.logger.warn({ event: "mta.leases.taken-back", count: taken }, "took back deliveries left in flight by a process that did not stop cleanly; they are due now");
    } catch (err) {
      // Not fatal: those rows come due anyway when their leases run out.
      this.deps.logger.error({ event: "mta.leases.take-back-failed", err }, "taking back the leases of a previous process failed; its deliveries wait for their leases");
    }
  }

  /**
   * Extends the leases of the deliveries being attempted, in one statement. One that is no longer
   * ours (its lease ran out while renewals failed, and another worker claimed it) is only logged:
   * its attempt goes on, and its outcome will be dropped because the row's lease_owner is not
   * ours (DeliveriesRepository.applyUpdates), so the row's new holder alone records an outcome.
   */
  private async renewLeases(): Promise<void> {
    const ids = [...this.renewing];
    if (ids.length === 0) return;
    const now = this.deps.clock.now();
    try {
      // Relaxed: a renewal lost with the machine is a lease that runs out, which a crash already means.
      const renewed = await this.deps.store.write(
        (trx) => this.deps.deliveries.renewLeases(trx, { ids, owner: this.owner, leaseUntil: now + this.options.leaseMs, now }),
        { durability: "relaxed" },
      );
      // Checked after the write: a row whose outcome was written meanwhile (its lease cleared by
      // that write) is in `recording` or has left `renewing`, and is not mistaken for a lost one.
      const lost = ids.filter((id) => !renewed.has(id) && this.renewing.has(id) && !this.recording.has(id));
      for (const id of lost) this.renewing.delete(id);
      if (lost.length > 0) this.deps.logger.warn({ event: "mta.leases.lost", count: lost.length, ids: lost.slice(0, 20) }, "delivery leases lost to another worker; their outcomes will not be recorded here");
    } catch (err) {
      // The attempts go on; if renewals keep failing past the lease, another worker may take the
      // rows, and this one's outcomes for them are then dropped rather than recorded twice.
      this.deps.logger.warn({ event: "mta.leases.renew-failed", err, count: ids.length }, "renewing delivery leases failed; will retry");
    }
  }

  private async loop(): Promise<void> {
    if (this.options.soleWorker) await this.takeBackPredecessorLeases();
    while (this.running) {
      let claimed = 0;
      const room = this.options.concurrency - this.held.size;
      // Claim in reasonably large bites: each claim is a write transaction (an fsync on SQLite),
      // so topping up one freed slot at a time would cost a commit per delivery.
      if (room >= this.minClaim || this.held.size === 0) {
        try {
          // A wake-up during the claim (mail queued meanwhile) sets it again.
          this.backlog = false;
          claimed = await this.claimAndDispatch(Math.min(room, this.claimBatch));
          if (claimed === Math.min(room, this.claimBatch)) this.backlog = true;
        } catch (err) {
          this.backlog = true;
          this.deps.logger.error({ event: "mta.claim.failed", err }, "claiming deliveries failed; will retry");
          await sleep(1000);
        }
      }
      // A full batch suggests more is due: go again without waiting, if there is room.
      if (claimed > 0 && claimed === Math.min(room, this.claimBatch) && this.held.size < this.options.concurrency) continue;
      await this.idle();
    }
  }

  private idle(): Promise<void> {
    if (this.wakeRequested || !this.running) {
      this.wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        this.wakeRequested = false;
        resolve();
      };
      const timer = setTimeout(done, this.pollMs);
      this.wakeUp = done;
    });
  }

  private async claimAndDispatch(limit: number): Promise<number> {
    const now = this.deps.clock.now();
    const rotation = this.rotation++;
    // A claim lost with the machine only means the rows were never leased: relaxed durability.
    const rows = await this.deps.store.write(
      (trx) => this.deps.deliveries.claimFairly(trx, { owner: this.owner, now, leaseUntil: now + this.options.leaseMs, limit, rotation }),
      { durability: "relaxed" },
    );
    if (rows.length === 0) return 0;
    const fresh = this.hold(rows);
    if (fresh.length === 0) return rows.length;

    const messageIds = [...new Set(fresh.map((r) => r.messageId))];
    let loaded: Awaited<ReturnType<MtaWorkerDeps["messages"]["forDelivery"]>>;
    try {
      loaded = await this.deps.messages.forDelivery(this.deps.store.db, messageIds);
    } catch (err) {
      // Not attempted, so not held: their leases are left to run out and they come due again.
      this.forget(fresh);
      throw err;
    }
    this.dispatch(fresh, new Map(loaded.map((m) => [m.id, m])));
    return rows.length;
  }

  /**
   * Holds claimed rows and returns those new to this worker. A row already held was claimed again
   * after its lease ran out (renewals failed that long) while its first attempt is still running:
   * that attempt carries on under the same owner and records the outcome; a second attempt would
   * deliver the message twice.
   */
  private hold(rows: ClaimedDelivery[]): ClaimedDelivery[] {
    const fresh = rows.filter((row) => !this.held.has(row.id));
    for (const row of fresh) {
      this.held.set(row.id, row);
      this.renewing.add(row.id);
    }
    return fresh;
  }

  /** Groups held deliveries into SMTP transactions and starts their attempts. */
  private dispatch(fresh: ClaimedDelivery[], byId: Map<string, MessageToSend>): void {
    // Without VERP, one SMTP transaction per (message, recipient domain): RFC 5321 lets one DATA
    // carry many RCPTs of the same destination. With VERP each delivery has its own MAIL FROM,
    // so its own transaction; connections are still shared, so the cost is a few round trips. A
    // message whose copies differ per recipient (per-delivery.ts) has a transaction per delivery too.
    const envelope = this.options.envelope;
    const groups = new Map<string, ClaimedDelivery[]>();
    for (const row of fresh) {
      const key = envelope.verp || this.ownCopies(byId.get(row.messageId)) ? String(row.id) : `${row.messageId}\u0000${row.domain}`;
      const group = groups.get(key);
      if (group) group.push(row);
      else groups.set(key, [row]);
    }
    // Signed once per message, however many deliveries (VERP transactions) carry it.
    const signed = new Map<string, Prepared>();
    for (const group of groups.values()) {
      const first = group[0]!;
      const messageId = first.messageId;
      const message = byId.get(messageId);
      if (!message) {
        // Cannot happen while messages are never deleted before their deliveries; if it does,
        // the rows are left leased and logged rather than silently dropped.
        this.deps.logger.error({ event: "mta.message.missing", messageId: first.messageId }, "claimed deliveries for a message that does not exist");
        this.forget(group);
        continue;
      }
      if (this.ownCopies(message)) {
        // This recipient's copy, signed for itself (its group is this one delivery).
        let copy: MessageToSend;
        try {
          copy = { ...message, mime: this.deps.composeForDelivery!(message.mime, messageId, first.id, message.perDelivery!) };
        } catch (err) {
          // Composing reads only our own stored MIME; should it fail, the copy goes as stored
          // rather than not at all: an untracked message is better than an undelivered one.
          this.deps.logger.error({ event: "mta.message.compose-failed", err, messageId, deliveryId: first.id }, "could not compose a recipient's copy; sending the message as stored");
          copy = message;
        }
        void this.attempt(group, copy, this.prepare(copy));
        continue;
      }
      let prepared = signed.get(messageId);
      if (!prepared) {
        prepared = this.prepare(message);
        signed.set(messageId, prepared);
      }
      void this.attempt(group, message, prepared);
    }
  }

  /** Whether each recipient gets a copy of their own (per-delivery.ts). */
  private ownCopies(message: MessageToSend | undefined): boolean {
    return !!message?.perDelivery && this.deps.composeForDelivery !== undefined;
  }

  /**
   * Signs the message, and when it has 8-bit content (one native scan decides; an all-ASCII message
   * goes no further) converts it to 7 bits and signs that too, before any hop is known: the
   * transport picks one after the next hop's EHLO (hop-content.ts), and either way the signature
   * covers the bytes sent. Converting only at the hop would leave a signature over other bytes.
   */
  private prepare(message: MessageToSend): Prepared {
    // A notice with a null sender (a DSN) has no From domain of ours to sign for. Otherwise the
    // From header's domain signs (DMARC aligns DKIM with it, not with MAIL FROM); a message
    // without a From mailbox falls back to the envelope sender's domain.
    const signer = domainOf(message.author || message.envelopeFrom);
    const nullSender: DkimData | undefined = this.deps.signer ? { unsigned: "null-sender" } : undefined;
    const sign = (mime: Buffer) => (this.deps.signer && message.envelopeFrom ? this.deps.signer.signWithResult(mime, signer) : Promise.resolve({ raw: mime, dkim: nullSender }));
    const signed = sign(message.mime);
    const raw = signed.then((s) => s.raw);
    // The 7-bit copy is signed with the same keys (one cached lookup), so the first result says it for both.
    const dkim = signed.then((s) => s.dkim);
    raw.catch(() => undefined); // each attempt awaits it and handles the failure
    dkim.catch(() => undefined);
    const needs = contentNeeds(message.mime);
    let sevenBit: Prepared["sevenBit"] = null;
    if (needs) {
      const converted = toSevenBit(message.mime);
      sevenBit = "mime" in converted ? sign(converted.mime).then((s) => s.raw) : Promise.resolve(converted);
      sevenBit.catch(() => undefined);
    }
    return { raw, dkim, needs, sevenBit };
  }

  /**
   * The RFC 3461 parameters for the next hop. With VERP the return path is ours, so the hop's own
   * reports come back to us rather than to the submitter: SUCCESS is then not passed on (our
   * intake only turns failures into notices), and we report success ourselves as "relayed".
   */
  private jobDsn(group: ClaimedDelivery[], request: DsnRequest | null | undefined): JobDsn | undefined {
    if (!request) return undefined;
    const recipients: JobDsn["recipients"] = {};
    for (const { recipient } of group) {
      const entry = request.recipients[addressKey(recipient)];
      if (!entry) continue;
      let notify = entry.notify.length > 0 ? entry.notify : null;
      if (notify && this.options.envelope.verp) {
        notify = notify.filter((n) => n !== "SUCCESS");
        if (notify.length === 0) notify = ["NEVER"];
      }
      recipients[recipient] = { notify, orcpt: entry.orcpt };
    }
    return { ret: request.ret, envid: request.envelopeId, recipients };
  }

  /** Stops holding deliveries that will not be attempted: their leases are no longer renewed. */
  private forget(rows: ClaimedDelivery[]): void {
    for (const row of rows) {
      this.held.delete(row.id);
      this.renewing.delete(row.id);
    }
  }

  private async attempt(group: ClaimedDelivery[], message: MessageToSend, prepared: Prepared): Promise<void> {
    let items: RecordItem[];
    const first = group[0]!;
    const envelope = this.options.envelope;
    const fromAddress = message.envelopeFrom;
    try {
      const dsn = this.jobDsn(group, message.dsn);
      const job: DeliveryJob = {
        domain: first.domain,
        // A null reverse-path stays null (RFC 5321 §4.5.5): notices must never be bounced back.
        // The return path is the From domain's (aligned for DMARC's SPF check), as the signature is.
        envelopeFrom: envelope.verp && fromAddress ? verpAddress(first.id, await envelope.returnPathDomain(message.author || fromAddress), envelope.secret) : fromAddress,
        recipients: group.map((r) => r.recipient),
        // A signing failure (database down, undecryptable key) rejects here and defers below:
        // better late than unsigned, which receivers enforcing DMARC would refuse.
        raw: await prepared.raw,
        ...(prepared.needs ? { needs: prepared.needs, sevenBit: (await prepared.sevenBit) ?? undefined } : {}),
        ...(dsn ? { dsn } : {}),
      };
      const started = performance.now();
      const spans = this.deps.spans;
      const result = spans ? await spans.inSpan("message.deliver", attemptSpan(first, group.length, message.traceparent ?? null), () => this.deps.transport.deliver(job)) : await this.deps.transport.deliver(job);
      this.deps.attemptTook?.((performance.now() - started) / 1000);
      const dkim = await prepared.dkim;
      const byRecipient = new Map(result.outcomes.map((o) => [o.recipient, o.outcome]));
      items = group.map((delivery) => ({
        delivery,
        outcome: byRecipient.get(delivery.recipient) ?? missingOutcome(),
        attempt: result,
        ...(dkim ? { dkim } : {}),
        ...(message.tag !== undefined ? { tag: message.tag } : {}),
        notify: message.dsn?.recipients[addressKey(delivery.recipient)]?.notify ?? null,
        // The hop took NOTIFY=SUCCESS with the submitter's own return path: it reports delivery itself.
        nextHopReportsSuccess: result.dsn === true && (dsn?.recipients[delivery.recipient]?.notify?.includes("SUCCESS") ?? false),
      }));
    } catch (err) {
      // The transport reports expected failures as outcomes; an exception is a bug or an
      // infrastructure fault, so defer rather than lose or bounce the mail.
      this.deps.logger.error({ event: "mta.delivery.failed", err, messageId: first.messageId, domain: first.domain }, "delivery failed unexpectedly; deferring");
      const outcome: RecipientOutcome = { kind: "deferred", reply: null, reason: `internal error: ${(err as Error).message}` };
      items = group.map((delivery) => ({
        delivery,
        outcome,
        attempt: { remoteHost: null, remoteIp: null, tls: false },
        notify: message.dsn?.recipients[addressKey(delivery.recipient)]?.notify ?? null,
      }));
    }
    // The outcome's own write ends the lease; until it commits the lease is still renewed.
    for (const d of group) this.recording.add(d.id);
    try {
      await this.deps.recorder.record(items);
    } catch {
      // Already logged by the recorder; the rows stay leased and come due again when it expires.
    } finally {
      for (const d of group) {
        this.recording.delete(d.id);
        this.renewing.delete(d.id);
        this.held.delete(d.id);
      }
      if (this.backlog && this.options.concurrency - this.held.size >= this.minClaim) this.wake();
    }
  }
}

function missingOutcome(): RecipientOutcome {
  return { kind: "deferred", reply: null, reason: "internal error: the transport returned no outcome for this recipient" };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * The span of one attempt: a child of the message's acceptance span (its stored traceparent), so
 * acceptance and every attempt, retries included, are one trace. Domains and outcomes, no address.
 */
function attemptSpan(first: ClaimedDelivery, recipients: number, traceparent: string | null): SpanOptions<AttemptResult> {
  return {
    kind: "client",
    parent: traceparent,
    attributes: { "posthorn.message.id": first.messageId, "posthorn.delivery.domain": first.domain, "posthorn.delivery.recipients": recipients, "posthorn.delivery.attempt": first.attempts + 1 },
    after: (result) => ({
      "posthorn.delivery.outcome": [...new Set(result.outcomes.map((o) => o.outcome.kind))].sort().join(","),
      ...(result.remoteHost ? { "server.address": result.remoteHost } : {}),
      "tls.established": result.tls,
    }),
    failed: (result) => result.outcomes.some((o) => o.outcome.kind === "bounced"),
  };
}
