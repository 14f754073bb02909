// Keeps segment membership: given people and the segments to look at again for each (chosen by
// the index from what happened to them), it reads their facts from the people domain, updates
// the kept state of event and change conditions, evaluates, and writes every entry and exit with
// its history row, its segment.entered / segment.left event (same transaction) and the person's
// timer for the moment a window closes. Everything that changes membership comes through here:
// the outbox consumer, the timer loop, the filling of a new segment, merges and deletions.
//
// Units of work run one at a time in this process: each reads a person's facts and then writes
// what they imply, and two units interleaved could write an older verdict over a newer one. Across
// processes (PostgreSQL) a unit's writes are idempotent (an entry is written once, a timer is
// taken once); a verdict made from facts read just before another process changed them is put
// right by the event of that change, which re-evaluates the person.
import type { Store, Db } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { EventEmitter } from "../events/outbox.js";
import type { NewEvent } from "../events/event-map.js";
import type { PeopleReader, Person } from "../people/people.port.js";
import type { SegmentsRepository } from "./segments.repository.js";
import { stateKey, type PersonSnapshot } from "./segments.repository.js";
import { compileSegment, SegmentIndex, type CompiledSegment } from "./segment-index.js";
import { changeMatches, evaluate, eventMatches, valueAt, type Hit, type PersonFacts } from "./segment-evaluator.js";

/** What to do for one person in one unit of work. */
export interface PersonWork {
  workspaceId: string;
  personId: string;
  /** Segments to evaluate again. */
  segments: Set<CompiledSegment>;
  /** New matches of event and change conditions, kept before evaluating. */
  hits: Array<{ segment: CompiledSegment; path: string; hit: Hit; keep: number }>;
  /** Read the person's past events for these segments' event conditions (a new segment, a merge). */
  seed: boolean;
  /** The person is gone: they leave every segment, manual ones too. */
  deleted: boolean;
  /** A person merged into this one: their manual memberships move here. */
  absorbed: string[];
  /** Forget the kept matches first (a suppressed person's events and changes were deleted). */
  resetState?: boolean;
  /** The person as just read (the filler pages through people): not read again. */
  person?: Person;
}

export function newWork(workspaceId: string, personId: string): PersonWork {
  return { workspaceId, personId, segments: new Set(), hits: [], seed: false, deleted: false, absorbed: [] };
}

/** How many of a person's events are read to seed one event condition (newest first). */
export const SEED_EVENTS = 5_000;
/** How many of a person's newest timeline lines are read to seed change conditions. */
export const SEED_TIMELINE = 1_000;

export interface KeeperDeps {
  store: Store;
  clock: Clock;
  outbox: EventEmitter;
  repository: SegmentsRepository;
  people: PeopleReader;
}

/** Members read per page when a deleted segment's members leave it. */
const LEAVE_PAGE = 1_000;

/**
 * A unit's writes of kept matches and timers, written together once every person of the unit is
 * evaluated: a few multi-row upserts instead of one statement per person and condition. Nothing
 * in the unit reads these rows back (each person's were read once, in the snapshot), so writing
 * them last changes no verdict. Keyed, so a row is written once with its last value; a person
 * whose state is forgotten (deleted, or reset) loses what was pending for them, and the rows
 * deleted before the flush stay deleted.
 */
class UnitWrites {
  readonly states = new Map<string, { segmentId: number; personId: string; path: string; hits: readonly Hit[] }>();
  readonly timers = new Map<string, { workspaceId: string; segmentId: number; personId: string; dueAt: number | null }>();
  /** Who has writes pending: a unit names each person once, so forgetting is nearly always a lookup, not a scan. */
  private readonly people = new Set<string>();

  saveState(segmentId: number, personId: string, path: string, hits: readonly Hit[]): void {
    this.people.add(personId);
    this.states.set(`${segmentId}\u0000${personId}\u0000${path}`, { segmentId, personId, path, hits });
  }

  setTimer(workspaceId: string, segmentId: number, personId: string, dueAt: number | null): void {
    this.people.add(personId);
    this.timers.set(`${segmentId}\u0000${personId}`, { workspaceId, segmentId, personId, dueAt });
  }

  forget(personId: string): void {
    if (!this.people.delete(personId)) return;
    for (const [key, row] of this.states) if (row.personId === personId) this.states.delete(key);
    for (const [key, row] of this.timers) if (row.personId === personId) this.timers.delete(key);
  }
}

export class MembershipKeeper {
  readonly index = new SegmentIndex();
  private revision = -1;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: KeeperDeps) {}

  /** Reloads the index when a definition changed since it was loaded (one indexed read). */
  async refreshIndex(): Promise<SegmentIndex> {
    const revision = await this.deps.repository.revision(this.deps.store.db);
    if (revision !== this.revision) {
      const rows = await this.deps.repository.allData(this.deps.store.db);
      this.index.replace(rows.filter((r) => r.conditions_json !== null).map((r) => compileSegment(String(r.id), r.workspace_id, JSON.parse(r.conditions_json!))));
      this.revision = revision;
    }
    return this.index;
  }

  /** Runs `fn` after every unit queued before it (see the top of this file). */
  serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Applies the works (one per person) in one transaction. */
  apply(works: PersonWork[], options: { at?: number; beforeWrite?: (trx: Db) => Promise<boolean> } = {}): Promise<void> {
    return this.serially(async () => {
      const now = this.deps.clock.now();
      const facts = new Map<PersonWork, Known | null>();
      const seeds = new Map<PersonWork, Map<string, Hit[]>>();
      for (const work of works) {
        if (work.deleted) continue;
        if (onlyMatches(work)) {
          // Event counts alone: the person's facts would not be read. (A suppressed person's
          // events are dropped by the people domain, and a deletion comes as its own event.)
          facts.set(work, NO_FACTS);
          continue;
        }
        const person = work.person ?? (await this.deps.people.get(work.workspaceId, work.personId));
        facts.set(work, person ? { facts: factsOf(person), suppressed: person.suppressed } : null);
        if (person && work.seed) seeds.set(work, await this.seedHits(work, now));
      }
      await this.deps.store.write(
        async (trx) => {
          if (options.beforeWrite && !(await options.beforeWrite(trx))) return;
          const events: NewEvent[] = [];
          const live = works.filter((w) => !w.deleted && facts.get(w));
          const segmentIds = [...new Set(live.flatMap((w) => [...w.segments].map((s) => Number(s.segmentId))))];
          const snapshots = await this.deps.repository.snapshot(trx, [...new Set(live.map((w) => w.workspaceId))], [...new Set(live.map((w) => w.personId))], segmentIds);
          const writes = new UnitWrites();
          for (const work of works) {
            const person = facts.get(work) ?? null;
            if (work.deleted || !person) await this.forget(trx, work, options.at ?? now, events, writes);
            else await this.reconcile(trx, work, person, snapshots.get(work.personId)!, seeds.get(work) ?? null, now, options.at ?? now, events, writes);
          }
          await this.deps.repository.saveStates(trx, [...writes.states.values()]);
          await this.deps.repository.setTimers(trx, [...writes.timers.values()]);
          await this.deps.repository.addHistory(trx, events.map(historyRow));
          await this.deps.outbox.emit(trx, events);
        },
        // A commit lost with the machine is lost with the cursor or claim that followed it: the work comes again.
        { durability: "relaxed" },
      );
    });
  }

  /** Puts people into a manual segment or takes them out (add_customers / remove_customers). */
  setManual(workspaceId: string, segmentId: number, personIds: string[], add: boolean): Promise<void> {
    return this.serially(async () => {
      const at = this.deps.clock.now();
      await this.deps.store.write(async (trx) => {
        const events: NewEvent[] = [];
        for (const personId of personIds) {
          const changed = add ? await this.deps.repository.enter(trx, workspaceId, segmentId, personId, at) : await this.deps.repository.leave(trx, segmentId, personId);
          if (changed) this.changed(events, workspaceId, segmentId, personId, add, at);
        }
        await this.deps.repository.addHistory(trx, events.map(historyRow));
        await this.deps.outbox.emit(trx, events);
      });
    });
  }

  /**
   * A segment is being deleted: each member leaves it, with its segment.left event and history
   * row, in the transaction that deletes it (a journey waiting on the segment learns of it).
   */
  async leaveAll(trx: Db, workspaceId: string, segmentId: number, at: number): Promise<void> {
    const events: NewEvent[] = [];
    for (let after: string | null = null; ; ) {
      const page = await this.deps.repository.members(trx, workspaceId, segmentId, LEAVE_PAGE, after);
      for (const member of page) this.changed(events, workspaceId, segmentId, member.person_id, false, at);
      if (page.length < LEAVE_PAGE) break;
      after = page[page.length - 1]!.person_id;
    }
    await this.deps.repository.addHistory(trx, events.map(historyRow));
    await this.deps.outbox.emit(trx, events);
  }

  /** The person's matching past events for each event condition of the work's segments. */
  private async seedHits(work: PersonWork, now: number): Promise<Map<string, Hit[]>> {
    const seeded = new Map<string, Hit[]>();
    for (const segment of work.segments) {
      for (const { path, event } of segment.events) {
        const since = event.withinMs !== null ? now - event.withinMs : event.between ? event.between.from : undefined;
        const past = await this.deps.people.events(work.workspaceId, work.personId, { names: [event.name], since, limit: SEED_EVENTS });
        const hits = past.filter((e) => eventMatches(event, e.name, e.type, e.timestamp, e.data)).map((e): Hit => [e.eventRowId, e.timestamp]);
        seeded.set(stateKey(Number(segment.segmentId), path), keepMostRecent(hits, event.atLeast));
      }
    }
    const changeLeaves = [...work.segments].flatMap((segment) => segment.changes.map((leaf) => ({ segment, ...leaf })));
    if (changeLeaves.length > 0) {
      // Past attribute changes from the person's timeline (its newest lines), newest first.
      const timeline = await this.deps.people.activity(work.workspaceId, work.personId, { limit: SEED_TIMELINE, cursor: null });
      const changes = timeline.items.filter((item) => item.kind === "attribute_change");
      for (const { segment, path, changed } of changeLeaves) {
        const found = changes.find((item) => {
          const change = changeOfField(item.detail as { name?: unknown; from?: unknown; to?: unknown }, changed.field);
          return change !== null && changeMatches(changed, change.from, change.to);
        });
        seeded.set(stateKey(Number(segment.segmentId), path), found ? [[0, found.at]] : []);
      }
    }
    return seeded;
  }

  private async reconcile(trx: Db, work: PersonWork, known: Known, snapshot: PersonSnapshot, seeded: Map<string, Hit[]> | null, now: number, at: number, events: NewEvent[], writes: UnitWrites): Promise<void> {
    const { repository } = this.deps;
    const { workspaceId, personId } = work;
    for (const absorbed of work.absorbed) await this.absorbManual(trx, workspaceId, personId, absorbed, at, events);
    if (work.resetState) {
      writes.forget(personId);
      await repository.forgetPerson(trx, workspaceId, personId);
      snapshot.states.clear();
      snapshot.timers.clear();
    }
    const segments = [...work.segments];
    const state = snapshot.states;
    const changed = new Set<string>();
    for (const [key, hits] of seeded ?? []) {
      state.set(key, hits);
      changed.add(key);
    }
    for (const { segment, path, hit, keep } of work.hits) {
      const key = stateKey(Number(segment.segmentId), path);
      const merged = keepMostRecent([...(state.get(key) ?? []), hit], keep);
      state.set(key, merged);
      changed.add(key);
    }
    for (const key of changed) {
      const [segmentId, path] = key.split("\u0000") as [string, string];
      writes.saveState(Number(segmentId), personId, path, state.get(key)!);
    }
    const current = snapshot.members;
    // Timers are written only when they move: an evaluation with no window open costs no write.
    const timers = snapshot.timers;
    const { facts } = known;
    for (const segment of segments) {
      const id = Number(segment.segmentId);
      const verdict = evaluate(segment.condition, facts, (path) => state.get(stateKey(id, path)) ?? [], now);
      // A suppressed person is in no data-driven segment (nothing may be sent to them) until unsuppressed.
      const matches = verdict.matches && !known.suppressed;
      if (matches && !current.has(segment.segmentId)) {
        if (await repository.enter(trx, workspaceId, id, personId, at)) this.changed(events, workspaceId, id, personId, true, at);
      } else if (!matches && current.has(segment.segmentId)) {
        if (await repository.leave(trx, id, personId)) this.changed(events, workspaceId, id, personId, false, at);
      }
      if ((timers.get(id) ?? null) !== verdict.recheckAt) writes.setTimer(workspaceId, id, personId, verdict.recheckAt);
    }
  }

  /** A merged person's manual memberships move to the person they were merged into. */
  private async absorbManual(trx: Db, workspaceId: string, personId: string, absorbed: string, at: number, events: NewEvent[]): Promise<void> {
    const { repository } = this.deps;
    for (const membership of await repository.segmentsOf(trx, workspaceId, absorbed)) {
      if (this.index.get(String(membership.segment_id))) continue;
      const id = Number(membership.segment_id);
      if (await repository.leave(trx, id, absorbed)) this.changed(events, workspaceId, id, absorbed, false, at);
      if (await repository.enter(trx, workspaceId, id, personId, at)) this.changed(events, workspaceId, id, personId, true, at);
    }
  }

  /** The person is gone: they leave every segment; their state and timers go. */
  private async forget(trx: Db, work: PersonWork, at: number, events: NewEvent[], writes: UnitWrites): Promise<void> {
    const { repository } = this.deps;
    writes.forget(work.personId);
    for (const membership of await repository.segmentsOf(trx, work.workspaceId, work.personId)) {
      const id = Number(membership.segment_id);
      if (await repository.leave(trx, id, work.personId)) this.changed(events, work.workspaceId, id, work.personId, false, at);
    }
    await repository.forgetPerson(trx, work.workspaceId, work.personId);
  }

  /** Records a change as its event; its history row is made from the event when the unit is written. */
  private changed(events: NewEvent[], workspaceId: string, segmentId: number, personId: string, entered: boolean, at: number): void {
    events.push({ type: entered ? "segment.entered" : "segment.left", workspaceId, messageId: null, recipient: null, data: { personId, segmentId: String(segmentId), at } });
  }
}

/** The change of a (possibly dotted) field in one line of the people domain's timeline ({name, from, to}), or null. */
function changeOfField(detail: { name?: unknown; from?: unknown; to?: unknown }, field: string): { from: unknown; to: unknown } | null {
  if (typeof detail.name !== "string") return null;
  if (detail.name === field) return { from: detail.from, to: detail.to };
  if (!field.startsWith(`${detail.name}.`)) return null;
  const rest = field.slice(detail.name.length + 1);
  const pick = (v: unknown) => (typeof v === "object" && v !== null ? valueAt(v as Record<string, unknown>, rest) : undefined);
  return { from: pick(detail.from), to: pick(detail.to) };
}

/** What evaluation knows of a person. */
interface Known {
  facts: PersonFacts;
  suppressed: boolean;
}

const NO_FACTS: Known = { facts: { attributes: {}, unsubscribed: false, topics: {}, devices: [] }, suppressed: false };

/** Whether a work needs nothing of the person but kept matches (new events for event-only segments). */
function onlyMatches(work: PersonWork): boolean {
  if (work.seed || work.resetState || work.absorbed.length > 0 || work.person || work.hits.length === 0) return false;
  for (const segment of work.segments) if (segment.readsFacts) return false;
  return true;
}

/** The most recent `keep` hits, one per id, most recent first. */
export function keepMostRecent(hits: readonly Hit[], keep: number): Hit[] {
  const byId = new Map<number, Hit>();
  for (const hit of hits) byId.set(hit[0], hit);
  return [...byId.values()].sort((a, b) => b[1] - a[1] || b[0] - a[0]).slice(0, keep);
}

function historyRow(event: NewEvent): { workspace_id: string; segment_id: number; person_id: string; entered: number; at: number } {
  const data = event.data as { personId: string; segmentId: string; at: number };
  return { workspace_id: event.workspaceId, segment_id: Number(data.segmentId), person_id: data.personId, entered: event.type === "segment.entered" ? 1 : 0, at: data.at };
}

/** What conditions read: the attributes, with the identifiers id and email among them (segments on email domains are common). */
export function factsOf(person: Person): PersonFacts {
  const attributes: Record<string, unknown> = { ...person.attributes };
  if (person.email !== null && attributes.email === undefined) attributes.email = person.email;
  if (person.id !== null && attributes.id === undefined) attributes.id = person.id;
  return { attributes, unsubscribed: person.unsubscribed, topics: person.topics, devices: person.devices };
}
