// The segments' two background loops in the worker role. The timer loop takes the timers that are
// due (segment_timers, indexed by due_at: it reads only what is due, never every person) and
// evaluates those people again, which sets their next timer if another window is open. The filler
// evaluates the people already known for a segment that is new or was redefined, a page at a time
// under a lease, saving its place after each page so that a restart goes on where it stopped.
// Both read the injected clock, so tests that move it see windows close.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import { WorkLoop } from "../shared/work-loop.js";
import { randomHex } from "../shared/ids.js";
import type { PeopleReader } from "../people/people.port.js";
import type { SegmentsRepository } from "./segments.repository.js";
import { newWork, type MembershipKeeper, type PersonWork } from "./membership.keeper.js";

/** Timers taken per transaction. */
const TIMER_BATCH = 100;
/** People evaluated per page of a fill. */
const FILL_PAGE = 200;
/** How long a filler holds a segment without saving progress before another may take it. */
const FILL_LEASE_MS = 60_000;

export interface UpkeepDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  repository: SegmentsRepository;
  keeper: MembershipKeeper;
  people: PeopleReader;
  /** How often the loops look without being woken (the timer loop's resolution). */
  pollMs: number;
}

export class SegmentUpkeep {
  private readonly owner = `segments-${process.pid}-${randomHex(6)}`;
  private readonly timers: WorkLoop;
  private readonly filler: WorkLoop;

  constructor(private readonly deps: UpkeepDeps) {
    this.timers = new WorkLoop({ runOnce: () => this.fireTimers(), pollMs: deps.pollMs, logger: deps.logger, what: "segment timers" });
    this.filler = new WorkLoop({ runOnce: () => this.fillPage(), pollMs: deps.pollMs, logger: deps.logger, what: "segment filling" });
  }

  start(): void {
    this.timers.start();
    this.filler.start();
  }

  /** A segment needs filling: start now rather than at the next poll. */
  wakeFiller(): void {
    this.filler.wake();
  }

  async stop(): Promise<void> {
    await Promise.all([this.timers.stop(), this.filler.stop()]);
  }

  /** Evaluates the people whose timers are due; true when there may be more. */
  async fireTimers(): Promise<boolean> {
    const { repository, store, keeper } = this.deps;
    const now = this.deps.clock.now();
    const due = await repository.dueTimers(store.db, now, TIMER_BATCH);
    if (due.length === 0) return false;
    const index = await keeper.refreshIndex();
    const works = new Map<string, PersonWork>();
    for (const timer of due) {
      const segment = index.get(String(timer.segment_id));
      const key = `${timer.workspace_id}\u0000${timer.person_id}`;
      let work = works.get(key);
      if (!work) works.set(key, (work = newWork(timer.workspace_id, timer.person_id)));
      if (segment) work.segments.add(segment);
    }
    await keeper.apply([...works.values()], {
      // Taken in the same transaction as the evaluation; a timer another process took is evaluated twice, harmlessly.
      beforeWrite: async (trx) => {
        for (const timer of due) await repository.takeTimer(trx, timer);
        return true;
      },
    });
    return due.length === TIMER_BATCH;
  }

  /** Evaluates one page of people for a segment being filled; true when there may be more. */
  async fillPage(): Promise<boolean> {
    const { repository, store, keeper, people, clock } = this.deps;
    const now = clock.now();
    const claimed = await store.write((trx) => repository.claimFill(trx, this.owner, now, now + FILL_LEASE_MS), { durability: "relaxed" });
    if (!claimed) return false;
    const index = await keeper.refreshIndex();
    const segment = index.get(String(claimed.id));
    let next: string | null = null;
    if (segment) {
      const page = await people.search(claimed.workspace_id, { and: [] }, { limit: FILL_PAGE, cursor: claimed.fill_cursor });
      const works = page.items.map((person) => {
        const work = newWork(claimed.workspace_id, person.personId);
        work.segments.add(segment);
        work.seed = true;
        work.person = person;
        return work;
      });
      if (works.length > 0) await keeper.apply(works);
      next = page.next;
    }
    const at = clock.now();
    await store.write((trx) => repository.saveFill(trx, claimed.id, this.owner, Number(claimed.updated_at), next, at + FILL_LEASE_MS), { durability: "relaxed" });
    return true;
  }
}
