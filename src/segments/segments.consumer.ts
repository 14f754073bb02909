// The outbox consumer that keeps data-driven segments current in real time. Each batch of the
// people domain's events becomes, per person, the segments the index says can change (an event's
// name, a changed attribute, a device, the subscription) and the matches to keep; the keeper then
// evaluates those and writes entries and exits in one transaction. Events that no segment reads
// cost a map lookup and nothing else, so ingest at full speed is not held up by segment upkeep.
//
// At least once: a batch handed over again records no match twice (matches are kept by event id)
// and enters no one twice (an entry is written only when the person was not in).
import type { Consumer } from "../events/outbox.runner.js";
import { isEvent, type EventType, type RecordedEvent } from "../events/event-map.js";
import type { MembershipKeeper, PersonWork } from "./membership.keeper.js";
import { newWork } from "./membership.keeper.js";
import { changeMatches, eventMatches, valueAt } from "./segment-evaluator.js";
import type { CompiledSegment, SegmentIndex } from "./segment-index.js";

export const SEGMENTS_CONSUMER = "segments.membership";

export const PERSON_EVENT_TYPES: readonly EventType[] = ["person.identified", "person.event", "person.deleted", "person.merged", "person.suppressed", "person.device-changed"];

export function segmentsConsumer(deps: { keeper: MembershipKeeper }): Consumer {
  return {
    name: SEGMENTS_CONSUMER,
    types: PERSON_EVENT_TYPES,
    async handle(events) {
      const index = await deps.keeper.refreshIndex();
      const works = worksOf(events, index);
      if (works.length > 0) await deps.keeper.apply(works);
    },
  };
}

/** What a batch of person events asks of the keeper, one work per person, in order. */
export function worksOf(events: RecordedEvent[], index: SegmentIndex): PersonWork[] {
  const works = new Map<string, PersonWork>();
  const workOf = (workspaceId: string, personId: string) => {
    const key = `${workspaceId}\u0000${personId}`;
    let work = works.get(key);
    if (!work) works.set(key, (work = newWork(workspaceId, personId)));
    return work;
  };
  const addAll = (work: PersonWork, segments: readonly CompiledSegment[]) => {
    for (const segment of segments) work.segments.add(segment);
  };
  for (const event of events) {
    const ws = event.workspaceId;
    if (isEvent(event, "person.event")) {
      const { personId, name, eventType, timestamp, properties, eventRowId } = event.data;
      // An anonymous event waits: the merge that attaches it reads it back (seed).
      if (personId === null) continue;
      for (const segment of index.forEvent(ws, name)) {
        for (const { path, event: condition } of segment.events) {
          if (!eventMatches(condition, name, eventType, timestamp, properties)) continue;
          const work = workOf(ws, personId);
          work.hits.push({ segment, path, hit: [eventRowId, timestamp], keep: condition.atLeast });
          work.segments.add(segment);
        }
      }
    } else if (isEvent(event, "person.identified")) {
      const { personId, created, changes } = event.data;
      const work = workOf(ws, personId);
      // A new person may match any segment (a "not", an attribute given at creation).
      const segments = created ? index.all(ws) : index.forChanges(ws, Object.keys(changes));
      addAll(work, segments);
      for (const segment of segments) {
        for (const { path, changed } of segment.changes) {
          const change = changeOf(changes, changed.field);
          if (change && changeMatches(changed, change.from, change.to)) work.hits.push({ segment, path, hit: [event.id, event.createdAt], keep: 1 });
        }
      }
    } else if (isEvent(event, "person.device-changed")) {
      addAll(workOf(ws, event.data.personId), index.forDevices(ws));
    } else if (isEvent(event, "person.suppressed")) {
      const work = workOf(ws, event.data.personId);
      addAll(work, index.all(ws));
      // Suppression deletes the person's events and attributes: the matches kept from them go too.
      if (event.data.suppressed) work.resetState = true;
    } else if (isEvent(event, "person.deleted")) {
      const work = workOf(ws, event.data.personId);
      work.deleted = true;
    } else if (isEvent(event, "person.merged")) {
      const work = workOf(ws, event.data.personId);
      // The merged person's events (or the anonymous ones) are the primary's now: read them back.
      addAll(work, index.all(ws));
      work.seed = true;
      if (event.data.mergedId !== null) work.absorbed.push(event.data.mergedId);
    }
  }
  // The deleted last: a merge's secondary is deleted too, and its manual memberships move first.
  const list = [...works.values()].filter((w) => w.deleted || w.segments.size > 0 || w.absorbed.length > 0);
  return [...list.filter((w) => !w.deleted), ...list.filter((w) => w.deleted)];
}

/** The change of a (possibly dotted) field among the changes of an identify. */
function changeOf(changes: Record<string, { from: unknown; to: unknown }>, field: string): { from: unknown; to: unknown } | null {
  const direct = changes[field];
  if (direct) return direct;
  const dot = field.indexOf(".");
  if (dot < 0) return null;
  const top = changes[field.slice(0, dot)];
  if (!top) return null;
  const rest = field.slice(dot + 1);
  const pick = (v: unknown) => (typeof v === "object" && v !== null ? valueAt(v as Record<string, unknown>, rest) : undefined);
  return { from: pick(top.from), to: pick(top.to) };
}
