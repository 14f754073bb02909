// Whether a person is in a data-driven segment now, as pure functions of what is known about
// them: their facts (attributes, subscription, devices, from the people domain) and the kept
// state of the segment's event and change conditions (the matching events or changes, most recent
// first, recorded by the membership keeper). Besides the verdict, evaluation says when it may next
// change by the clock alone (a window running out, a date attribute growing old): the keeper sets
// the person's timer for that moment, so nothing ever scans every person.
import type { Condition, EventCondition, Scalar, ValueTest } from "./segment-definition.js";

export interface PersonFacts {
  attributes: Record<string, unknown>;
  unsubscribed: boolean;
  topics: Record<string, boolean>;
  devices: ReadonlyArray<{ platform: string }>;
}

/** One kept match of an event or change condition: [eventRowId (0 for a change), at ms]. */
export type Hit = readonly [id: number, at: number];

/** The kept matches of the condition at a path, most recent first. */
export type StateOf = (path: string) => readonly Hit[];

export interface Verdict {
  matches: boolean;
  /** The earliest moment after now at which a time-windowed condition may flip; null when none can. */
  recheckAt: number | null;
}

export function evaluate(condition: Condition, facts: PersonFacts, stateOf: StateOf, now: number): Verdict {
  const clock = { recheckAt: null as number | null };
  const matches = evaluateIn(condition, facts, stateOf, now, clock);
  return { matches, recheckAt: clock.recheckAt };
}

interface Recheck {
  recheckAt: number | null;
}

function later(clock: Recheck, at: number, now: number): void {
  // Every time-windowed leaf reports its next flip, whatever its polarity in the tree (a window
  // closing under a "not" lets the person in): a timer that changes nothing costs one evaluation.
  if (at > now && (clock.recheckAt === null || at < clock.recheckAt)) clock.recheckAt = at;
}

function evaluateIn(condition: Condition, facts: PersonFacts, stateOf: StateOf, now: number, clock: Recheck): boolean {
  switch (condition.kind) {
    case "and": {
      // Every child is evaluated (no short cut) so that each windowed leaf reports its flip time.
      let all = true;
      for (const child of condition.all) if (!evaluateIn(child, facts, stateOf, now, clock)) all = false;
      return all;
    }
    case "or": {
      let any = false;
      for (const child of condition.any) if (evaluateIn(child, facts, stateOf, now, clock)) any = true;
      return any;
    }
    case "not":
      return !evaluateIn(condition.inner, facts, stateOf, now, clock);
    case "attribute":
      return testAttribute(condition.test, facts.attributes, now, clock);
    case "changed": {
      const latest = stateOf(condition.path)[0];
      if (!latest) return false;
      if (condition.changed.withinMs === null) return true;
      const until = latest[1] + condition.changed.withinMs;
      later(clock, until, now);
      return until > now;
    }
    case "event":
      return countEvents(condition.event, stateOf(condition.path), now, clock);
    case "device":
      return facts.devices.some((d) => condition.platform === null || d.platform.toLowerCase() === condition.platform);
    case "subscription":
      if (condition.unsubscribed !== null) return facts.unsubscribed === condition.unsubscribed;
      // A topic the person never chose counts as subscribed (Customer.io's opt-out topics).
      return (facts.topics[condition.topic!] ?? true) === condition.subscribed;
  }
}

function countEvents(event: EventCondition, hits: readonly Hit[], now: number, clock: Recheck): boolean {
  if (event.withinMs === null) return hits.length >= event.atLeast;
  const since = now - event.withinMs;
  // Hits are most recent first: the at_least-th one decides, and its leaving the window is the flip.
  const nth = hits[event.atLeast - 1];
  if (!nth || nth[1] <= since) return false;
  later(clock, nth[1] + event.withinMs, now);
  return true;
}

/** Whether one event matches an event condition (name, type, property tests). Recorded as a hit when it does. */
export function eventMatches(event: EventCondition, name: string, type: string, at: number, properties: Record<string, unknown>): boolean {
  if (name !== event.name) return false;
  if (event.type !== null && type !== event.type) return false;
  if (event.between && (at < event.between.from || at > event.between.to)) return false;
  return event.where.every((test) => testValue(test, valueAt(properties, test.field)));
}

/** Whether an attribute change (from → to) matches a changed condition. */
export function changeMatches(condition: { from: unknown; to: unknown; hasFrom: boolean; hasTo: boolean }, from: unknown, to: unknown): boolean {
  if (sameValue(from, to)) return false;
  if (condition.hasFrom && !sameValue(from ?? null, condition.from ?? null)) return false;
  if (condition.hasTo && !sameValue(to ?? null, condition.to ?? null)) return false;
  return true;
}

function testAttribute(test: ValueTest, attributes: Record<string, unknown>, now: number, clock: Recheck): boolean {
  const value = valueAt(attributes, test.field);
  if (test.operator !== "older_than" && test.operator !== "newer_than") return testValue(test, value);
  const at = dateOf(value);
  if (at === null) return false;
  // older_than: true from at + d on; newer_than: true until at + d.
  const flip = at + test.value;
  later(clock, flip, now);
  return test.operator === "older_than" ? flip <= now : flip > now;
}

/** A test of a value against now-independent operators (older_than/newer_than are answered above). */
export function testValue(test: ValueTest, value: unknown): boolean {
  switch (test.operator) {
    case "exists":
      return value !== undefined && value !== null;
    case "eq":
      return looseEqual(value, test.value);
    case "neq":
      // A person without the attribute does not equal the value either.
      return !looseEqual(value, test.value);
    case "contains":
      if (typeof value === "string") return value.includes(String(test.value));
      if (Array.isArray(value)) return value.some((v) => looseEqual(v, test.value));
      return false;
    case "in":
      return test.value.some((v) => looseEqual(value, v));
    case "gt":
    case "gte":
    case "lt":
    case "lte": {
      const n = numberOf(value);
      if (n === null) return false;
      return test.operator === "gt" ? n > test.value : test.operator === "gte" ? n >= test.value : test.operator === "lt" ? n < test.value : n <= test.value;
    }
    case "before":
    case "after": {
      const at = dateOf(value);
      if (at === null) return false;
      return test.operator === "before" ? at < test.value : at > test.value;
    }
    case "older_than":
    case "newer_than":
      return false;
  }
}

/**
 * The value at a dotted field: the attribute named with the dots, if there is one (names may hold
 * dots), else the path into nested objects.
 */
export function valueAt(record: Record<string, unknown>, field: string): unknown {
  if (field in record) return record[field];
  let current: unknown = record;
  for (const part of field.split(".")) {
    if (typeof current !== "object" || current === null) return undefined;
    current = Array.isArray(current) && /^\d+$/.test(part) ? current[Number(part)] : (current as Record<string, unknown>)[part];
  }
  return current;
}

/** Equal as Customer.io compares: the same scalar, or a number and its text ("42" and 42), "true" and true. */
function looseEqual(value: unknown, expected: Scalar): boolean {
  if (value === expected) return true;
  if (value === null || value === undefined || typeof value === "object") return false;
  return String(value) === String(expected);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return JSON.stringify(a) === JSON.stringify(b);
}

function numberOf(value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && value.trim() !== "") {
    const n = Number(value);
    if (Number.isFinite(n)) return n;
  }
  return null;
}

/** A date attribute as ms: unix seconds (Customer.io's timestamps; ms when too large to be seconds) or ISO 8601 text. */
export function dateOf(value: unknown): number | null {
  const n = numberOf(value);
  if (n !== null) return Math.abs(n) < 1e11 ? Math.round(n * 1000) : Math.round(n);
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}/.test(value)) {
    const ms = Date.parse(value);
    return Number.isFinite(ms) ? ms : null;
  }
  return null;
}
