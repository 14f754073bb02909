// Reading a journey document (JSON or YAML text, or an object already parsed) into plain JSON
// values, within bounds, and the small checks every part of the definition parser shares. Every
// refusal is JOURNEY_DEFINITION_INVALID with `field` set to the path of the bad value and the
// message starting with that path, so an author sees at once where to look.
import { isPosthornError } from "../shared/errors.js";
import { parseDuration } from "../shared/durations.js";
import { lazyModule } from "../shared/lazy-module.js";
import type { LiquidRenderer } from "../templates/liquid/liquid.renderer.js";
import { JourneyDefinitionInvalid } from "./journeys.errors.js";

/** Bounds on a document, so one journey cannot make parsing, storing or running it costly. */
export const JOURNEY_LIMITS = {
  /** UTF-8 bytes of the document text (and of an object given as such, as JSON). */
  documentBytes: 256 * 1024,
  /** Steps in the whole tree, nested ones included. */
  steps: 500,
  /** Step lists inside step lists (a branch in a wait in a split …). */
  stepNesting: 20,
  /** Objects and arrays inside each other anywhere in the document (model, body, attributes). */
  valueDepth: 64,
  /** YAML aliases (`*name`); yaml counts expanded nodes against this, which stops alias bombs. */
  yamlAliases: 100,
  nameChars: 200,
  descriptionChars: 2_000,
  /** A Liquid field (subject, html, a header, a body); the document bound applies too. */
  liquidChars: 128 * 1024,
  /** Entries of a headers, match or attributes map, paths of a split or cohort. */
  headers: 50,
  matchKeys: 20,
  attributes: 300,
  paths: 20,
  exits: 20,
  /** Journey conditions: and/or/not nesting, and nodes in one condition. */
  conditionDepth: 10,
  conditionNodes: 100,
  /** Five years: delays, timeouts, goal windows. */
  durationMs: 5 * 365 * 86_400_000,
  webhookTimeoutMs: 30_000,
  webhookDefaultTimeoutMs: 10_000,
  urlChars: 2_048,
  cohortWeight: 1_000_000,
} as const;

export type Json = Record<string, unknown>;

export function fail(path: string, message: string): never {
  // The document as a whole (its size, its syntax) has the empty path.
  throw JourneyDefinitionInvalid(path === "" ? `the document: ${message}` : `${path}: ${message}`, { field: path });
}

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function onlyKeys(value: Json, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) fail(join(path, key), `unknown key (expected ${allowed.join(", ")})`);
}

/** `steps[2]` + `then` → `steps[2].then`; the root path is empty. */
export function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

export function objectAt(value: unknown, path: string, what = "an object"): Json {
  if (!isObject(value)) fail(path, `must be ${what}`);
  return value;
}

export function text(value: unknown, path: string, options: { max: number; empty?: boolean }): string {
  if (typeof value !== "string") fail(path, "must be text");
  if (!options.empty && value.trim() === "") fail(path, "must not be empty");
  if (value.length > options.max) fail(path, `must be at most ${options.max} characters`);
  return value;
}

export function optionalText(value: unknown, path: string, max: number): string | null {
  if (value === undefined || value === null) return null;
  return text(value, path, { max });
}

/** An id given as text or a number (Customer.io's segment ids are numbers). */
export function idText(value: unknown, path: string): string {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return String(value);
  return text(value, path, { max: 150 });
}

export function bool(value: unknown, path: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") fail(path, "must be true or false");
  return value;
}

/**
 * A duration as text: `90s`, `15m`, `12h`, `3d`, `2w` (src/shared/durations.ts reads all but
 * weeks; a week is 7 days). `signed` allows a leading minus (a date trigger's offset).
 */
export function duration(value: unknown, path: string, options: { min: number; max?: number; signed?: boolean }): number {
  const hint = 'must be a duration such as "90s", "15m", "12h", "3d" or "2w"';
  if (typeof value !== "string") fail(path, hint);
  let body = value.trim();
  let sign = 1;
  if (options.signed && body.startsWith("-")) {
    sign = -1;
    body = body.slice(1);
  }
  let ms: number;
  const weeks = /^(\d+(?:\.\d+)?)\s*w$/.exec(body);
  try {
    ms = weeks ? Math.round(Number(weeks[1]) * 7 * 86_400_000) : parseDuration(body);
  } catch {
    return fail(path, hint);
  }
  const max = options.max ?? JOURNEY_LIMITS.durationMs;
  if (ms < options.min) fail(path, `must be at least ${describeMs(options.min)}`);
  if (ms > max) fail(path, `must be at most ${describeMs(max)}`);
  return sign * ms;
}

function describeMs(ms: number): string {
  if (ms % 86_400_000 === 0 && ms > 0) return `${ms / 86_400_000}d`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** Checks a Liquid template's syntax, naming the field when it does not parse. */
export function liquid(renderer: LiquidRenderer, value: unknown, path: string, options: { empty?: boolean } = {}): string {
  const template = text(value, path, { max: JOURNEY_LIMITS.liquidChars, empty: options.empty ?? true });
  try {
    renderer.check(template);
  } catch (err) {
    if (isPosthornError(err)) fail(path, err.message);
    throw err;
  }
  return template;
}

/** Checks every string in a JSON value as Liquid (a template's model, a webhook's JSON body, attribute values). */
export function liquidLeaves(renderer: LiquidRenderer, value: unknown, path: string): void {
  if (typeof value === "string") liquid(renderer, value, path);
  else if (Array.isArray(value)) value.forEach((v, i) => liquidLeaves(renderer, v, `${path}[${i}]`));
  else if (isObject(value)) for (const [k, v] of Object.entries(value)) liquidLeaves(renderer, v, join(path, k));
}

/**
 * The document as JSON values and the text kept as its source. Text is JSON when it parses as
 * JSON, else YAML (JSON is YAML too, but JSON.parse is faster and its errors are plainer).
 */
export function readDocument(document: string | Json, format: "json" | "yaml" | undefined): { value: unknown; source: string } {
  if (typeof document !== "string") {
    // Depth first: stringifying a very deep (or circular) object would overflow the stack.
    checkDepth(document);
    const source = JSON.stringify(document, null, 2);
    if (source === undefined) fail("", "the document must be an object");
    if (Buffer.byteLength(source) > JOURNEY_LIMITS.documentBytes) fail("", `the document must be at most ${JOURNEY_LIMITS.documentBytes / 1024} KB`);
    return { value: document, source };
  }
  if (Buffer.byteLength(document) > JOURNEY_LIMITS.documentBytes) fail("", `the document must be at most ${JOURNEY_LIMITS.documentBytes / 1024} KB`);
  let value: unknown;
  if (format !== "yaml") {
    try {
      value = JSON.parse(document);
    } catch (err) {
      if (format === "json") fail("", `not valid JSON: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  if (value === undefined) value = readYaml(document);
  checkDepth(value);
  // Aliases can make a small text into a large value; the bound holds for what was read.
  if (Buffer.byteLength(JSON.stringify(value) ?? "") > JOURNEY_LIMITS.documentBytes * 4) fail("", "the document expands to more than 1 MB");
  return { value, source: document };
}

// yaml is loaded at the first YAML document rather than with this module (~60 ms of CPU at every
// start of a process that reads none); JSON documents never need it.
const yaml = lazyModule<typeof import("yaml")>("yaml");

function readYaml(document: string): unknown {
  try {
    // Only the core schema (no custom tags); duplicate keys are errors (yaml's default).
    return yaml().parse(document, { maxAliasCount: JOURNEY_LIMITS.yamlAliases, schema: "core", prettyErrors: true, merge: false });
  } catch (err) {
    return fail("", `neither JSON nor valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
}

/** Depth of nested objects and arrays, measured without recursion (a deep document must not overflow the stack). */
function checkDepth(root: unknown): void {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== "object" || value === null) continue;
    if (depth > JOURNEY_LIMITS.valueDepth) fail("", `the document nests objects and arrays more than ${JOURNEY_LIMITS.valueDepth} deep`);
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push([child, depth + 1]);
  }
}
