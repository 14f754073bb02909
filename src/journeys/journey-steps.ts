// The steps of a journey document, read into the model's Step tree (journey-definition.ts reads
// the rest). Ids: given ones must be [A-Za-z0-9_-]{1,64} and unique in the journey; a step
// without one gets an id from its position — `s2` for the third top-level step, `s2_then_0` for
// the first step of its `then`, `s2_path1_0` for the first of its second path — so the same
// document always yields the same ids (runs and metrics point at them).
import type { LiquidRenderer } from "../templates/liquid/liquid.renderer.js";
import type { CohortPath, EmailContent, SendDefaults, SplitPath, Step, StepKind, WebhookRequest } from "./journey.model.js";
import { parseJourneyCondition, type ConditionContext } from "./journey-conditions.js";
import { JOURNEY_LIMITS, duration, fail, idText, isObject, join, liquid, liquidLeaves, objectAt, onlyKeys, text, type Json } from "./journey-document.js";
import { parseEventMatch, parseSend } from "./journey-definition.js";
import { parseTimeWindow } from "./time-window.js";

export interface StepContext extends ConditionContext {
  liquid: LiquidRenderer;
  /** Every step id seen, with its kind (message leaves must name an email step). */
  ids: Map<string, StepKind>;
  emailSteps: Set<string>;
  count: number;
}

const STEP_ID = /^[A-Za-z0-9_-]{1,64}$/;
const KINDS: readonly StepKind[] = ["email", "webhook", "update_attributes", "segment", "delay", "random_delay", "time_window", "wait_until", "branch", "split", "cohort", "exit"];
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
const SEND_KEYS = ["from", "stream", "topic", "counts_toward_limit", "transactional"];

export function parseStepList(input: unknown, path: string, idPrefix: string | null, nesting: number, defaults: SendDefaults, context: StepContext): Step[] {
  if (input === undefined || input === null) return [];
  if (!Array.isArray(input)) fail(path, "must be a list of steps");
  if (nesting > JOURNEY_LIMITS.stepNesting) fail(path, `step lists nest at most ${JOURNEY_LIMITS.stepNesting} deep`);
  return input.map((item, i) => parseStep(item, `${path}[${i}]`, idPrefix === null ? `s${i}` : `${idPrefix}_${i}`, nesting, defaults, context));
}

function parseStep(input: unknown, path: string, derivedId: string, nesting: number, defaults: SendDefaults, context: StepContext): Step {
  context.count += 1;
  if (context.count > JOURNEY_LIMITS.steps) fail(path, `a journey has at most ${JOURNEY_LIMITS.steps} steps`);
  const s = objectAt(input, path, "a step: an object with type (and id)");
  if (typeof s.type !== "string" || !KINDS.includes(s.type as StepKind)) fail(join(path, "type"), `must be one of ${KINDS.join(", ")}`);
  const kind = s.type as StepKind;
  let id = derivedId;
  if (s.id !== undefined) {
    if (typeof s.id !== "string" || !STEP_ID.test(s.id)) fail(join(path, "id"), "must be 1 to 64 letters, digits, _ or -");
    id = s.id;
  } else if (!STEP_ID.test(id)) {
    fail(path, `the id made from its position (${id.slice(0, 80)}…) is longer than 64 characters; give the step an id`);
  }
  if (context.ids.has(id)) fail(s.id === undefined ? path : join(path, "id"), `the step id "${id}" is used twice`);
  context.ids.set(id, kind);
  const sub = (key: string, list: unknown, at = join(path, key)) => parseStepList(list, at, `${id}_${key}`, nesting + 1, defaults, context);
  switch (kind) {
    case "email":
      return parseEmail(s, path, id, defaults, context);
    case "webhook":
      return { id, kind, request: parseWebhook(s, path, context) };
    case "update_attributes": {
      onlyKeys(s, path, ["id", "type", "attributes"]);
      const a = objectAt(s.attributes, join(path, "attributes"), "an object {name: value}");
      const n = Object.keys(a).length;
      if (n === 0 || n > JOURNEY_LIMITS.attributes) fail(join(path, "attributes"), `must set 1 to ${JOURNEY_LIMITS.attributes} attributes`);
      for (const k of Object.keys(a)) if (k === "" || k.length > 150) fail(join(join(path, "attributes"), k.slice(0, 150)), "attribute names are 1 to 150 characters");
      liquidLeaves(context.liquid, a, join(path, "attributes"));
      return { id, kind, attributes: a };
    }
    case "segment": {
      onlyKeys(s, path, ["id", "type", "segment", "action"]);
      if (s.action !== "add" && s.action !== "remove") fail(join(path, "action"), "must be add or remove");
      return { id, kind, segmentId: idText(s.segment, join(path, "segment")), action: s.action };
    }
    case "delay":
      onlyKeys(s, path, ["id", "type", "duration"]);
      return { id, kind, ms: duration(s.duration, join(path, "duration"), { min: 1000 }) };
    case "random_delay": {
      onlyKeys(s, path, ["id", "type", "min", "max"]);
      const minMs = duration(s.min, join(path, "min"), { min: 0 });
      const maxMs = duration(s.max, join(path, "max"), { min: 1000 });
      if (maxMs < minMs) fail(join(path, "max"), "must not be less than min");
      return { id, kind, minMs, maxMs };
    }
    case "time_window":
      return { id, kind, window: parseTimeWindow(s, path) };
    case "wait_until": {
      onlyKeys(s, path, ["id", "type", "event", "condition", "timeout", "then", "on_timeout"]);
      const event = s.event === undefined || s.event === null ? null : parseEventMatch(s.event, join(path, "event"), context);
      const condition = s.condition === undefined || s.condition === null ? null : parseJourneyCondition(s.condition, join(path, "condition"), context);
      if (!event && !condition) fail(path, "a wait_until needs an event, a condition, or both");
      const timeoutMs = s.timeout === undefined || s.timeout === null ? null : duration(s.timeout, join(path, "timeout"), { min: 1000 });
      if (timeoutMs === null && Array.isArray(s.on_timeout) && s.on_timeout.length > 0) fail(join(path, "on_timeout"), "is never reached without a timeout");
      return { id, kind, event: event && { name: event.name, where: event.where, match: event.match }, condition, timeoutMs, then: sub("then", s.then), onTimeout: sub("on_timeout", s.on_timeout) };
    }
    case "branch": {
      onlyKeys(s, path, ["id", "type", "if", "then", "else"]);
      // A branch without a condition is false (docs/journeys.md): an empty "or" is false.
      const condition = s.if === undefined || s.if === null ? { kind: "or" as const, path: join(path, "if"), any: [] } : parseJourneyCondition(s.if, join(path, "if"), context);
      return { id, kind, condition, then: sub("then", s.then), else: sub("else", s.else) };
    }
    case "split": {
      onlyKeys(s, path, ["id", "type", "paths", "otherwise"]);
      const paths = pathList(s.paths, join(path, "paths")).map((p, i): SplitPath => {
        const at = `${path}.paths[${i}]`;
        onlyKeys(p, at, ["name", "if", "steps"]);
        if (p.if === undefined) fail(join(at, "if"), "is required: the condition of this path");
        return { name: pathName(p.name, join(at, "name"), i), condition: parseJourneyCondition(p.if, join(at, "if"), context), steps: sub(`path${i}`, p.steps, join(at, "steps")) };
      });
      uniqueNames(paths, join(path, "paths"));
      return { id, kind, paths, otherwise: sub("otherwise", s.otherwise) };
    }
    case "cohort": {
      onlyKeys(s, path, ["id", "type", "paths"]);
      const paths = pathList(s.paths, join(path, "paths")).map((p, i): CohortPath => {
        const at = `${path}.paths[${i}]`;
        onlyKeys(p, at, ["name", "weight", "steps"]);
        const w = p.weight;
        if (typeof w !== "number" || !Number.isFinite(w) || w <= 0 || w > JOURNEY_LIMITS.cohortWeight) fail(join(at, "weight"), `must be a number above 0 and at most ${JOURNEY_LIMITS.cohortWeight}`);
        return { name: pathName(p.name, join(at, "name"), i), weight: w, steps: sub(`path${i}`, p.steps, join(at, "steps")) };
      });
      uniqueNames(paths, join(path, "paths"));
      return { id, kind, paths };
    }
    case "exit":
      onlyKeys(s, path, ["id", "type"]);
      return { id, kind };
  }
}

function pathList(input: unknown, path: string): Json[] {
  if (!Array.isArray(input) || input.length === 0 || input.length > JOURNEY_LIMITS.paths) fail(path, `must be a list of 1 to ${JOURNEY_LIMITS.paths} paths`);
  return input.map((p, i) => objectAt(p, `${path}[${i}]`, "a path: an object"));
}

function pathName(value: unknown, path: string, index: number): string {
  return value === undefined ? `path ${index + 1}` : text(value, path, { max: 100 });
}

function uniqueNames(paths: Array<{ name: string }>, path: string): void {
  const seen = new Set<string>();
  paths.forEach((p, i) => {
    if (seen.has(p.name)) fail(`${path}[${i}].name`, `the path name "${p.name}" is used twice`);
    seen.add(p.name);
  });
}

function parseEmail(s: Json, path: string, id: string, defaults: SendDefaults, context: StepContext): Step {
  const common = ["id", "type", "tag", "to", ...SEND_KEYS];
  const tag = s.tag === undefined || s.tag === null ? null : liquid(context.liquid, s.tag, join(path, "tag"), { empty: false });
  const to = s.to === undefined || s.to === null ? null : liquid(context.liquid, s.to, join(path, "to"), { empty: false });
  const send = parseSend(s, path, defaults, context);
  let content: EmailContent;
  if (s.template !== undefined) {
    for (const key of ["subject", "html", "text", "reply_to", "headers"]) if (s[key] !== undefined) fail(join(path, key), "give either a stored template (template, model) or the content (subject, html, text), not both");
    onlyKeys(s, path, [...common, "template", "model"]);
    const template = idText(s.template, join(path, "template"));
    const model = s.model === undefined ? {} : objectAt(s.model, join(path, "model"), "an object");
    liquidLeaves(context.liquid, model, join(path, "model"));
    content = { kind: "template", from: send.from, to, template, model };
  } else {
    onlyKeys(s, path, [...common, "subject", "html", "text", "reply_to", "headers"]);
    if (s.subject === undefined) fail(join(path, "subject"), "is required (or give a stored template with template)");
    const subject = liquid(context.liquid, s.subject, join(path, "subject"), { empty: false });
    const html = s.html === undefined || s.html === null ? null : liquid(context.liquid, s.html, join(path, "html"));
    const body = s.text === undefined || s.text === null ? null : liquid(context.liquid, s.text, join(path, "text"));
    if (html === null && body === null) fail(path, "an email needs html, text or both");
    const replyTo = s.reply_to === undefined || s.reply_to === null ? null : liquid(context.liquid, s.reply_to, join(path, "reply_to"), { empty: false });
    content = { kind: "liquid", from: send.from, to, replyTo, subject, html, text: body, headers: stringMap(s.headers, join(path, "headers"), context, MAIL_OWNED) };
  }
  context.emailSteps.add(id);
  return { id, kind: "email", tag, content, send };
}

/** Header fields an email step's own keys (or the mailer) set; giving them as headers would contradict those. */
const MAIL_OWNED = new Set(["from", "to", "cc", "bcc", "subject", "reply-to", "sender", "date", "message-id", "return-path", "mime-version", "content-type", "content-transfer-encoding", "dkim-signature", "list-unsubscribe", "list-unsubscribe-post"]);
/** Header fields of a webhook request that belong to the HTTP connection, not to the author. */
const HTTP_OWNED = new Set(["host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer", "proxy-authorization", "proxy-connection"]);

function stringMap(input: unknown, path: string, context: StepContext, owned: ReadonlySet<string>): Record<string, string> {
  if (input === undefined || input === null) return {};
  const m = objectAt(input, path, "an object {name: value}");
  if (Object.keys(m).length > JOURNEY_LIMITS.headers) fail(path, `must have at most ${JOURNEY_LIMITS.headers} entries`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/.test(k)) fail(join(path, k.slice(0, 100)), "must be a header name (letters, digits and -, at most 100)");
    if (owned.has(k.toLowerCase())) fail(join(path, k), "is set by Posthorn, not as a header here");
    out[k] = liquid(context.liquid, v, join(path, k));
  }
  return out;
}

function parseWebhook(s: Json, path: string, context: StepContext): WebhookRequest {
  onlyKeys(s, path, ["id", "type", "method", "url", "headers", "body", "timeout"]);
  const method = (s.method ?? "POST") as string;
  if (typeof method !== "string" || !(METHODS as readonly string[]).includes(method.toUpperCase())) fail(join(path, "method"), `must be one of ${METHODS.join(", ")}`);
  const url = liquid(context.liquid, s.url, join(path, "url"), { empty: false });
  if (url.length > JOURNEY_LIMITS.urlChars) fail(join(path, "url"), `must be at most ${JOURNEY_LIMITS.urlChars} characters`);
  // The scheme is literal text, so Liquid can never turn a webhook into another protocol.
  if (!/^https?:\/\/[^\s/]/i.test(url)) fail(join(path, "url"), "must start with http:// or https:// and a host");
  let body: WebhookRequest["body"] = null;
  if (s.body !== undefined && s.body !== null) {
    if (method.toUpperCase() === "GET") fail(join(path, "body"), "a GET request has no body");
    if (typeof s.body === "string") body = liquid(context.liquid, s.body, join(path, "body"));
    else if (isObject(s.body)) {
      liquidLeaves(context.liquid, s.body, join(path, "body"));
      body = s.body;
    } else fail(join(path, "body"), "must be text (Liquid) or a JSON object whose strings are Liquid");
  }
  const timeoutMs = s.timeout === undefined ? JOURNEY_LIMITS.webhookDefaultTimeoutMs : duration(s.timeout, join(path, "timeout"), { min: 1000, max: JOURNEY_LIMITS.webhookTimeoutMs });
  return { method: method.toUpperCase() as WebhookRequest["method"], url, headers: stringMap(s.headers, join(path, "headers"), context, HTTP_OWNED), body, timeoutMs };
}

