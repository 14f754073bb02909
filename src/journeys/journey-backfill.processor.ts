// Enters who already qualifies when a journey goes live (role worker), in the background: the
// service records a backfill (journey_backfills) in the transaction that makes the journey live,
// and this processor claims it and works through the people a page at a time.
// - A date trigger: every person who has the attribute, by person id; each whose date plus offset
//   is still ahead gets a scheduled entry, exactly the row the trigger consumer makes when the
//   attribute is set (scheduledRun), unless they already have one.
// - A segment trigger with `existing: enter`: the segment's members; each goes through the
//   journey's filters and re-entry rule as a trigger would (enterRuns), and starts a run now.
// Each page's entries, its counts and the cursor past it commit in one transaction, written only
// while the claim is held: a crashed worker's backfill is taken up after its last committed page,
// and no page is done twice. A journey that stops being live stops its backfill (it resumes where
// it stopped when the journey is live again).
import type { Db, Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import { ClaimedWorkLoop, ClaimLost, writeClaimed, type Claim } from "../shared/claimed-work.loop.js";
import type { Page, PeopleReader } from "../people/people.port.js";
import type { JourneyDefinition } from "./journey.model.js";
import type { JourneyBackfillsRepository } from "./journey-backfills.repository.js";
import type { JourneyBackfillRow } from "./journey-backfills.schema.js";
import { enterRuns, prepareEntry, saveCounts, scheduledRun, type EnteringJourney, type Entry, type EntryDeps } from "./journey-runtime.entry.js";
import { CountDeltas } from "./journey-runtime.runs.js";
import { runEnvironment, type EnvironmentDeps } from "./journey-runtime.environment.js";
import { dateOf } from "./journey-triggers.consumer.js";
import { lockEntries } from "./journeys.repository.js";

const POLL_MS = 1_000;

export interface JourneyBackfillOptions extends EntryDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  backfills: JourneyBackfillsRepository;
  environment: EnvironmentDeps;
  people: Pick<PeopleReader, "search">;
  segments: { members(workspaceId: string, segmentId: string, options: { limit: number; cursor: string | null }): Promise<Page<{ personId: string }>> };
  /** People looked at per transaction. */
  pageSize?: number;
  leaseMs?: number;
  pollMs?: number;
  /** Runs were entered: the local runtime, if any, looks at once. */
  onRunsDue?: () => void;
}

/** What a backfill does for a definition: schedule date entries, enter segment members, or nothing. */
export function backfillKind(definition: JourneyDefinition): "date" | "segment" | null {
  const t = definition.trigger;
  if (t.kind === "date") return "date";
  if (t.kind === "segment" && t.on === "entered" && t.existing === "enter") return "segment";
  return null;
}

interface PageDone {
  next: string | null;
  scheduled: number;
  entered: number;
  skipped: number;
}

export class JourneyBackfillProcessor extends ClaimedWorkLoop<JourneyBackfillRow, Db> {
  private readonly pageSize: number;

  constructor(private readonly options: JourneyBackfillOptions) {
    super({ store: options.store, clock: options.clock, logger: options.logger, leaseMs: options.leaseMs ?? 60_000, pollMs: options.pollMs ?? POLL_MS, what: "a journey backfill pass" });
    this.pageSize = options.pageSize ?? 500;
  }

  protected claim(trx: Db, now: number, until: number): Promise<JourneyBackfillRow | null> {
    return this.options.backfills.claimDue(trx, now, until);
  }

  protected onClaimLost(row: JourneyBackfillRow): void {
    this.options.logger.info({ event: "journey.backfill.claim-lost", journeyId: row.journey_id }, "journey backfill claim lost (taken over, or started again for a newer version)");
  }

  protected async process(row: JourneyBackfillRow, claim: Claim): Promise<void> {
    const { store, clock, repository } = this.options;
    const journeyId = Number(row.journey_id);
    let progress = { cursor: row.cursor, scheduled: row.scheduled, entered: row.entered, skipped: row.skipped };
    while (!this.stopping) {
      const journeyRow = (await repository.statesOf(store.db, [journeyId])).get(journeyId);
      if (!journeyRow || journeyRow.state !== "live") {
        await this.write(row, claim, { state: "stopped", next_run_at: null, updated_at: clock.now() });
        return;
      }
      const version = await repository.version(store.db, journeyId, journeyRow.version);
      const definition = version ? (JSON.parse(version.definition_json) as JourneyDefinition) : null;
      const kind = definition ? backfillKind(definition) : null;
      if (!definition || kind === null) {
        // The trigger changed to one that enters nobody at going live: nothing more to do.
        await this.write(row, claim, { state: "done", next_run_at: null, updated_at: clock.now() });
        return;
      }
      const journey: EnteringJourney = { journeyId, workspaceId: journeyRow.workspace_id, version: journeyRow.version, definition };
      const now = clock.now();
      const nextClaim = now + this.base.leaseMs;
      const done = await (kind === "date" ? this.datePage(row, journey, progress.cursor, claim, nextClaim, progress, now) : this.segmentPage(row, journey, progress.cursor, claim, nextClaim, progress, now));
      claim.until = done.next === null ? claim.until : nextClaim;
      progress = { cursor: done.next, scheduled: progress.scheduled + done.scheduled, entered: progress.entered + done.entered, skipped: progress.skipped + done.skipped };
      if (done.entered > 0) this.options.onRunsDue?.();
      if (done.next === null) return;
    }
    await this.write(row, claim, { next_run_at: clock.now() });
  }

  /** One page of people with the date attribute: a scheduled entry for each whose time is still ahead. */
  private async datePage(row: JourneyBackfillRow, journey: EnteringJourney, cursor: string | null, claim: Claim, nextClaim: number, before: Omit<PageDone, "next">, now: number): Promise<PageDone> {
    const trigger = journey.definition.trigger;
    if (trigger.kind !== "date") throw new Error("not a date trigger");
    const page = await this.options.people.search(journey.workspaceId, { attribute: { field: trigger.attribute, operator: "exists" } }, { limit: this.pageSize, cursor });
    const due = page.items.map((p) => {
      const value = p.attributes[trigger.attribute];
      const at = dateOf(value);
      return { personId: p.personId, value, dueAt: at === null ? null : at + trigger.offsetMs };
    });
    const done: PageDone = { next: page.next, scheduled: 0, entered: 0, skipped: 0 };
    await this.options.store.write(async (trx) => {
      // Under the people's entry locks, as the trigger consumer schedules: the two never make two entries for one person.
      await lockEntries(this.options.repository.dialect, trx, journey.journeyId, due.map((d) => d.personId));
      for (const d of due) {
        // Only a time still ahead: going live does not enter people whose date has passed.
        const ahead = d.dueAt !== null && d.dueAt > now;
        // A person who already has a scheduled entry (the trigger consumer saw the attribute change) keeps it.
        if (ahead && (await this.options.repository.scheduledEntry(trx, journey.journeyId, d.personId)) === null && (await this.options.repository.insertRun(trx, scheduledRun(journey, d.personId, d.value, d.dueAt!, now)))) done.scheduled++;
        else done.skipped++;
      }
      await this.progress(trx, row, claim, nextClaim, before, done, now);
    });
    return done;
  }

  /** One page of the segment's members, entered through the filters and the re-entry rule. */
  private async segmentPage(row: JourneyBackfillRow, journey: EnteringJourney, cursor: string | null, claim: Claim, nextClaim: number, before: Omit<PageDone, "next">, now: number): Promise<PageDone> {
    const trigger = journey.definition.trigger;
    if (trigger.kind !== "segment") throw new Error("not a segment trigger");
    const page = await this.options.segments.members(journey.workspaceId, trigger.segmentId, { limit: this.pageSize, cursor });
    // Filters and the first advance read the person: outside the writing transaction (SQLite has one connection).
    const admitted: Entry[] = [];
    for (const member of page.items) {
      const env = runEnvironment(this.options.environment, { workspaceId: journey.workspaceId, personId: member.personId, runId: "" }, now);
      if ((await env.person()) === null) continue;
      if (journey.definition.filters !== null && !(await this.options.interpreter.admits(journey.definition, env))) continue;
      const entry: Entry = { personId: member.personId, scope: { trigger: { segment_id: trigger.segmentId }, event: null, journey: {}, steps: {} }, triggerKey: null };
      admitted.push(await prepareEntry(this.options.interpreter, journey, entry, env, now));
    }
    const done: PageDone = { next: page.next, scheduled: 0, entered: 0, skipped: 0 };
    await this.options.store.write(async (trx) => {
      const counts = new CountDeltas();
      // A member the trigger entered since the journey went live (they joined the segment meanwhile) is not entered again.
      // Read under the people's entry locks (which enterRuns takes again, at no cost), so that an entry by the trigger committing meanwhile is seen.
      await lockEntries(this.options.repository.dialect, trx, journey.journeyId, admitted.map((e) => e.personId));
      const fresh: Entry[] = [];
      for (const entry of admitted) {
        const latest = await this.options.repository.latestEntry(trx, journey.journeyId, entry.personId);
        if (latest === null || Number(latest.entered_at) < Number(row.created_at)) fresh.push(entry);
      }
      done.entered = (await enterRuns(trx, this.options, journey, fresh, counts, now)).length;
      done.skipped = page.items.length - done.entered;
      await saveCounts(trx, this.options.repository, counts);
      await this.progress(trx, row, claim, nextClaim, before, done, now);
    });
    return done;
  }

  /** The backfill's progress after a page, in the page's transaction, while the claim is held. */
  private async progress(trx: Db, row: JourneyBackfillRow, claim: Claim, nextClaim: number, before: Omit<PageDone, "next">, done: PageDone, now: number): Promise<void> {
    const finished = done.next === null;
    const changes = {
      state: finished ? ("done" as const) : ("running" as const),
      cursor: done.next,
      scheduled: before.scheduled + done.scheduled,
      entered: before.entered + done.entered,
      skipped: before.skipped + done.skipped,
      next_run_at: finished ? null : nextClaim,
      updated_at: now,
    };
    if (!(await this.options.backfills.update(trx, Number(row.journey_id), claim.until, changes))) throw new ClaimLost();
  }

  private write(row: JourneyBackfillRow, claim: Claim, changes: Parameters<JourneyBackfillsRepository["update"]>[3]): Promise<void> {
    return writeClaimed(this.options.store, claim, changes, (trx, until, c) => this.options.backfills.update(trx, Number(row.journey_id), until, c));
  }
}
