// The people domain's service: PeopleIngest and PeopleReader (people.port.ts). apply() runs a
// request's operations in the store's group commit (store.writeGrouped), so concurrent requests
// share one commit and one fsync, and answers only after that commit.
//
// Calls that can share: the calls of one turn whose operations each stand alone (a batch, or a
// call of one operation, where all-or-nothing is the same thing, since a refused operation writes
// nothing) run as one ApplyRun in one savepoint. Their people are looked up in one query and their
// events written in one INSERT and one row of the log, instead of ~7 statements per call: a
// single tracked event cost more in statements than in anything else (bench:track). A call of
// several operations that must all apply or none keeps a run of its own. If a shared run itself
// fails with anything but a refusal, each of its calls runs again alone, so that one call's fault
// is never another's answer.
import type { Spans } from "../shared/spans.js";
import type { Db, Store } from "../store/store.js";
import { isLockConflict } from "../store/sql-errors.js";
import type { Clock } from "../shared/clock.js";
import type { EventEmitter } from "../events/outbox.js";
import { isPosthornError, type PosthornError } from "../shared/errors.js";
import type { OperationResult, PeopleFilter, PeopleIngest, PeopleReader, Person, PersonIdentifier, PersonOperation, Page, TrackedEvent, ActivityItem } from "./people.port.js";
import type { PeopleRepository } from "./people.repository.js";
import type { PersonEventsRepository } from "./person-events.repository.js";
import type { DeliveryRecipientRepository } from "./delivery-recipient.repository.js";
import { ApplyRun } from "./people.apply.js";
import { PersonLookupCache } from "./person-lookup-cache.js";
import { RecentEventKeys } from "./recent-event-keys.js";
import { identifierKey } from "./person-state.js";
import { checkOperation } from "./people.limits.js";
import { activityCursorAtMost, activityPage, searchPage, textSearchPage, toPeople, toTrackedEvent } from "./people.reads.js";
import { identifierSearchPage } from "./people.search.js";

/** Customer.io keeps event ids for de-duplication for at least 7 days; so do we by default. */
export const DEFAULT_DEDUPE_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;

export interface PeopleServiceDeps {
  store: Store;
  clock: Clock;
  outbox: EventEmitter;
  people: PeopleRepository;
  events: PersonEventsRepository;
  deliveries: DeliveryRecipientRepository;
  /** Reads the public delivery ids /unsubscribe takes (messages/public-delivery-ids.ts). */
  deliveryIds: { parse(text: string): number | null };
  dedupeWindowMs?: number;
  /** Told the operations of each committed apply() that were applied, counted by op (the metrics). */
  applied?: (workspaceId: string, op: PersonOperation["op"], count: number) => void;
  /** Traces: the events a traced call tracks carry its trace context (journeys continue it). Absent: tracing is off. */
  spans?: Spans;
}

/** One apply() call, as a run takes it. */
interface Call {
  workspaceId: string;
  operations: PersonOperation[];
  /** checkOperation's verdict on each operation: null when it may run. */
  checked: Array<PosthornError | null>;
  /** The first refusal refuses the whole call (and rolls back what it wrote). */
  atomic: boolean;
  /** The trace of the call, read in its own context; null when untraced. */
  traceparent: string | null;
}

/** A call waiting for the run it shares, and how to answer it. */
interface Waiting {
  call: Call;
  resolve(results: OperationResult[]): void;
  reject(err: unknown): void;
}

/** Thrown inside the transaction to roll an atomic request back; carries the answer. */
class Refused extends Error {
  constructor(readonly results: OperationResult[]) {
    super("refused");
  }
}

/**
 * A concurrent writer in another process (PostgreSQL) took the same identifier first, or the two
 * locked the same people in opposite orders: the request runs again and sees the other's result.
 */
const MOST_TRIES = 5;

/** People read per statement by getMany: well under every parameter limit. */
const GET_MANY_CHUNK = 500;

export class PeopleService implements PeopleIngest, PeopleReader {
  /** The calls gathered for the shared run not started yet (null: none is gathering). */
  private gathering: Waiting[] | null = null;

  /** SQLite: who identifiers name, kept in memory between runs (person-lookup-cache.ts). */
  private readonly lookupCache: PersonLookupCache | undefined;
  /** SQLite: tracked events' keys not yet merged into their table (recent-event-keys.ts), one copy per connection. */
  private readonly recentKeys: RecentEventKeys | undefined;

  constructor(private readonly deps: PeopleServiceDeps) {
    this.lookupCache = deps.store.sqlite ? new PersonLookupCache(deps.store.sqlite) : undefined;
    this.recentKeys = deps.store.sqlite ? RecentEventKeys.of(deps.store.sqlite) : undefined;
  }

  async apply(workspaceId: string, operations: PersonOperation[], options: { atomic?: boolean } = {}): Promise<OperationResult[]> {
    if (operations.length === 0) return [];
    const checked = operations.map((op) => checkOperation(op));
    const firstBad = checked.find((e) => e !== null);
    if (options.atomic && firstBad) return operations.map(() => refusal(firstBad));
    // Read here, in the caller's context: the grouped write may run the work in another call's.
    const traceparent = this.deps.spans?.current() ?? null;
    const shares = options.atomic !== true || operations.length === 1;
    const call: Call = { workspaceId, operations, checked, atomic: !shares, traceparent };
    for (let attempt = 1; ; attempt++) {
      try {
        const results = shares ? await this.shared(call) : await this.alone(call);
        if (this.deps.applied) this.count(workspaceId, operations, results);
        return results;
      } catch (err) {
        if (err instanceof Refused) return err.results;
        if (attempt < MOST_TRIES && isRetryable(err)) continue;
        throw err;
      }
    }
  }

  /** Runs the call in a run of its own. */
  private async alone(call: Call): Promise<OperationResult[]> {
    const [results] = await this.deps.store.writeGrouped((trx) => this.run(trx, [call]));
    return results!;
  }

  /**
   * Runs the call in the run shared by the calls made until that run starts: the first call asks
   * the store for a place in its group commit, and the calls made before the store starts it join.
   */
  private shared(call: Call): Promise<OperationResult[]> {
    return new Promise((resolve, reject) => {
      // Not a spread of `call`: that cost ~2 µs a call in V8, more than the rest of this.
      const waiting: Waiting = { call, resolve, reject };
      if (this.gathering) {
        this.gathering.push(waiting);
        return;
      }
      const calls = [waiting];
      this.gathering = calls;
      let failedInRun = false;
      this.deps.store
        .writeGrouped(async (trx) => {
          if (this.gathering === calls) this.gathering = null;
          try {
            return await this.run(trx, calls.map((c) => c.call));
          } catch (err) {
            failedInRun = true;
            throw err;
          }
        })
        .then(
          (results) => calls.forEach((c, i) => c.resolve(results[i]!)),
          (err) => {
            if (this.gathering === calls) this.gathering = null;
            // The run failed: its savepoint was rolled back and nothing of it kept, so each call
            // goes again alone. A failure of the group's commit or fsync is every call's answer
            // as it is: the run may be on disk, and running it again could store its events twice.
            if (!failedInRun || calls.length === 1) {
              for (const c of calls) c.reject(err);
              return;
            }
            for (const c of calls) this.alone(c.call).then(c.resolve, c.reject);
          },
        );
    });
  }

  private count(workspaceId: string, operations: PersonOperation[], results: OperationResult[]): void {
    const byOp = new Map<PersonOperation["op"], number>();
    for (const [i, op] of operations.entries()) if (results[i]?.ok) byOp.set(op.op, (byOp.get(op.op) ?? 0) + 1);
    for (const [op, n] of byOp) this.deps.applied!(workspaceId, op, n);
  }

  /** The calls' operations in order, one ApplyRun per workspace; the results of each call. */
  private async run(trx: Db, calls: Call[]): Promise<OperationResult[][]> {
    const now = this.deps.clock.now();
    const runs = new Map<string, ApplyRun>();
    for (const call of calls) {
      if (runs.has(call.workspaceId)) continue;
      const deps = { people: this.deps.people, events: this.deps.events, outbox: this.deps.outbox, dedupeWindowMs: this.deps.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS, ...(this.lookupCache ? { lookupCache: this.lookupCache } : {}), ...(this.recentKeys ? { recentKeys: this.recentKeys } : {}) };
      const run = new ApplyRun(deps, trx, call.workspaceId, now);
      runs.set(call.workspaceId, run);
      await run.preload(calls.filter((c) => c.workspaceId === call.workspaceId).flatMap((c) => c.operations.filter((_, i) => c.checked[i] === null)));
    }
    const all: OperationResult[][] = [];
    for (const call of calls) {
      const run = runs.get(call.workspaceId)!;
      const results: OperationResult[] = [];
      for (const [i, op] of call.operations.entries()) {
        const bad = call.checked[i];
        if (bad) {
          results.push(refusal(bad));
          continue;
        }
        try {
          results.push({ ok: true, personId: await run.run(op, call.traceparent) });
        } catch (err) {
          if (!isPosthornError(err)) throw err;
          if (call.atomic) throw new Refused(call.operations.map(() => refusal(err)));
          results.push(refusal(err));
        }
      }
      all.push(results);
    }
    for (const run of runs.values()) await run.finish();
    return all;
  }

  async unsubscribeByDelivery(deliveryId: string): Promise<boolean> {
    const rowId = this.deps.deliveryIds.parse(deliveryId);
    if (rowId === null) return false;
    const delivery = await this.deps.deliveries.find(this.deps.store.db, rowId);
    if (!delivery) return false;
    // The recipient becomes (or already is) a person of the workspace, unsubscribed: a later
    // identify of that address cannot quietly resubscribe them without saying so.
    const [result] = await this.apply(delivery.workspaceId, [{ op: "identify", who: { kind: "email", value: delivery.recipient }, attributes: {}, unsubscribed: true }], { atomic: true });
    return result !== undefined;
  }

  async find(workspaceId: string, who: PersonIdentifier): Promise<Person | null> {
    if (!who || typeof who.value !== "string") return null;
    if (who.kind === "cio_id") return this.get(workspaceId, who.value);
    const [row] = await this.deps.people.findIdentifiers(this.deps.store.db, workspaceId, [{ kind: who.kind, key: identifierKey(who.kind, who.value) }]);
    return row ? this.get(workspaceId, row.person_id) : null;
  }

  async get(workspaceId: string, personId: string): Promise<Person | null> {
    const [person] = await toPeople(this.deps.store.db, this.deps.people, await this.deps.people.people(this.deps.store.db, workspaceId, [personId]));
    return person ?? null;
  }

  async getMany(workspaceId: string, personIds: string[]): Promise<Map<string, Person>> {
    const found = new Map<string, Person>();
    const ids = [...new Set(personIds)];
    for (let i = 0; i < ids.length; i += GET_MANY_CHUNK) {
      const rows = await this.deps.people.people(this.deps.store.db, workspaceId, ids.slice(i, i + GET_MANY_CHUNK));
      for (const person of await toPeople(this.deps.store.db, this.deps.people, rows)) found.set(person.personId, person);
    }
    return found;
  }

  async events(workspaceId: string, personId: string, options: { names?: string[]; since?: number; limit: number }): Promise<TrackedEvent[]> {
    if (!(await this.exists(workspaceId, personId))) return [];
    const rows = await this.deps.events.eventsOf(this.deps.store.db, personId, options);
    return rows.map(toTrackedEvent);
  }

  async activity(workspaceId: string, personId: string, options: { limit: number; cursor: string | null }): Promise<Page<ActivityItem>> {
    if (!(await this.exists(workspaceId, personId))) return { items: [], next: null };
    return activityPage(this.deps.store.db, { people: this.deps.people, events: this.deps.events }, personId, options);
  }

  async search(workspaceId: string, filter: PeopleFilter, options: { limit: number; cursor: string | null }): Promise<Page<Person>> {
    return searchPage(this.deps.store.db, this.deps.people, workspaceId, filter, options);
  }

  /** The dashboard's search box (people.search.ts): a cio_id, or an id or email prefix, from indexes only; empty lists everyone. */
  async searchIdentifiers(workspaceId: string, text: string, options: { limit: number; cursor: string | null }): Promise<Page<Person>> {
    if (text.trim() === "") return textSearchPage(this.deps.store.db, this.deps.people, workspaceId, "", options);
    return identifierSearchPage(this.deps.store.db, this.deps.people, workspaceId, text, options);
  }

  /** The dashboard's search of attribute values too (people.reads.ts textSearchPage): a bounded scan, so a page may come back short. */
  async searchText(workspaceId: string, text: string, options: { limit: number; cursor: string | null }): Promise<Page<Person>> {
    return textSearchPage(this.deps.store.db, this.deps.people, workspaceId, text, options);
  }

  /** Events and attribute changes at or before `atMost` (null: all), newest first: a slice of one merged timeline. */
  async activityUpTo(workspaceId: string, personId: string, options: { atMost: number | null; limit: number }): Promise<ActivityItem[]> {
    const page = await this.activity(workspaceId, personId, { limit: options.limit, cursor: options.atMost === null ? null : activityCursorAtMost(options.atMost) });
    return page.items;
  }

  private async exists(workspaceId: string, personId: string): Promise<boolean> {
    return (await this.deps.people.people(this.deps.store.db, workspaceId, [personId])).length > 0;
  }
}

function refusal(err: PosthornError): OperationResult {
  return { ok: false, code: err.code, field: typeof err.details.field === "string" ? err.details.field : null, message: err.message };
}

/**
 * PostgreSQL's unique violation (another process made the same person first) and lock conflicts:
 * another process's transaction, not this request, was in the way. SQLite's one writer at a time
 * has neither, so a unique violation there is this request's own and is not retried.
 */
function isRetryable(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "23505" || isLockConflict(err);
}
