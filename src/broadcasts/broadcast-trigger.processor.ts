// Carries out API-triggered broadcasts (role worker): a recorded trigger is claimed under a lease
// and its people are entered into the journey in chunks (JourneysService.enter), each chunk's
// progress written after it while the claim is held. When the call named people by id or email
// without *_ignore_missing, every identifier is looked up first, and one naming nobody fails the
// whole trigger before anyone enters (Customer.io: "the broadcast will fail by default").
//
// Each chunk's people and the trigger's progress commit in one transaction: enter() takes the
// progress write as its alsoWrite (guarded by the claim, as every progress write is), so a crash
// or a lost claim either committed both or neither, and the next claimant starts after the last
// committed chunk. Every person named is entered exactly once, whatever the journey's re-entry rule.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import { isPosthornError } from "../shared/errors.js";
import { ClaimedWorkLoop, ClaimLost, writeClaimed, type Claim } from "../shared/claimed-work.loop.js";
import type { Db } from "../store/store.js";
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

export class BroadcastTriggerProcessor extends ClaimedWorkLoop<BroadcastTriggerRow, Db> {
  private readonly chunkSize: number;
  private readonly leaseMs: number;

  constructor(private readonly options: BroadcastTriggerProcessorOptions) {
    super({ store: options.store, clock: options.clock, logger: options.logger, leaseMs: options.leaseMs ?? 60_000, pollMs: options.pollMs ?? POLL_MS, what: "a broadcast trigger pass" });
    this.leaseMs = this.base.leaseMs;
    this.chunkSize = options.chunkSize ?? 500;
  }

  protected claim(trx: Db, now: number, until: number): Promise<BroadcastTriggerRow | null> {
    return this.options.repository.claimDueTrigger(trx, now, until);
  }

  protected onClaimLost(row: BroadcastTriggerRow): void {
    this.options.logger.warn({ event: "broadcast.trigger.claim-lost", triggerId: row.id }, "broadcast trigger taken over by another process");
  }

  /** Enters the trigger's people; a journey that refuses them (no longer live) fails the trigger. */
  protected async process(row: BroadcastTriggerRow, claim: Claim): Promise<void> {
    try {
      await this.enterAll(row, claim);
    } catch (err) {
      if (!isPosthornError(err)) throw err;
      // The journey refused (paused, archived or deleted since the call): the trigger fails, saying why.
      const now = this.options.clock.now();
      await this.write(row.id, claim, { state: "failed", errors_json: JSON.stringify([...(JSON.parse(row.errors_json) as string[]), err.message].slice(-MAX_ERRORS)), next_run_at: null, processed_at: now, updated_at: now });
    }
  }

  private async enterAll(row: BroadcastTriggerRow, claim: Claim): Promise<void> {
    const request = JSON.parse(row.request_json) as TriggerRequest;
    const progress = { phase: row.phase, position: row.position, total: row.total, entered: row.entered, skipped: row.skipped, missing: row.missing, errors: JSON.parse(row.errors_json) as string[] };
    while (!this.stopping) {
      const step = request.audience.kind === "filter" ? await this.filterChunk(row, request, progress.position) : await this.listChunk(row, request, progress);
      const now = this.options.clock.now();
      const finished = step.next === null && progress.phase === "enter";
      const failed = step.next === null && progress.phase === "check" && progress.missing > 0;
      const nextClaim = finished || failed ? null : now + this.leaseMs;
      // The progress after this chunk, given how many of its people entered.
      const after = (outcome: { entered: number; skipped: number }): Updateable<BroadcastTriggersTable> => {
        const checked = step.next === null && progress.phase === "check" && !failed;
        return {
          state: failed ? "failed" : finished ? "done" : "running",
          // Everyone named exists: enter them, from the start.
          phase: checked ? "enter" : progress.phase,
          position: checked ? "0" : step.next,
          total: progress.phase === "enter" ? progress.total + step.named : progress.total,
          entered: progress.entered + outcome.entered,
          skipped: progress.skipped + outcome.skipped,
          missing: progress.missing,
          errors_json: JSON.stringify(progress.errors),
          next_run_at: nextClaim,
          processed_at: finished || failed ? now : null,
          updated_at: now,
        };
      };
      let changes: Updateable<BroadcastTriggersTable>;
      if (step.entries.length > 0) {
        const until = claim.until;
        const outcome = await this.options.journeys.enter(row.workspace_id, row.journey_id, step.entries, {
          alsoWrite: async (trx, outcome) => {
            if (!(await this.options.repository.updateTrigger(trx, row.id, until, after(outcome)))) throw new ClaimLost();
          },
        });
        changes = after(outcome);
        if (typeof changes.next_run_at === "number") claim.until = changes.next_run_at;
      } else {
        changes = after({ entered: 0, skipped: 0 });
        await this.write(row.id, claim, changes);
      }
      Object.assign(progress, { phase: changes.phase, position: changes.position, total: changes.total, entered: changes.entered, skipped: changes.skipped });
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

  private write(id: number, claim: Claim, changes: Updateable<BroadcastTriggersTable>): Promise<void> {
    return writeClaimed(this.options.store, claim, changes, (trx, until, c) => this.options.repository.updateTrigger(trx, id, until, c));
  }
}
