// The outbox consumer that turns the people domain's events into journey runs and tells running
// runs what happened to their person:
// - person.event: starts runs of journeys with a matching event trigger; signals the person's runs
//   when any journey waits for, exits on or converts on that event name (or waits on a condition);
// - segment.entered / segment.left: segment triggers; segment_left exits;
// - person.identified: date triggers (an entry scheduled at the attribute's time plus the offset,
//   moved when the attribute changes); condition waits looked at again;
// - person.deleted: the person's runs end (reason person_deleted).
// An event that no journey cares about costs a map lookup (journey-triggers.index.ts).
//
// A handling consumer (at least once), not a transactional one: filters read the person through
// the people domain, which on SQLite cannot be read from inside a write transaction on the one
// connection. Repeats are harmless: a run's trigger key is the outbox event's id (unique per
// journey), and a signal is kept once per (run, event).
import type { HandlingConsumer } from "../events/outbox.runner.js";
import { isEvent, type EventType, type RecordedEvent } from "../events/event-map.js";
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { TrackedEvent } from "../people/people.port.js";
import type { RunScope } from "./journey-interpreter.port.js";
import type { JourneyDefinition } from "./journey.model.js";
import { JourneyIndex, type IndexedJourney } from "./journey-triggers.index.js";
import { dateTriggerKey, enterRuns, prepareEntry, saveCounts, scheduledRun, type Entry, type EntryDeps } from "./journey-runtime.entry.js";
import { CountDeltas } from "./journey-runtime.runs.js";
import { lockEntries } from "./journeys.repository.js";
import { runEnvironment, type EnvironmentDeps } from "./journey-runtime.environment.js";

export const JOURNEYS_CONSUMER = "journeys.triggers";

export const JOURNEY_TRIGGER_TYPES: readonly EventType[] = ["person.event", "person.identified", "person.deleted", "segment.entered", "segment.left"];

/** A date trigger whose time passed longer ago than this when the attribute was set does not start a run. */
const DATE_GRACE_MS = 86_400_000;

export interface TriggersDeps extends EntryDeps {
  store: Store;
  clock: Clock;
  environment: EnvironmentDeps;
  /** Runs were entered or signalled: the local runtime looks at once. */
  onRunsDue?: () => void;
}

type Signal = { run_id: string; event_id: number; kind: "event" | "segment_left" | "changed" | "deleted"; data_json: string; created_at: number };
interface Candidate {
  journey: IndexedJourney;
  personId: string;
  scope: RunScope;
  triggerKey: string;
  prepared?: Entry["prepared"];
  traceparent?: string | null;
}
interface DateChange {
  journey: IndexedJourney;
  personId: string;
  /** null: the attribute went (or is not a date): the scheduled entry goes. */
  dueAt: number | null;
  value: unknown;
}

export class JourneyTriggers {
  private index: JourneyIndex | null = null;
  private revision = -1;

  constructor(private readonly deps: TriggersDeps) {}

  consumer(): HandlingConsumer {
    return { name: JOURNEYS_CONSUMER, types: JOURNEY_TRIGGER_TYPES, handle: (events) => this.handle(events) };
  }

  /** The index of live journeys, rebuilt when a journey changed (one indexed read per batch otherwise). */
  async refreshIndex(): Promise<JourneyIndex> {
    const revision = await this.deps.repository.revision(this.deps.store.db);
    if (this.index && revision === this.revision) return this.index;
    const rows = await this.deps.repository.activeVersions(this.deps.store.db);
    const all = rows.map((r) => ({ journeyId: Number(r.journey_id), workspaceId: r.workspace_id, version: r.version, definition: JSON.parse(r.definition_json) as JourneyDefinition, live: r.state === "live" && r.version === r.current }));
    this.index = new JourneyIndex(all.filter((j) => j.live), all);
    this.revision = revision;
    return this.index;
  }

  async handle(events: RecordedEvent[]): Promise<void> {
    const index = await this.refreshIndex();
    const candidates: Candidate[] = [];
    const dates: DateChange[] = [];
    const signalWants: Array<{ workspaceId: string; personId: string; eventId: number; kind: Signal["kind"]; data: unknown }> = [];
    const deleted: Array<{ workspaceId: string; personId: string }> = [];
    for (const event of events) {
      const ws = event.workspaceId;
      if (isEvent(event, "person.event")) {
        const { personId, name } = event.data;
        if (personId === null) continue;
        const tracked = trackedOf(event.id, event.createdAt, event.data);
        for (const journey of index.startedByEvent(ws, name)) {
          if (!this.deps.interpreter.triggeredBy(journey.definition, tracked)) continue;
          const scope: RunScope = { trigger: { ...event.data.properties }, event: { ...event.data.properties, name, timestamp: event.data.timestamp }, journey: {}, steps: {} };
          candidates.push({ journey, personId, scope, triggerKey: `e${event.id}`, traceparent: event.data.traceparent ?? null });
        }
        if (index.runsCareAboutEvent(ws, name)) signalWants.push({ workspaceId: ws, personId, eventId: event.id, kind: "event", data: tracked });
      } else if (isEvent(event, "segment.entered") || isEvent(event, "segment.left")) {
        const on = event.type === "segment.entered" ? "entered" : "left";
        const { personId, segmentId } = event.data;
        for (const journey of index.startedBySegment(ws, segmentId)) {
          if (journey.definition.trigger.kind === "segment" && journey.definition.trigger.on === on) {
            candidates.push({ journey, personId, scope: { trigger: { segment_id: segmentId }, event: null, journey: {}, steps: {} }, triggerKey: `e${event.id}` });
          }
        }
        if (index.runsCareAboutSegment(ws, segmentId)) signalWants.push({ workspaceId: ws, personId, eventId: event.id, kind: on === "left" ? "segment_left" : "changed", data: { segmentId } });
      } else if (isEvent(event, "person.identified")) {
        const { personId, changes } = event.data;
        for (const [attribute, change] of Object.entries(changes)) {
          for (const journey of index.startedByDate(ws, attribute)) {
            const trigger = journey.definition.trigger;
            if (trigger.kind !== "date") continue;
            const at = dateOf(change.to);
            dates.push({ journey, personId, dueAt: at === null ? null : at + trigger.offsetMs, value: change.to });
          }
        }
        if (index.hasConditionWaits(ws)) signalWants.push({ workspaceId: ws, personId, eventId: event.id, kind: "changed", data: {} });
      } else if (isEvent(event, "person.deleted")) {
        deleted.push({ workspaceId: ws, personId: event.data.personId });
        signalWants.push({ workspaceId: ws, personId: event.data.personId, eventId: event.id, kind: "deleted", data: {} });
      }
    }
    if (candidates.length === 0 && dates.length === 0 && signalWants.length === 0) return;
    const now = this.deps.clock.now();
    const admitted = await this.admitted(candidates, now);
    const signals = await this.signalsFor(signalWants, now);
    let entered = 0;
    await this.deps.store.write(async (trx) => {
      const counts = new CountDeltas();
      for (const { journey, entries } of groupByJourney(admitted)) entered += (await enterRuns(trx, this.deps, journey, entries, counts, now)).length;
      await saveCounts(trx, this.deps.repository, counts);
      await this.deps.repository.addSignals(trx, signals, now);
      for (const change of dates) await this.schedule(trx, change, now);
      for (const { workspaceId, personId } of deleted) await this.deps.repository.deleteScheduledOf(trx, workspaceId, personId);
    });
    if (entered > 0 || signals.length > 0 || dates.length > 0) this.deps.onRunsDue?.();
  }

  /** Candidates whose person exists and passes the journey's filters (read outside the writing transaction). */
  private async admitted(candidates: Candidate[], now: number): Promise<Candidate[]> {
    const out: Candidate[] = [];
    for (const candidate of candidates) {
      const env = runEnvironment(this.deps.environment, { workspaceId: candidate.journey.workspaceId, personId: candidate.personId, runId: "" }, now);
      if ((await env.person()) === null) continue;
      if (candidate.journey.definition.filters !== null && !(await this.deps.interpreter.admits(candidate.journey.definition, env))) continue;
      const { prepared } = await prepareEntry(this.deps.interpreter, candidate.journey, candidate, env, now);
      out.push({ ...candidate, prepared });
    }
    return out;
  }

  private async signalsFor(wants: Array<{ workspaceId: string; personId: string; eventId: number; kind: Signal["kind"]; data: unknown }>, now: number): Promise<Signal[]> {
    const runsByPerson = new Map<string, string[]>();
    const out: Signal[] = [];
    for (const want of wants) {
      const key = `${want.workspaceId}\u0000${want.personId}`;
      let runs = runsByPerson.get(key);
      if (!runs) {
        runs = (await this.deps.repository.openRunsOf(this.deps.store.db, want.workspaceId, want.personId)).map((r) => r.run_id);
        runsByPerson.set(key, runs);
      }
      for (const runId of runs) out.push({ run_id: runId, event_id: want.eventId, kind: want.kind, data_json: JSON.stringify(want.data), created_at: now });
    }
    return out;
  }

  /** Sets, moves or drops the person's scheduled entry into a date-triggered journey. */
  private async schedule(trx: Parameters<Parameters<Store["write"]>[0]>[0], change: DateChange, now: number): Promise<void> {
    // Under the person's entry lock: a backfill scheduling the same journey at once (journey-backfill.processor.ts) waits, then sees this row.
    await lockEntries(this.deps.repository.dialect, trx, change.journey.journeyId, [change.personId]);
    const existing = await this.deps.repository.scheduledEntry(trx, change.journey.journeyId, change.personId);
    if (change.dueAt === null || change.dueAt < now - DATE_GRACE_MS) {
      if (existing) await this.deps.repository.deleteScheduled(trx, existing.run_id);
      return;
    }
    if (existing) {
      if (Number(existing.due_at) !== change.dueAt) await this.deps.repository.moveScheduled(trx, existing.run_id, change.dueAt, dateTriggerKey(change.personId, change.dueAt), now);
      return;
    }
    await this.deps.repository.insertRun(trx, scheduledRun(change.journey, change.personId, change.value, change.dueAt, now));
  }
}

function groupByJourney(candidates: Candidate[]): Array<{ journey: IndexedJourney; entries: Entry[] }> {
  const groups = new Map<number, { journey: IndexedJourney; entries: Entry[] }>();
  for (const c of candidates) {
    let group = groups.get(c.journey.journeyId);
    if (!group) groups.set(c.journey.journeyId, (group = { journey: c.journey, entries: [] }));
    group.entries.push({ personId: c.personId, scope: c.scope, triggerKey: c.triggerKey, prepared: c.prepared, traceparent: c.traceparent ?? null });
  }
  // In journey order: each group takes its people's entry locks (journey-runtime.entry.ts), and
  // two transactions taking them in one global order cannot deadlock.
  return [...groups.values()].sort((a, b) => a.journey.journeyId - b.journey.journeyId);
}

function trackedOf(eventId: number, createdAt: number, data: { personId: string | null; anonymousId: string | null; name: string; eventType: "event" | "page" | "screen"; properties: Record<string, unknown>; timestamp: number; eventRowId: number }): TrackedEvent {
  return { eventRowId: data.eventRowId, personId: data.personId, anonymousId: data.anonymousId, name: data.name, type: data.eventType, dedupeKey: null, data: data.properties, timestamp: data.timestamp, receivedAt: createdAt };
}

/** A date attribute as ms: unix seconds (below 10^11), unix ms, or ISO text; null when it is none of these. */
export function dateOf(value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value)) return value < 1e11 ? value * 1000 : value;
  if (typeof value === "string" && value.trim() !== "") {
    if (/^\d+(\.\d+)?$/.test(value.trim())) return dateOf(Number(value));
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? null : parsed;
  }
  return null;
}
