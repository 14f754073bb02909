// The definition language of data-driven segments: JSON conditions, checked here into a typed
// tree. Every refusal names the path of the bad field ("conditions.and[2].event.within"), so a
// definition written by hand in a file or sent to the App API says exactly where it is wrong.
// The language (README.md has examples):
//   {and: [...]} | {or: [...]} | {not: c}
//   {attribute: {field, operator, value?}}        eq neq contains exists gt gte lt lte in before after
//                                                 older_than newer_than (a date attribute against now)
//   {changed:   {field, from?, to?, within?}}     an attribute changed (from/to match when given)
//   {event:     {name, type?, where?: [{field, operator, value?}], at_least?, within? | between?}}
//   {device:    {platform?}}                      has a device (of that platform)
//   {subscription: {unsubscribed: bool} | {topic, subscribed: bool}}
import { parseDuration } from "../shared/durations.js";
import { SegmentDefinitionInvalid } from "./segments.errors.js";

export type Scalar = string | number | boolean;

export type AttributeOperator = "eq" | "neq" | "contains" | "exists" | "gt" | "gte" | "lt" | "lte" | "in" | "before" | "after" | "older_than" | "newer_than";

/** A test of one value: a person's attribute or an event's property. `field` is dotted ("address.city"). */
export type ValueTest =
  | { field: string; operator: "exists" }
  | { field: string; operator: "eq" | "neq" | "contains"; value: Scalar }
  | { field: string; operator: "gt" | "gte" | "lt" | "lte"; value: number }
  | { field: string; operator: "in"; value: Scalar[] }
  /** value: ms since the epoch. */
  | { field: string; operator: "before" | "after"; value: number }
  /** value: a duration in ms; the attribute is a date compared with now minus it (time-windowed). */
  | { field: string; operator: "older_than" | "newer_than"; value: number };

export type EventKind = "event" | "page" | "screen";

export interface EventCondition {
  name: string;
  type: EventKind | null;
  where: ValueTest[];
  atLeast: number;
  /** ms: only events within this long before now count (time-windowed). */
  withinMs: number | null;
  /** ms since the epoch, inclusive: only events whose timestamp lies between count. */
  between: { from: number; to: number } | null;
}

export interface ChangedCondition {
  field: string;
  /** undefined: any value; null: the attribute was absent. */
  from: unknown;
  to: unknown;
  hasFrom: boolean;
  hasTo: boolean;
  withinMs: number | null;
}

/** A condition with the path that names it (its state and timers are kept under this path). */
export type Condition =
  | { kind: "and"; path: string; all: Condition[] }
  | { kind: "or"; path: string; any: Condition[] }
  | { kind: "not"; path: string; inner: Condition }
  | { kind: "attribute"; path: string; test: ValueTest }
  | { kind: "changed"; path: string; changed: ChangedCondition }
  | { kind: "event"; path: string; event: EventCondition }
  | { kind: "device"; path: string; platform: string | null }
  | { kind: "subscription"; path: string; unsubscribed: boolean | null; topic: string | null; subscribed: boolean | null };

/** Bounds on a definition, so one segment cannot make every evaluation slow. */
export const DEFINITION_LIMITS = {
  depth: 10,
  conditions: 100,
  listValues: 1_000,
  /** An event condition keeps this many of a person's matching events at most (its at_least). */
  atLeast: 1_000,
  fieldBytes: 150,
  eventNameBytes: 100,
  stringValueBytes: 1_000,
  /** Five years: a longer window is "ever". */
  withinMs: 5 * 365 * 86_400_000,
} as const;

const ATTRIBUTE_OPERATORS: readonly AttributeOperator[] = ["eq", "neq", "contains", "exists", "gt", "gte", "lt", "lte", "in", "before", "after", "older_than", "newer_than"];
/** Event properties are compared with the event as it was: no operator measured against now. */
export const PROPERTY_OPERATORS: readonly AttributeOperator[] = ATTRIBUTE_OPERATORS.filter((o) => o !== "older_than" && o !== "newer_than");

type Json = Record<string, unknown>;

function fail(path: string, message: string): never {
  throw SegmentDefinitionInvalid(`${path}: ${message}`, { field: path });
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function onlyKeys(value: Json, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) fail(`${path}.${key}`, `unknown key (expected ${allowed.join(", ")})`);
}

/** Checks a definition and returns its typed tree; throws SEGMENT_DEFINITION_INVALID naming the field. */
export function parseConditions(input: unknown, root = "conditions"): Condition {
  const counter = { n: 0 };
  return parseCondition(input, root, 1, counter);
}

function parseCondition(input: unknown, path: string, depth: number, counter: { n: number }): Condition {
  if (depth > DEFINITION_LIMITS.depth) fail(path, `nested more than ${DEFINITION_LIMITS.depth} deep`);
  counter.n += 1;
  if (counter.n > DEFINITION_LIMITS.conditions) fail(path, `a definition has at most ${DEFINITION_LIMITS.conditions} conditions`);
  if (!isObject(input)) fail(path, "must be an object with one key: and, or, not, attribute, changed, event, device or subscription");
  const keys = Object.keys(input);
  if (keys.length !== 1) fail(path, `must have exactly one key (found ${keys.length === 0 ? "none" : keys.join(", ")})`);
  const key = keys[0]!;
  const value = input[key];
  const at = `${path}.${key}`;
  switch (key) {
    case "and":
    case "or": {
      if (!Array.isArray(value) || value.length === 0) fail(at, "must be a non-empty array of conditions");
      const children = value.map((c, i) => parseCondition(c, `${at}[${i}]`, depth + 1, counter));
      return key === "and" ? { kind: "and", path: at, all: children } : { kind: "or", path: at, any: children };
    }
    case "not":
      return { kind: "not", path: at, inner: parseCondition(value, at, depth + 1, counter) };
    case "attribute":
      return { kind: "attribute", path: at, test: parseValueTest(value, at, ATTRIBUTE_OPERATORS) };
    case "changed":
      return { kind: "changed", path: at, changed: parseChanged(value, at) };
    case "event":
      return { kind: "event", path: at, event: parseEvent(value, at) };
    case "device": {
      if (!isObject(value)) fail(at, "must be an object ({} or {platform})");
      onlyKeys(value, at, ["platform"]);
      if (value.platform !== undefined && (typeof value.platform !== "string" || value.platform === "")) fail(`${at}.platform`, "must be a non-empty string (ios, android, …)");
      return { kind: "device", path: at, platform: typeof value.platform === "string" ? value.platform.toLowerCase() : null };
    }
    case "subscription":
      return parseSubscription(value, at);
    default:
      return fail(at, "unknown condition (expected and, or, not, attribute, changed, event, device or subscription)");
  }
}

function parseField(value: unknown, path: string): string {
  if (typeof value !== "string" || value.length === 0) fail(path, "must be a non-empty string");
  if (Buffer.byteLength(value) > DEFINITION_LIMITS.fieldBytes) fail(path, `must be at most ${DEFINITION_LIMITS.fieldBytes} bytes`);
  if (value.split(".").some((part) => part === "")) fail(path, "must not have an empty part between dots");
  return value;
}

function parseScalar(value: unknown, path: string): Scalar {
  if (typeof value === "string") {
    if (Buffer.byteLength(value) > DEFINITION_LIMITS.stringValueBytes) fail(path, `must be at most ${DEFINITION_LIMITS.stringValueBytes} bytes`);
    return value;
  }
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "boolean") return value;
  return fail(path, "must be a string, a number or a boolean");
}

/** A date: ISO 8601 text or unix seconds (Customer.io's timestamps), as ms since the epoch. */
export function parseDate(value: unknown, path: string): number {
  if (typeof value === "number" && Number.isFinite(value)) return Math.round(value * 1000);
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}/.test(value)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  return fail(path, "must be a date: ISO 8601 text (2026-01-31T00:00:00Z) or unix seconds");
}

export function parseWithin(value: unknown, path: string): number {
  if (typeof value !== "string") fail(path, 'must be a duration such as "30d", "12h", "15m" or "90s"');
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    return fail(path, 'must be a duration such as "30d", "12h", "15m" or "90s"');
  }
  if (ms < 1000) fail(path, "must be at least 1s");
  if (ms > DEFINITION_LIMITS.withinMs) fail(path, "must be at most 5 years (1825d)");
  return ms;
}

export function parseValueTest(input: unknown, path: string, operators: readonly AttributeOperator[]): ValueTest {
  if (!isObject(input)) fail(path, "must be an object {field, operator, value}");
  onlyKeys(input, path, ["field", "operator", "value"]);
  const field = parseField(input.field, `${path}.field`);
  const operator = input.operator;
  if (typeof operator !== "string" || !operators.includes(operator as AttributeOperator)) fail(`${path}.operator`, `must be one of ${operators.join(", ")}`);
  const value = input.value;
  const valuePath = `${path}.value`;
  const op = operator as AttributeOperator;
  if (op === "exists") {
    if (value !== undefined) fail(valuePath, "is not used by exists");
    return { field, operator: op };
  }
  if (value === undefined) fail(valuePath, `is required by ${op}`);
  switch (op) {
    case "eq":
    case "neq":
    case "contains":
      return { field, operator: op, value: parseScalar(value, valuePath) };
    case "gt":
    case "gte":
    case "lt":
    case "lte":
      if (typeof value !== "number" || !Number.isFinite(value)) fail(valuePath, `must be a number for ${op}`);
      return { field, operator: op, value };
    case "in":
      if (!Array.isArray(value) || value.length === 0) fail(valuePath, "must be a non-empty array");
      if (value.length > DEFINITION_LIMITS.listValues) fail(valuePath, `must have at most ${DEFINITION_LIMITS.listValues} values`);
      return { field, operator: op, value: value.map((v, i) => parseScalar(v, `${valuePath}[${i}]`)) };
    case "before":
    case "after":
      return { field, operator: op, value: parseDate(value, valuePath) };
    case "older_than":
    case "newer_than":
      return { field, operator: op, value: parseWithin(value, valuePath) };
  }
}

function parseChanged(input: unknown, path: string): ChangedCondition {
  if (!isObject(input)) fail(path, "must be an object {field, from?, to?, within?}");
  onlyKeys(input, path, ["field", "from", "to", "within"]);
  const field = parseField(input.field, `${path}.field`);
  const hasFrom = "from" in input;
  const hasTo = "to" in input;
  if (hasFrom && input.from !== null) parseScalar(input.from, `${path}.from`);
  if (hasTo && input.to !== null) parseScalar(input.to, `${path}.to`);
  const withinMs = input.within === undefined ? null : parseWithin(input.within, `${path}.within`);
  return { field, from: input.from, to: input.to, hasFrom, hasTo, withinMs };
}

function parseEvent(input: unknown, path: string): EventCondition {
  if (!isObject(input)) fail(path, "must be an object {name, type?, where?, at_least?, within? or between?}");
  onlyKeys(input, path, ["name", "type", "where", "at_least", "within", "between"]);
  const name = input.name;
  if (typeof name !== "string" || name.length === 0) fail(`${path}.name`, "must be a non-empty string");
  if (Buffer.byteLength(name) > DEFINITION_LIMITS.eventNameBytes) fail(`${path}.name`, `must be at most ${DEFINITION_LIMITS.eventNameBytes} bytes`);
  const type = input.type;
  if (type !== undefined && type !== "event" && type !== "page" && type !== "screen") fail(`${path}.type`, "must be event, page or screen");
  let where: ValueTest[] = [];
  if (input.where !== undefined) {
    if (!Array.isArray(input.where)) fail(`${path}.where`, "must be an array of {field, operator, value} property tests");
    if (input.where.length > DEFINITION_LIMITS.conditions) fail(`${path}.where`, `must have at most ${DEFINITION_LIMITS.conditions} tests`);
    where = input.where.map((w, i) => parseValueTest(w, `${path}.where[${i}]`, PROPERTY_OPERATORS));
  }
  let atLeast = 1;
  if (input.at_least !== undefined) {
    const n = input.at_least;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > DEFINITION_LIMITS.atLeast) fail(`${path}.at_least`, `must be a whole number from 1 to ${DEFINITION_LIMITS.atLeast}`);
    atLeast = n;
  }
  if (input.within !== undefined && input.between !== undefined) fail(`${path}.between`, "give within or between, not both");
  const withinMs = input.within === undefined ? null : parseWithin(input.within, `${path}.within`);
  let between: EventCondition["between"] = null;
  if (input.between !== undefined) {
    const b = input.between;
    if (!isObject(b)) fail(`${path}.between`, "must be an object {from, to}");
    onlyKeys(b, `${path}.between`, ["from", "to"]);
    between = { from: parseDate(b.from, `${path}.between.from`), to: parseDate(b.to, `${path}.between.to`) };
    if (between.to < between.from) fail(`${path}.between.to`, "must not be before from");
  }
  return { name, type: (type as EventKind | undefined) ?? null, where, atLeast, withinMs, between };
}

function parseSubscription(input: unknown, path: string): Condition {
  if (!isObject(input)) fail(path, "must be an object {unsubscribed} or {topic, subscribed}");
  if ("unsubscribed" in input) {
    onlyKeys(input, path, ["unsubscribed"]);
    if (typeof input.unsubscribed !== "boolean") fail(`${path}.unsubscribed`, "must be true or false");
    return { kind: "subscription", path, unsubscribed: input.unsubscribed, topic: null, subscribed: null };
  }
  onlyKeys(input, path, ["topic", "subscribed"]);
  const topic = input.topic;
  if (typeof topic !== "string" || topic === "") fail(`${path}.topic`, 'must be a topic name ("topic_1")');
  if (typeof input.subscribed !== "boolean") fail(`${path}.subscribed`, "must be true or false");
  return { kind: "subscription", path, unsubscribed: null, topic, subscribed: input.subscribed };
}

/** Every leaf of a tree, in order. */
export function leavesOf(condition: Condition): Condition[] {
  switch (condition.kind) {
    case "and":
      return condition.all.flatMap(leavesOf);
    case "or":
      return condition.any.flatMap(leavesOf);
    case "not":
      return leavesOf(condition.inner);
    default:
      return [condition];
  }
}
