// Journey conditions answered for one run at one moment, and the event matching that triggers,
// waits, exits and goals share. Person leaves go through the segments' own evaluator (one meaning
// for "attribute plan eq pro" everywhere); their event leaves are fed from the environment's
// events of the person instead of the segments' kept state.
import type { Person, TrackedEvent } from "../people/people.port.js";
import { leavesOf, type Condition, type ValueTest } from "../segments/segment-definition.js";
import { evaluate, eventMatches, testValue, valueAt, type Hit, type PersonFacts } from "../segments/segment-evaluator.js";
import type { JourneyEnvironment, RunScope } from "./journey-interpreter.port.js";
import type { JourneyCondition } from "./journey.model.js";

/**
 * Events of one name looked at for an event leaf (the newest first). An event leaf with
 * `at_least: n` and property tests is answered from the newest this many events of that name in
 * its window: a person with more is judged on those.
 */
export const EVENTS_LOOKED_AT = 1_000;

/**
 * What one evaluation reads, fetched at most once each (a person read per condition, not per leaf),
 * and the earliest moment after now at which the clock alone may change the answer (`recheckAt`).
 */
export class ConditionReader {
  private personRead: Promise<Person | null> | null = null;
  /**
   * The soonest flip of a time-dependent leaf that was looked at: an attribute's older_than or
   * newer_than, an event leaf's window, an event stamped in the future. Leaves skipped by and/or
   * short cuts need not report: an `and` stays false while its false child does (whose flip is
   * reported), an `or` true while its true child does. null: only a change of the person can.
   */
  recheckAt: number | null = null;

  constructor(
    readonly env: JourneyEnvironment,
    readonly scope: RunScope | null,
  ) {}

  person(): Promise<Person | null> {
    this.personRead ??= this.env.person();
    return this.personRead;
  }

  later(at: number | null): void {
    if (at !== null && at > this.env.now && (this.recheckAt === null || at < this.recheckAt)) this.recheckAt = at;
  }
}

export async function holds(condition: JourneyCondition, reader: ConditionReader): Promise<boolean> {
  switch (condition.kind) {
    case "and":
      for (const c of condition.all) if (!(await holds(c, reader))) return false;
      return true;
    case "or":
      for (const c of condition.any) if (await holds(c, reader)) return true;
      return false;
    case "not":
      return !(await holds(condition.inner, reader));
    case "person":
      return personHolds(condition.condition, reader);
    case "segment":
      return (await reader.env.inSegment(condition.segmentId)) === condition.member;
    case "message": {
      if (condition.status === "skipped" && reader.scope?.steps[condition.stepId]?.skipped !== undefined) return true;
      const statuses = await reader.env.messageStatus(condition.stepId);
      return statuses !== null && statuses.includes(condition.status);
    }
    case "data":
      return reader.scope !== null && testValue(condition.test, scopeValue(reader.scope, condition.test.field));
  }
}

async function personHolds(condition: Condition, reader: ConditionReader): Promise<boolean> {
  const person = await reader.person();
  const facts: PersonFacts = person ? factsOf(person) : { attributes: {}, unsubscribed: false, topics: {}, devices: [] };
  const now = reader.env.now;
  const hits = new Map<string, Hit[]>();
  for (const leaf of leavesOf(condition)) {
    if (leaf.kind !== "event") continue;
    const e = leaf.event;
    const since = e.withinMs !== null ? now - e.withinMs : e.between ? e.between.from : 0;
    const events = await reader.env.events(e.name, since, EVENTS_LOOKED_AT);
    const matching = events.filter((ev) => eventMatches(e, ev.name, ev.type, ev.timestamp, ev.data));
    // An event stamped ahead of now (a client's clock, a scheduled import) counts once its time comes.
    for (const ev of matching) if (ev.timestamp > now) reader.later(ev.timestamp);
    hits.set(
      leaf.path,
      matching.filter((ev) => ev.timestamp <= now).map((ev): Hit => [ev.eventRowId, ev.timestamp]),
    );
  }
  const verdict = evaluate(condition, facts, (path) => hits.get(path) ?? [], now);
  reader.later(verdict.recheckAt);
  return verdict.matches;
}

/**
 * The person as conditions read them: their attributes, with id and email among them unless an
 * attribute of that name exists — as the segments' membership keeper reads them (factsOf in
 * src/segments/membership.keeper.ts, not imported: that module brings the keeper's storage).
 */
function factsOf(person: Person): PersonFacts {
  const attributes: Record<string, unknown> = { ...person.attributes };
  if (person.email !== null && attributes.email === undefined) attributes.email = person.email;
  if (person.id !== null && attributes.id === undefined) attributes.id = person.id;
  return { attributes, unsubscribed: person.unsubscribed, topics: person.topics, devices: person.devices };
}

/**
 * A value of the run's scope by a dotted path with optional indexes: `trigger.total`,
 * `steps.call.response.body.items[0].id`.
 */
export function scopeValue(scope: RunScope, field: string): unknown {
  return valueAt(scope as unknown as Record<string, unknown>, field.replace(/\[(\d+)\]/g, ".$1"));
}

/** An event as a trigger, wait, exit or goal names it: its name, property tests and match values (already rendered). */
export function eventSatisfies(spec: { name: string; where: ValueTest[]; match: Record<string, string> }, event: TrackedEvent): boolean {
  if (event.name !== spec.name) return false;
  if (!spec.where.every((t) => testValue(t, valueAt(event.data, t.field)))) return false;
  for (const [field, expected] of Object.entries(spec.match)) {
    // Compared as text: a match value is rendered Liquid, the property may be a number.
    const actual = valueAt(event.data, field);
    if (actual === undefined || actual === null) return false;
    if ((typeof actual === "object" ? JSON.stringify(actual) : String(actual)) !== expected) return false;
  }
  return true;
}
