// A journey document (docs/journeys.md) read into the JourneyDefinition the rest of Posthorn
// works on. Everything is checked here, once, when a journey is stored or a file is loaded:
// unknown keys, step ids, durations, timezones, the syntax of every Liquid field, conditions,
// weights, webhook requests, and the document's size (journey-document.ts has the bounds). A
// refusal is JOURNEY_DEFINITION_INVALID naming the path of the first bad field
// ("steps[2].then[0].duration: must be a duration …"). Segment ids are not looked up here: that
// needs the workspace's data, and the service does it.
import { LiquidRenderer } from "../templates/liquid/liquid.renderer.js";
import type { ExitCondition, ConversionGoal, JourneyDefinition, JourneyTrigger, ReentryRule, SendDefaults, Step } from "./journey.model.js";
import { parseJourneyCondition, valueTests, type ConditionContext } from "./journey-conditions.js";
import { JOURNEY_LIMITS, bool, duration, fail, idText, isObject, join, liquid, objectAt, onlyKeys, optionalText, readDocument, text, type Json } from "./journey-document.js";
import { parseStepList, type StepContext } from "./journey-steps.js";

export { JOURNEY_LIMITS } from "./journey-document.js";

// Only for syntax checks (parsing caches templates by text, bounded); rendering uses the caller's.
const checker = new LiquidRenderer();

export function parseJourney(document: string | Record<string, unknown>, options: { format?: "json" | "yaml" } = {}): { definition: JourneyDefinition; source: string } {
  const { value, source } = readDocument(document, options.format);
  const doc = objectAt(value, "", "a journey: an object with name, trigger and steps");
  onlyKeys(doc, "", ["name", "description", "trigger", "filters", "exit", "reentry", "goal", "defaults", "steps"]);
  const context: StepContext = { liquid: checker, ids: new Map(), emailSteps: new Set(), count: 0, messageRefs: [] };
  const name = text(doc.name, "name", { max: JOURNEY_LIMITS.nameChars });
  const description = optionalText(doc.description, "description", JOURNEY_LIMITS.descriptionChars) ?? "";
  const trigger = parseTrigger(doc.trigger, "trigger");
  const filters = doc.filters === undefined || doc.filters === null ? null : parseJourneyCondition(doc.filters, "filters", { ...context, atEntry: true });
  const exits = parseExits(doc.exit, "exit", context);
  const reentry = parseReentry(doc.reentry, "reentry");
  const goal = doc.goal === undefined || doc.goal === null ? null : parseGoal(doc.goal, "goal", context);
  const defaults = parseDefaults(doc.defaults, "defaults", context);
  if (!Array.isArray(doc.steps) || doc.steps.length === 0) fail("steps", "must be a non-empty list of steps");
  const steps: Step[] = parseStepList(doc.steps, "steps", null, 1, defaults, context);
  checkMessageRefs(context);
  return { definition: { name, description, trigger, filters, exits, reentry, goal, defaults, steps }, source };
}

function parseTrigger(input: unknown, path: string): JourneyTrigger {
  const t = objectAt(input, path, "an object with one key: event, segment, date or broadcast");
  const keys = Object.keys(t);
  if (keys.length !== 1) fail(path, `must have exactly one key: event, segment, date or broadcast (found ${keys.length === 0 ? "none" : keys.join(", ")})`);
  const key = keys[0]!;
  const at = join(path, key);
  const v = t[key];
  switch (key) {
    case "event": {
      const e = objectAt(v, at, "an object {name, type?, where?}");
      onlyKeys(e, at, ["name", "type", "where"]);
      const type = e.type ?? null;
      if (type !== null && type !== "event" && type !== "page" && type !== "screen") fail(join(at, "type"), "must be event, page or screen");
      return { kind: "event", name: eventName(e.name, join(at, "name")), type, where: valueTests(e.where, join(at, "where")) };
    }
    case "segment": {
      const s = objectAt(v, at, "an object {id, on?, existing?}");
      onlyKeys(s, at, ["id", "on", "existing"]);
      const on = s.on ?? "entered";
      if (on !== "entered" && on !== "left") fail(join(at, "on"), "must be entered or left");
      // Whether the people already in the segment when the journey goes live enter it (Customer.io asks at activation).
      const existing = s.existing ?? "ignore";
      if (existing !== "enter" && existing !== "ignore") fail(join(at, "existing"), "must be enter or ignore");
      if (existing === "enter" && on === "left") fail(join(at, "existing"), "only a trigger on entering the segment can enter its existing members");
      return { kind: "segment", segmentId: idText(s.id, join(at, "id")), on, existing };
    }
    case "date": {
      const d = objectAt(v, at, "an object {attribute, offset?}");
      onlyKeys(d, at, ["attribute", "offset"]);
      const attribute = text(d.attribute, join(at, "attribute"), { max: 150 });
      const offsetMs = d.offset === undefined ? 0 : duration(d.offset, join(at, "offset"), { min: 0, signed: true });
      return { kind: "date", attribute, offsetMs };
    }
    case "broadcast": {
      if (v !== null && !(isObject(v) && Object.keys(v).length === 0)) fail(at, "takes no settings: write broadcast: {}");
      return { kind: "broadcast" };
    }
    default:
      return fail(at, "unknown trigger (expected event, segment, date or broadcast)");
  }
}

export function eventName(value: unknown, path: string): string {
  const name = text(value, path, { max: 100 });
  if (Buffer.byteLength(name) > 100) fail(path, "must be at most 100 bytes");
  return name;
}

/** An event with property tests and match values (Liquid), as exits, goals and waits name it. */
export function parseEventMatch(input: unknown, path: string, context: { liquid: LiquidRenderer }, extra: readonly string[] = []): { name: string; where: ReturnType<typeof valueTests>; match: Record<string, string>; rest: Json } {
  const e = objectAt(input, path, "an object {name, where?, match?}");
  onlyKeys(e, path, ["name", "where", "match", ...extra]);
  const match: Record<string, string> = {};
  if (e.match !== undefined) {
    const m = objectAt(e.match, join(path, "match"), "an object {property: value}");
    if (Object.keys(m).length > JOURNEY_LIMITS.matchKeys) fail(join(path, "match"), `must have at most ${JOURNEY_LIMITS.matchKeys} properties`);
    for (const [k, v] of Object.entries(m)) {
      const at = join(join(path, "match"), k);
      if (k.length > 150) fail(at, "property names are at most 150 characters");
      // Numbers and booleans are compared as text, as rendered values are.
      match[k] = typeof v === "number" || typeof v === "boolean" ? String(v) : liquid(context.liquid, v, at);
    }
  }
  return { name: eventName(e.name, join(path, "name")), where: valueTests(e.where, join(path, "where")), match, rest: e };
}

function parseExits(input: unknown, path: string, context: StepContext & ConditionContext): ExitCondition[] {
  if (input === undefined || input === null) return [];
  if (!Array.isArray(input)) fail(path, "must be a list of exit conditions ({event: …} or {segment_left: id})");
  if (input.length > JOURNEY_LIMITS.exits) fail(path, `must have at most ${JOURNEY_LIMITS.exits} conditions`);
  return input.map((item, i): ExitCondition => {
    const at = `${path}[${i}]`;
    const x = objectAt(item, at, "an object with one key: event or segment_left");
    const keys = Object.keys(x);
    if (keys.length !== 1) fail(at, "must have exactly one key: event or segment_left");
    if (keys[0] === "segment_left") return { kind: "segment_left", segmentId: idText(x.segment_left, join(at, "segment_left")) };
    if (keys[0] === "event") {
      const e = parseEventMatch(x.event, join(at, "event"), context);
      return { kind: "event", name: e.name, where: e.where, match: e.match };
    }
    return fail(join(at, keys[0]!), "unknown exit condition (expected event or segment_left)");
  });
}

function parseReentry(input: unknown, path: string): ReentryRule {
  if (input === undefined || input === null) return { mode: "once", minIntervalMs: null };
  const modes = ["once", "after_finish", "always"];
  if (typeof input === "string") {
    if (!modes.includes(input)) fail(path, "must be once, after_finish or always (or {mode, min_interval})");
    return { mode: input as ReentryRule["mode"], minIntervalMs: null };
  }
  const r = objectAt(input, path, "once, after_finish, always or {mode, min_interval}");
  onlyKeys(r, path, ["mode", "min_interval"]);
  if (typeof r.mode !== "string" || !modes.includes(r.mode)) fail(join(path, "mode"), "must be once, after_finish or always");
  let minIntervalMs: number | null = null;
  if (r.min_interval !== undefined) {
    if (r.mode !== "after_finish") fail(join(path, "min_interval"), "is used only with mode after_finish");
    minIntervalMs = duration(r.min_interval, join(path, "min_interval"), { min: 1000 });
  }
  return { mode: r.mode as ReentryRule["mode"], minIntervalMs };
}

function parseGoal(input: unknown, path: string, context: StepContext): ConversionGoal {
  const g = objectAt(input, path, "an object {event, within, exit?}");
  onlyKeys(g, path, ["event", "within", "exit"]);
  const e = parseEventMatch(g.event, join(path, "event"), context);
  if (g.within === undefined) fail(join(path, "within"), 'is required: how long after entry a conversion counts ("7d")');
  return { name: e.name, where: e.where, match: e.match, withinMs: duration(g.within, join(path, "within"), { min: 1000 }), exitOnConversion: bool(g.exit, join(path, "exit"), false) };
}

/** Send settings: `defaults`, or a step's overrides on top of them. */
export function parseSend(input: Json, path: string, base: SendDefaults, context: { liquid: LiquidRenderer }): SendDefaults {
  const from = input.from === undefined || input.from === null ? base.from : liquid(context.liquid, input.from, join(path, "from"), { empty: false });
  const stream = input.stream === undefined || input.stream === null ? base.stream : text(input.stream, join(path, "stream"), { max: 100 });
  let topic = base.topic;
  if (input.topic !== undefined && input.topic !== null) {
    topic = text(input.topic, join(path, "topic"), { max: 100 });
    if (!/^topic_\d{1,9}$/.test(topic)) fail(join(path, "topic"), 'must be a topic id such as "topic_1"');
  }
  return {
    from,
    stream,
    topic,
    countsTowardLimit: bool(input.counts_toward_limit, join(path, "counts_toward_limit"), base.countsTowardLimit),
    transactional: bool(input.transactional, join(path, "transactional"), base.transactional),
  };
}

function parseDefaults(input: unknown, path: string, context: StepContext): SendDefaults {
  const base: SendDefaults = { from: null, stream: null, countsTowardLimit: true, transactional: false, topic: null };
  if (input === undefined || input === null) return base;
  const d = objectAt(input, path, "an object {from, stream, counts_toward_limit, transactional, topic}");
  onlyKeys(d, path, ["from", "stream", "counts_toward_limit", "transactional", "topic"]);
  return parseSend(d, path, base, context);
}

function checkMessageRefs(context: StepContext): void {
  for (const ref of context.messageRefs) {
    const kind = context.ids.get(ref.stepId);
    if (kind === undefined) fail(ref.path, `names no step of this journey ("${ref.stepId}")`);
    if (kind !== "email") fail(ref.path, `must name an email step ("${ref.stepId}" is a ${kind} step)`);
  }
}
