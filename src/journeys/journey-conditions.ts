// Journey conditions as written in a document: the segment language's person leaves (attribute,
// event, device, subscription; parsed by src/segments/segment-definition.ts so both languages stay
// one) inside and/or/not, plus the leaves only a run can answer: segment membership, the status of
// a message this run sent, and a test of the run's data.
//
// `changed` is refused here: a run sees the person as they are now and their events, not the
// history of their attributes (the segments' membership keeper records changes per segment). A
// journey waits for an attribute to change with a wait_until condition on its new value instead.
import { isPosthornError } from "../shared/errors.js";
import { parseConditions, parseValueTest, PROPERTY_OPERATORS, type ValueTest } from "../segments/segment-definition.js";
import type { JourneyCondition, MessageStatus } from "./journey.model.js";
import { JOURNEY_LIMITS, fail, idText, isObject, join, onlyKeys, text, type Json } from "./journey-document.js";

const MESSAGE_STATUSES: readonly MessageStatus[] = ["sent", "delivered", "opened", "clicked", "bounced", "unsubscribed", "skipped"];
const PERSON_LEAVES = ["attribute", "event", "device", "subscription"] as const;
const KEYS = ["and", "or", "not", "segment", "message", "data", ...PERSON_LEAVES];

/** Message leaves name steps that may be defined anywhere in the journey: checked once all steps are known. */
export interface ConditionContext {
  messageRefs: Array<{ stepId: string; path: string }>;
  /** A journey's filters are checked at entry: no run data and no message exist yet. */
  atEntry?: boolean;
}

export function parseJourneyCondition(input: unknown, path: string, context: ConditionContext): JourneyCondition {
  const counter = { n: 0 };
  return parseNode(input, path, 1, counter, context);
}

function parseNode(input: unknown, path: string, depth: number, counter: { n: number }, context: ConditionContext): JourneyCondition {
  if (depth > JOURNEY_LIMITS.conditionDepth) fail(path, `conditions nest at most ${JOURNEY_LIMITS.conditionDepth} deep`);
  counter.n += 1;
  if (counter.n > JOURNEY_LIMITS.conditionNodes) fail(path, `a condition has at most ${JOURNEY_LIMITS.conditionNodes} parts`);
  if (!isObject(input)) fail(path, `must be an object with one key: ${KEYS.join(", ")}`);
  const keys = Object.keys(input);
  if (keys.length !== 1) fail(path, `must have exactly one key (found ${keys.length === 0 ? "none" : keys.join(", ")})`);
  const key = keys[0]!;
  const value = input[key];
  const at = join(path, key);
  switch (key) {
    case "and":
    case "or": {
      if (!Array.isArray(value) || value.length === 0) fail(at, "must be a non-empty array of conditions");
      const children = value.map((c, i) => parseNode(c, `${at}[${i}]`, depth + 1, counter, context));
      return key === "and" ? { kind: "and", path: at, all: children } : { kind: "or", path: at, any: children };
    }
    case "not":
      return { kind: "not", path: at, inner: parseNode(value, at, depth + 1, counter, context) };
    case "segment": {
      const v = objectOf(value, at, "{id, member?}");
      onlyKeys(v, at, ["id", "member"]);
      if (v.member !== undefined && typeof v.member !== "boolean") fail(join(at, "member"), "must be true or false");
      return { kind: "segment", path: at, segmentId: idText(v.id, join(at, "id")), member: v.member !== false };
    }
    case "message": {
      if (context.atEntry) fail(at, "cannot be a filter: a person has no message of this run when they enter");
      const v = objectOf(value, at, "{step, status}");
      onlyKeys(v, at, ["step", "status"]);
      const stepId = text(v.step, join(at, "step"), { max: 64 });
      if (typeof v.status !== "string" || !MESSAGE_STATUSES.includes(v.status as MessageStatus)) fail(join(at, "status"), `must be one of ${MESSAGE_STATUSES.join(", ")}`);
      context.messageRefs.push({ stepId, path: join(at, "step") });
      return { kind: "message", path: at, stepId, status: v.status as MessageStatus };
    }
    case "data":
      if (context.atEntry) fail(at, "cannot be a filter (filters see the person, not the run's data); branch on it as the first step");
      return { kind: "data", path: at, test: valueTest(value, at) };
    case "changed":
      return fail(at, "is not available in journeys (a run sees the person now, not their attribute history); wait with a wait_until condition on the attribute's new value");
    default:
      if ((PERSON_LEAVES as readonly string[]).includes(key)) return { kind: "person", path: at, condition: segmentLanguage({ [key]: value }, path) };
      return fail(at, `unknown condition (expected ${KEYS.join(", ")})`);
  }
}

function objectOf(value: unknown, path: string, shape: string): Json {
  if (!isObject(value)) fail(path, `must be an object ${shape}`);
  return value;
}

/** The segment language's errors, re-coded as the journey's (same message and field). */
function segmentLanguage(input: Json, root: string): ReturnType<typeof parseConditions> {
  try {
    return parseConditions(input, root);
  } catch (err) {
    if (isPosthornError(err)) fail(String(err.details.field ?? root), err.message.replace(/^[^:]*: /, ""));
    throw err;
  }
}

/** A property test (event `where`, data leaves): the segment language's value test with event operators. */
export function valueTest(input: unknown, path: string): ValueTest {
  try {
    return parseValueTest(input, path, PROPERTY_OPERATORS);
  } catch (err) {
    if (isPosthornError(err)) fail(String(err.details.field ?? path), err.message.replace(/^[^:]*: /, ""));
    throw err;
  }
}

export function valueTests(input: unknown, path: string): ValueTest[] {
  if (input === undefined) return [];
  if (!Array.isArray(input)) fail(path, "must be an array of {field, operator, value} tests");
  if (input.length > JOURNEY_LIMITS.conditionNodes) fail(path, `must have at most ${JOURNEY_LIMITS.conditionNodes} tests`);
  return input.map((t, i) => valueTest(t, `${path}[${i}]`));
}
