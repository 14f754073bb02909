// The journey runtime of the worker role: due runs are claimed in batches under leases (any number
// of workers share them; a dead worker's runs come back when their lease ends), each is brought up
// to date with what happened to its person (signals: events, segments left, deletion; journey-runtime.signals.ts), advanced by
// the interpreter, and its effects performed:
// - emails of the whole batch go in ONE OutreachMailer.send, whose alsoWrite moves every run past
//   its send step in the same transaction, guarded by the lease: a worker that dies between
//   deciding and sending sends nothing (the run comes back and decides again, with the same
//   idempotency key), one that dies after the commit has moved the run (nothing is sent twice,
//   nothing skipped), and one whose run was taken over rolls its sends back.
// - other effects (journey-runtime.effects.ts) are performed, then the run's move is committed.
// Timers are the runs' due_at: the loop sleeps until the nearest one (or a wake-up), at most pollMs.
import type { SpanOptions, Spans } from "../shared/spans.js";
import type { Store, Db } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import type { EventEmitter } from "../events/outbox.js";
import type { NewEvent } from "../events/event-map.js";
import { randomHex } from "../shared/ids.js";
import type { OutreachMail, OutreachMailer, OutreachOutcome } from "../channels/email/outreach.port.js";
import type { Advance, Effect, EffectResult, JourneyInterpreter, RunState } from "./journey-interpreter.port.js";
import type { JourneysRepository, RunWrite } from "./journeys.repository.js";
import type { JourneyRow, JourneyRunRow } from "./journeys.schema.js";
import type { JourneyDefinitions } from "./journey-runtime.definitions.js";
import { runEnvironment, type EnvironmentDeps } from "./journey-runtime.environment.js";
import { appendPath, CountDeltas, passedEntries, pathOf, runFromRow, runWrite, type PathEntry } from "./journey-runtime.runs.js";
import { emailResult, outcomeText, performEffect, type EffectDeps } from "./journey-runtime.effects.js";
import { mayEnter, saveCounts } from "./journey-runtime.entry.js";
import { RunSignals } from "./journey-runtime.signals.js";
import { endRun, type Final, type Work } from "./journey-runtime.work.js";

export interface JourneyRuntimeDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  repository: JourneysRepository;
  definitions: JourneyDefinitions;
  interpreter: JourneyInterpreter;
  outbox: EventEmitter;
  environment: EnvironmentDeps;
  mailer: OutreachMailer;
  effects: EffectDeps;
  leaseMs: number;
  pollMs: number;
  batchSize: number;
  /** Batches advanced at once by this process (default 1). */
  concurrency?: number;
  /** Told, for each claimed run that waited on the clock, how many seconds after its due time it was claimed (the metrics). */
  timerLate?: (seconds: number) => void;
  /**
   * Traces: each advance of a run in a `journey.step` span continuing the run's stored trace (the
   * Track API request whose event started it); the mail it sends continues the step's. Absent: off.
   */
  spans?: Spans;
}

/** Rounds of advance → effect per claim: a run that passes more effects than this goes on at the next claim. */
const MAX_ROUNDS = 8;
/** A run whose advance threw (a database error while reading the person) is tried again this much later. */
const RETRY_MS = 30_000;
/** Runs advanced at once within a batch (their reads overlap on PostgreSQL). */
const ADVANCE_CONCURRENCY = 32;

class LeaseLost extends Error {
  constructor(readonly runIds: string[]) {
    super(`journey run leases lost: ${runIds.length}`);
  }
}

export class JourneyRuntime {
  readonly owner = `journeys-${process.pid}-${randomHex(6)}`;
  private running = false;
  private loopsDone: Promise<void> = Promise.resolve();
  private readonly wakers = new Set<() => void>();
  /** Counts wake-ups, so a loop that was busy when one came goes round again instead of sleeping. */
  private wakes = 0;
  private readonly signals: RunSignals;

  constructor(private readonly deps: JourneyRuntimeDeps) {
    this.signals = new RunSignals({ interpreter: deps.interpreter, clock: deps.clock });
  }

  /**
   * Starts `concurrency` claim loops (JourneyRuntimeDeps.concurrency): on PostgreSQL each batch's
   * statements wait on the network, and loops on their own connections overlap those waits; their
   * claims skip each other's rows. On SQLite one loop is enough (one connection, no waits).
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopsDone = Promise.all(Array.from({ length: Math.max(1, this.deps.concurrency ?? 1) }, () => this.loop())).then(() => undefined);
  }

  /** Runs were entered or made due: look now. */
  wake(): void {
    this.wakes += 1;
    for (const waker of [...this.wakers]) waker();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loopsDone;
  }

  private async loop(): Promise<void> {
    const log = this.deps.logger;
    while (this.running) {
      let claimed = 0;
      const wakesBefore = this.wakes;
      try {
        claimed = await this.tick();
      } catch (err) {
        log.error({ event: "journey.batch.failed", err }, "journey runtime batch failed; its runs come back when their leases end");
      }
      if (claimed >= this.deps.batchSize || !this.running) continue;
      if (this.wakes !== wakesBefore) continue;
      let waitMs = this.deps.pollMs;
      try {
        const next = await this.deps.repository.nextDue(this.deps.store.db);
        if (next !== null) waitMs = Math.max(0, Math.min(waitMs, next - this.deps.clock.now()));
      } catch {
        // The poll below tries again.
      }
      if (waitMs > 0) await this.sleep(waitMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  /** Claims one batch of due runs and takes each as far as it goes; returns how many were claimed. */
  async tick(): Promise<number> {
    const now = this.deps.clock.now();
    const rows = await this.deps.store.write((trx) => this.deps.repository.claimDue(trx, { owner: this.owner, now, leaseUntil: now + this.deps.leaseMs, limit: this.deps.batchSize }), { durability: "relaxed" });
    if (rows.length === 0) return 0;
    const journeys = await this.deps.repository.statesOf(this.deps.store.db, [...new Set(rows.map((r) => Number(r.journey_id)))]);
    const signals = await this.deps.repository.signalsOf(this.deps.store.db, rows.map((r) => r.run_id));
    const finals: Final[] = [];
    const works: Work[] = [];
    const scheduled: Array<{ row: JourneyRunRow; journey: JourneyRow }> = [];
    for (const row of rows) {
      const journey = journeys.get(Number(row.journey_id));
      if (!journey) continue;
      if (row.state === "scheduled") {
        scheduled.push({ row, journey });
        continue;
      }
      const definition = await this.deps.definitions.get(this.deps.store.db, journey.id, row.version);
      if (!definition) continue;
      const mine = signals.filter((s) => s.run_id === row.run_id);
      const work: Work = { row, run: runFromRow(row), definition, path: pathOf(row), signalsUpTo: mine.length > 0 ? mine[mine.length - 1]!.id : null, done: false, lateS: null };
      // A run woken early by a signal is not late for its timer: only waits that came due count.
      const timer = row.state === "waiting" ? work.run.wait?.dueAt ?? null : null;
      if (timer !== null && timer <= now) work.lateS = (now - timer) / 1000;
      if (journey.state === "archived") {
        finals.push(endRun(work, "archived", now));
        continue;
      }
      const signalled = this.signals.apply(work, mine, now);
      if (signalled) finals.push(signalled);
      else works.push(work);
    }
    if (scheduled.length > 0) works.push(...(await this.enterScheduled(scheduled, now)));
    await this.commit(finals, now);
    try {
      await this.advanceAll(works, now);
    } finally {
      // A conversion not written (its run's send failed) is found again from its signal, which stays.
      for (const row of rows) this.signals.forget(row.run_id);
    }
    return rows.length;
  }

  /** Date-triggered entries that came due: entered now if the journey is live and the person passes its filters and re-entry rule. */
  private async enterScheduled(items: Array<{ row: JourneyRunRow; journey: JourneyRow }>, now: number): Promise<Work[]> {
    const works: Work[] = [];
    for (const { row, journey } of items) {
      const definition = await this.deps.definitions.get(this.deps.store.db, journey.id, journey.version);
      const env = runEnvironment(this.deps.environment, { workspaceId: row.workspace_id, personId: row.person_id, runId: row.run_id }, now);
      const admitted = journey.state === "live" && definition !== null && (await env.person()) !== null && (await this.deps.interpreter.admits(definition, env));
      const entered = await this.deps.store.write(async (trx) => {
        if (!admitted || !(await mayEnter(trx, this.deps.repository, { journeyId: journey.id, workspaceId: journey.workspace_id, version: journey.version, definition: definition! }, row.person_id, now))) {
          await this.deps.repository.deleteScheduled(trx, row.run_id);
          return null;
        }
        const scope = JSON.parse(row.scope_json) as RunState["scope"];
        const run = this.deps.interpreter.start(definition!, { runId: row.run_id, journeyId: String(journey.id), version: journey.version, workspaceId: row.workspace_id, personId: row.person_id, scope, now });
        if (!(await this.deps.repository.saveRun(trx, this.owner, runWrite(run, [], "active", now, null, now), true))) return null;
        await this.deps.outbox.emit(trx, [{ type: "journey.run-started", workspaceId: run.workspaceId, messageId: null, recipient: null, data: { journeyId: run.journeyId, version: run.version, runId: run.runId, personId: run.personId } }]);
        return run;
      });
      if (entered) works.push({ row: { ...row, state: "active", version: journey.version }, run: entered, definition: definition!, path: [], signalsUpTo: null, done: false, lateS: null });
    }
    return works;
  }

  /** Advances the runs in rounds: each round ends every run at a wait, an end or an effect; effects are performed and the runs go round again. */
  private async advanceAll(works: Work[], now: number): Promise<void> {
    let pending = works;
    for (let round = 0; round < MAX_ROUNDS && pending.length > 0; round++) {
      const finals: Final[] = [];
      const emails: Array<{ work: Work; effect: Extract<Effect, { kind: "email" }> }> = [];
      const others: Array<{ work: Work; effect: Exclude<Effect, { kind: "email" }> }> = [];
      const counts = new CountDeltas();
      await forEachLimited(pending, ADVANCE_CONCURRENCY, async (work) => {
        let advance: Advance;
        const from = work.run.stepId;
        try {
          const spans = this.deps.spans;
          const step = () => this.deps.interpreter.advance(work.definition, work.run, runEnvironment(this.deps.environment, work.run, now));
          advance = spans
            ? await spans.inSpan("journey.step", stepSpan(work), (traceparent) => {
                work.stepTrace = traceparent;
                return step();
              })
            : await step();
        } catch (err) {
          this.deps.logger.error({ event: "journey.run.failed", err, runId: work.run.runId }, "a journey run could not be advanced; it is tried again later");
          finals.push({ work, write: runWrite(work.run, work.path, work.row.state === "waiting" ? "waiting" : "active", now + RETRY_MS, null, now), counts: new CountDeltas(), events: [] });
          return;
        }
        work.run = advance.run;
        const passed = advance.path;
        work.path = appendPath(work.path, passedEntries(from, passed, advance.kind === "effect" ? advance.effect.stepId : advance.kind === "wait" ? advance.run.stepId : null, now));
        if (advance.kind === "end") {
          const final = endRun(work, advance.reason, now);
          final.counts.move(work.run.journeyId, work.run.version, from, passed, null);
          finals.push(final);
        } else if (advance.kind === "wait") {
          const c = new CountDeltas();
          c.move(work.run.journeyId, work.run.version, from, passed, advance.run.stepId);
          finals.push({ work, write: runWrite(advance.run, work.path, "waiting", advance.run.wait?.dueAt ?? null, null, now), counts: c, events: [] });
        } else {
          counts.move(work.run.journeyId, work.run.version, from, passed, advance.effect.stepId);
          if (advance.effect.kind === "email") emails.push({ work, effect: advance.effect });
          else others.push({ work, effect: advance.effect });
        }
      });
      await this.commit(finals, now);
      const next: Work[] = [];
      if (emails.length > 0) next.push(...(await this.sendEmails(emails, counts, now)));
      if (others.length > 0) next.push(...(await this.performOthers(others, emails.length > 0 ? new CountDeltas() : counts)));
      pending = next;
    }
    // Runs still going after MAX_ROUNDS effects: due again at once, for the next claim.
    if (pending.length > 0) await this.commit(pending.map((work) => ({ work, write: runWrite(work.run, work.path, "active", now, null, now), counts: new CountDeltas(), events: [] })), now);
  }

  /** One send for every email of the round; each run's move past its step commits with it, under its lease. */
  private async sendEmails(items: Array<{ work: Work; effect: Extract<Effect, { kind: "email" }> }>, entering: CountDeltas, now: number): Promise<Work[]> {
    let live = items;
    for (let attempt = 0; attempt < 3 && live.length > 0; attempt++) {
      const mails: OutreachMail[] = live.map(({ work, effect }) => ({
        workspaceId: work.run.workspaceId,
        personId: work.run.personId,
        content: effect.content,
        scope: effect.scope,
        tag: effect.tag,
        send: effect.send,
        idempotencyKey: effect.idempotencyKey,
        origin: { kind: "journey", journeyId: work.run.journeyId, version: work.run.version, stepId: effect.stepId, runId: work.run.runId },
        overLimit: "hold",
        quietHours: true,
        sendAt: null,
        ...(work.stepTrace ? { traceparent: work.stepTrace } : {}),
      }));
      try {
        await this.deps.mailer.send(mails, async (trx, outcomes) => this.afterEffects(trx, live.map((item, i) => ({ ...item, result: emailResult(outcomes[i] as OutreachOutcome) })), entering, now));
        this.timersFired(live.map((i) => i.work));
        return live.map((i) => i.work).filter((w) => !w.done);
      } catch (err) {
        if (!(err instanceof LeaseLost)) {
          this.deps.logger.error({ event: "journey.emails.failed", err, mails: mails.length }, "journey emails could not be sent; their runs come back when their leases end");
          return [];
        }
        // Another worker holds these runs now: send the rest without them.
        const lost = new Set(err.runIds);
        live = live.filter((i) => !lost.has(i.work.run.runId));
      }
    }
    return [];
  }

  private async performOthers(items: Array<{ work: Work; effect: Exclude<Effect, { kind: "email" }> }>, entering: CountDeltas): Promise<Work[]> {
    const results: Array<{ work: Work; effect: Effect; result: EffectResult }> = [];
    await forEachLimited(items, ADVANCE_CONCURRENCY, async ({ work, effect }) => {
      results.push({ work, effect, result: await performEffect(this.deps.effects, work.run.workspaceId, work.run.personId, effect) });
    });
    const after = this.deps.clock.now();
    try {
      await this.deps.store.write((trx) => this.afterEffects(trx, results, entering, after));
    } catch (err) {
      if (!(err instanceof LeaseLost)) throw err;
      const lost = new Set(err.runIds);
      const kept = results.filter((r) => !lost.has(r.work.run.runId));
      await this.deps.store.write((trx) => this.afterEffects(trx, kept, entering, after));
      this.timersFired(kept.map((r) => r.work));
      return kept.map((r) => r.work).filter((w) => !w.done);
    }
    this.timersFired(results.map((r) => r.work));
    return results.map((r) => r.work).filter((w) => !w.done);
  }

  /** In the effect's transaction: each run moved past its step (or held in it), still leased; throws LeaseLost to roll back if any lease was lost. */
  private async afterEffects(trx: Db, items: Array<{ work: Work; effect: Effect; result: EffectResult }>, entering: CountDeltas, now: number): Promise<void> {
    const counts = new CountDeltas();
    const lost: string[] = [];
    const moved: Array<{ work: Work; run: RunState; path: PathEntry[]; ended: boolean }> = [];
    const events: NewEvent[] = [];
    const signalsRead = new Map<string, number>();
    const writes: Array<{ write: RunWrite; keepLease: boolean }> = [];
    for (const { work, effect, result } of items) {
      const run = this.deps.interpreter.afterEffect(work.definition, work.run, result, now);
      // A held email and a webhook to try again stay in their step: not completed, not on the path yet.
      const held = (result.kind === "email" && result.outcome === "held") || result.kind === "retry";
      const path = held ? work.path : appendPath(work.path, [{ stepId: effect.stepId, at: now, outcome: outcomeText(result) }]);
      if (!held) {
        counts.add(run.journeyId, run.version, effect.stepId, "completed");
        if (result.kind === "failed") counts.add(run.journeyId, run.version, effect.stepId, "failed");
      }
      // Past its last step: the run ends in this transaction (what the next advance would decide), saving a round.
      const ends = !held && run.stepId === null;
      let write = runWrite(run, path, "active", null, null, now);
      if (ends) {
        const final = this.signals.recordOn(endRun({ ...work, run, path }, "completed", now));
        write = final.write;
        events.push(...final.events);
        for (const { journeyId, version, deltas } of final.counts.entries()) for (const [stepId, d] of deltas) for (const f of ["converted", "exited"] as const) if (d[f] > 0) counts.add(String(journeyId), version, stepId, f, d[f]);
        if (work.signalsUpTo !== null) signalsRead.set(run.runId, work.signalsUpTo);
      }
      writes.push({ write, keepLease: !ends });
      moved.push({ work, run, path, ended: ends });
    }
    // Written together (a statement per chunk on PostgreSQL), each row still guarded by its lease.
    const saved = new Set<string>();
    for (const keepLease of [true, false]) {
      const group = writes.filter((w) => w.keepLease === keepLease).map((w) => w.write);
      if (group.length > 0) for (const id of await this.deps.repository.saveRuns(trx, this.owner, group, keepLease)) saved.add(id);
    }
    for (const { write } of writes) if (!saved.has(write.runId)) lost.push(write.runId);
    if (lost.length > 0) throw new LeaseLost(lost);
    await saveCounts(trx, this.deps.repository, entering);
    await saveCounts(trx, this.deps.repository, counts);
    await this.deps.repository.consumeSignals(trx, signalsRead);
    await this.deps.outbox.emit(trx, events);
    const ended = moved.filter((m) => m.ended).map((m) => m.run.runId);
    if (ended.length > 0) {
      const signalled = await this.deps.repository.runsWithSignals(trx, ended);
      if (signalled.length > 0) await this.deps.repository.pullDue(trx, signalled, now);
    }
    // Only now, with the transaction certain to commit (or fail as a whole), the runs move in memory.
    for (const { work, run, path, ended } of moved) {
      work.run = run;
      work.path = path;
      if (ended) {
        work.done = true;
        this.signals.forget(run.runId);
      }
    }
  }

  /** Writes runs that stop here (a wait, an end, a retry), their counters and events, and gives their leases back. */
  private async commit(finals: Final[], now: number): Promise<void> {
    if (finals.length === 0) return;
    for (const final of finals) this.signals.takeInto(final);
    let saved: string[] = [];
    await this.deps.store.write(
      async (trx) => {
        const counts = new CountDeltas();
        const events: NewEvent[] = [];
        const signalsRead = new Map<string, number>();
        // One write for the batch (a statement per chunk on PostgreSQL); a run whose lease was lost is left out of what follows.
        const written = await this.deps.repository.saveRuns(trx, this.owner, finals.map((f) => f.write), false);
        saved = [];
        for (const final of finals) {
          if (!written.has(final.write.runId)) continue;
          saved.push(final.write.runId);
          for (const { journeyId, version, deltas } of final.counts.entries()) for (const [stepId, d] of deltas) for (const f of ["entered", "completed", "failed", "converted", "exited"] as const) if (d[f] > 0) counts.add(String(journeyId), version, stepId, f, d[f]);
          events.push(...final.events);
          if (final.work.signalsUpTo !== null) signalsRead.set(final.write.runId, final.work.signalsUpTo);
        }
        await this.deps.repository.consumeSignals(trx, signalsRead);
        await saveCounts(trx, this.deps.repository, counts);
        await this.deps.outbox.emit(trx, events);
        // Signals that came while these runs were held: due at once rather than at their timer.
        const signalled = await this.deps.repository.runsWithSignals(trx, saved);
        if (signalled.length > 0) await this.deps.repository.pullDue(trx, signalled, now);
      },
      { durability: "full" },
    );
    const committed = new Set(saved);
    this.timersFired(finals.filter((f) => committed.has(f.write.runId)).map((f) => f.work));
  }

  /** Tells `timerLate` of the runs whose write after a late clock wait has committed, once each. */
  private timersFired(works: Work[]): void {
    for (const work of works) {
      if (work.lateS === null) continue;
      this.deps.timerLate?.(work.lateS);
      work.lateS = null;
    }
  }
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

/** The span of one advance of a run: ids and what the step led to, never the person's data. */
function stepSpan(work: Work): SpanOptions<Advance> {
  return {
    parent: work.row.traceparent ?? null,
    attributes: { "posthorn.journey.id": work.run.journeyId, "posthorn.journey.version": work.run.version, "posthorn.journey.run.id": work.run.runId, ...(work.run.stepId ? { "posthorn.journey.step.id": work.run.stepId } : {}) },
    after: (advance) => ({
      "posthorn.journey.advance": advance.kind,
      ...(advance.kind === "effect" ? { "posthorn.journey.effect": advance.effect.kind, "posthorn.journey.effect.step.id": advance.effect.stepId } : {}),
    }),
  };
}
