// Carries out API-triggered broadcasts (role worker): a recorded trigger is claimed under a lease
// and its people are entered into the journey in chunks (JourneysService.enter), each chunk's
// progress written after it while the claim is held. When the call named people by id or email
// without *_ignore_missing, every identifier is looked up first, and one naming nobody fails the
// whole trigger before anyone enters (Customer.io: "the broadcast will fail by default").
//
// enter() commits on its own, so a crash between a chunk's entry and its progress write enters
// that one chunk again when the trigger is taken up (at most `chunkSize` people; the journey's
// re-entry rule — once, or after_finish — absorbs it). The alternative, entering inside our
// transaction, would need JourneysService to take a caller's writes, which its port does not.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import { isPosthornError } from "../shared/errors.js";
import { WorkLoop } from "../shared/work-loop.js";
import type { JourneyEntry, JourneysService } from "../journeys/journeys.port.js";
import type { PeopleReader, PersonIdentifier } from "../people/people.port.js";
import type { BroadcastsRepository } from "./broadcasts.repository.js";
import type { BroadcastTriggerRow, BroadcastTriggersTable } from "./broadcasts.schema.js";
import type { TriggerRequest } from "./broadcasts.types.js";
import type { AudienceReader } from "./audience.reader.js";
import type { Updateable } from "kysely";

const POLL_MS = 1_000;
/** Lines kept in a trigger's errors. */
const MAX_ERRORS = 100;

export interface BroadcastTriggerProcessorOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  repository: BroadcastsRepository;
  journeys: Pick<JourneysService, "enter">;
  people: Pick<PeopleReader, "find">;
  audience: AudienceReader;
  chunkSize?: number;
  leaseMs?: number;
  pollMs?: number;
}

class ClaimLost extends Error {}

export class BroadcastTriggerProcessor {
  private readonly loop: WorkLoop;
  private readonly chunkSize: number;
  private readonly leaseMs: number;
  /** Set by stop() only, so runOnce() also works without start() (tests drive it pass by pass). */
  private stopped = false;

  constructor(private readonly options: BroadcastTriggerProcessorOptions) {
    this.chunkSize = options.chunkSize ?? 500;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.loop = new WorkLoop({ runOnce: () => this.runOnce(), pollMs: options.pollMs ?? POLL_MS, logger: options.logger, what: "a broadcast trigger pass" });
  }

  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  /** Gives work in hand back at the next chunk and waits for the pass to end. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.loop.stop();
  }

  async runOnce(): Promise<boolean> {
    const now = this.options.clock.now();
    const claimUntil = now + this.leaseMs;
    const row = await this.options.store.write((trx) => this.options.repository.claimDueTrigger(trx, now, claimUntil));
    if (!row) return false;
    const claim = { until: claimUntil };
    try {
      await this.process(row, claim);
    } catch (err) {
      if (err instanceof ClaimLost) {
        this.options.logger.warn({ triggerId: row.id }, "broadcast trigger taken over by another process");
        return true;
      }
      if (!isPosthornError(err)) throw err;
      // The journey refused (paused, archived or deleted since the call): the trigger fails, saying why.
      const now = this.options.clock.now();
      await this.write(row.id, claim, { state: "failed", errors_json: JSON.stringify([...(JSON.parse(row.errors_json) as string[]), err.message].slice(-MAX_ERRORS)), next_run_at: null, processed_at: now, updated_at: now });
    }
    return true;
  }

  private async process(row: BroadcastTriggerRow, claim: { until: number }): Promise<void> {
    const request = JSON.parse(row.request_json) as TriggerRequest;
    const progress = { phase: row.phase, position: row.position, total: row.total, entered: row.entered, skipped: row.skipped, missing: row.missing, errors: JSON.parse(row.errors_json) as string[] };
    while (!this.stopped) {
      const step = request.audience.kind === "filter" ? await this.filterChunk(row, request, progress.position) : await this.listChunk(row, request, progress);
      if (step.entries.length > 0) {
        const result = await this.options.journeys.enter(row.workspace_id, row.journey_id, step.entries);
        progress.entered += result.entered;
        progress.skipped += result.skipped;
      }
      if (progress.phase === "enter") progress.total += step.named;
      progress.position = step.next;
      const now = this.options.clock.now();
      const finished = step.next === null && progress.phase === "enter";
      const failed = step.next === null && progress.phase === "check" && progress.missing > 0;
      if (step.next === null && progress.phase === "check" && !failed) {
        // Everyone named exists: enter them, from the start.
        progress.phase = "enter";
        progress.position = "0";
      }
      const nextClaim = finished || failed ? null : now + this.leaseMs;
      await this.write(row.id, claim, {
        state: failed ? "failed" : finished ? "done" : "running",
        phase: progress.phase,
        position: progress.position,
        total: progress.total,
        entered: progress.entered,
        skipped: progress.skipped,
        missing: progress.missing,
        errors_json: JSON.stringify(progress.errors),
        next_run_at: nextClaim,
        processed_at: finished || failed ? now : null,
        updated_at: now,
      });
      if (nextClaim === null) return;
    }
    await this.write(row.id, claim, { next_run_at: this.options.clock.now() });
  }

  private async filterChunk(row: BroadcastTriggerRow, request: TriggerRequest, position: string | null): Promise<{ entries: JourneyEntry[]; named: number; next: string | null }> {
    if (request.audience.kind !== "filter") throw new Error("not a filter trigger");
    const page = await this.options.audience.page(row.workspace_id, request.audience.filter, position, this.chunkSize);
    return { entries: page.items.map((p) => ({ personId: p.personId, trigger: request.data, data: {} })), named: page.items.length, next: page.next };
  }

  /** One chunk of a list of identifiers: in the check phase only looked up, in the enter phase entered. */
  private async listChunk(row: BroadcastTriggerRow, request: TriggerRequest, progress: { phase: "check" | "enter"; position: string | null; missing: number; errors: string[] }): Promise<{ entries: JourneyEntry[]; named: number; next: string | null }> {
    const named: Array<{ who: PersonIdentifier; data: Record<string, unknown> }> =
      request.audience.kind === "identifiers" ? request.audience.who.map((who) => ({ who, data: {} })) : request.audience.kind === "per_user" ? request.audience.entries : [];
    const start = Number(progress.position ?? "0");
    const chunk = named.slice(start, start + this.chunkSize);
    const next = start + chunk.length >= named.length ? null : String(start + chunk.length);
    const entries: JourneyEntry[] = [];
    const seen = new Set<string>();
    for (const item of chunk) {
      const person = await this.options.people.find(row.workspace_id, item.who);
      if (!person) {
        // In the check phase a miss fails the trigger; in the enter phase (ignored misses) it is only counted.
        progress.missing++;
        if (progress.phase === "check" && progress.errors.length < MAX_ERRORS) progress.errors.push(`No customer with ${item.who.kind} ${item.who.value}.`);
        continue;
      }
      if (progress.phase === "check" || seen.has(person.personId)) continue;
      seen.add(person.personId);
      entries.push({ personId: person.personId, trigger: request.data, data: item.data });
    }
    return { entries, named: chunk.length, next };
  }

  private async write(id: number, claim: { until: number }, changes: Updateable<BroadcastTriggersTable>): Promise<void> {
    const held = await this.options.store.write((trx) => this.options.repository.updateTrigger(trx, id, claim.until, changes));
    if (!held) throw new ClaimLost();
    if (typeof changes.next_run_at === "number") claim.until = changes.next_run_at;
  }
}
