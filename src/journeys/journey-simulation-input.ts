// The inputs of a simulation (`posthorn journeys test FILE --events EVENTS.json`), read and
// checked: what happens to whom and when (docs/journeys.md, "Testing a journey"), and the answers
// webhooks get. Every refusal is JOURNEY_SIMULATION_INVALID naming the entry ("events[3].at").
import { parseDate } from "../segments/segment-definition.js";
import type { MessageStatus } from "./journey.model.js";
import { JourneySimulationInvalid } from "./journey-simulator.errors.js";
import { duration } from "./journey-document.js";
import { isPosthornError } from "../shared/errors.js";

export const SIMULATION_LIMITS = {
  entries: 100_000,
  people: 10_000,
  /** Bytes of an entry's attributes or data, as JSON. */
  entryBytes: 100_000,
} as const;

export type SimulationEntry =
  | { kind: "identify"; at: number; person: string; attributes: Record<string, unknown> }
  | { kind: "event"; at: number; person: string; name: string; type: "event" | "page" | "screen"; data: Record<string, unknown> }
  | { kind: "segment_entered" | "segment_left"; at: number; person: string; segment: string }
  | { kind: "message"; at: number; person: string; step: string; status: MessageStatus }
  | { kind: "broadcast"; at: number; people: string[]; data: Record<string, unknown>; perPerson: Record<string, Record<string, unknown>> };

export interface WebhookAnswer {
  status: number;
  body: unknown;
  /** The answer's Retry-After in seconds (a transient status only matters then); null: none. */
  retryAfter: number | null;
}

/** Answers one webhook step gets, one per attempt, the last repeated (a receiver failing twice, then answering). */
const MAX_ANSWERS = 10;

function fail(path: string, message: string): never {
  throw JourneySimulationInvalid(`${path}: ${message}`, { field: path });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const KINDS = ["identify", "event", "segment_entered", "segment_left", "message", "broadcast"];
const STATUSES: readonly MessageStatus[] = ["sent", "delivered", "opened", "clicked", "bounced", "unsubscribed", "skipped"];

/** `{start?, events: [...]}` or a bare list of entries, in time order. */
export function parseSimulationEntries(input: unknown): { start: number | null; entries: SimulationEntry[] } {
  const root = Array.isArray(input) ? { events: input } : input;
  if (!isObject(root)) fail("events", "the file must hold a list of entries or {start, events: [...]}");
  for (const key of Object.keys(root)) if (key !== "start" && key !== "events") fail(key, "unknown key (expected start, events)");
  const start = root.start === undefined ? null : parseDate(root.start, "start");
  const list = root.events;
  if (!Array.isArray(list)) fail("events", "must be a list of entries");
  if (list.length > SIMULATION_LIMITS.entries) fail("events", `must have at most ${SIMULATION_LIMITS.entries} entries`);
  const people = new Set<string>();
  let previous = start;
  const entries = list.map((raw, i): SimulationEntry => {
    const path = `events[${i}]`;
    if (!isObject(raw)) fail(path, "must be an object with kind");
    const kind = raw.kind;
    if (typeof kind !== "string" || !KINDS.includes(kind)) fail(`${path}.kind`, `must be one of ${KINDS.join(", ")}`);
    const at = timeOf(raw, path, previous);
    previous = at;
    const allowed = ["kind", "at", "after", ...keysOf(kind)];
    for (const key of Object.keys(raw)) if (!allowed.includes(key)) fail(`${path}.${key}`, `unknown key (expected ${allowed.join(", ")})`);
    const person = () => {
      const p = personId(raw.person, `${path}.person`);
      people.add(p);
      if (people.size > SIMULATION_LIMITS.people) fail(`${path}.person`, `a simulation has at most ${SIMULATION_LIMITS.people} people`);
      return p;
    };
    switch (kind) {
      case "identify":
        return { kind, at, person: person(), attributes: record(raw.attributes, `${path}.attributes`) };
      case "event": {
        if (typeof raw.name !== "string" || raw.name === "" || raw.name.length > 100) fail(`${path}.name`, "must be an event name (1 to 100 characters)");
        const type = raw.type ?? "event";
        if (type !== "event" && type !== "page" && type !== "screen") fail(`${path}.type`, "must be event, page or screen");
        return { kind, at, person: person(), name: raw.name, type, data: record(raw.data, `${path}.data`) };
      }
      case "segment_entered":
      case "segment_left": {
        const segment = typeof raw.segment === "number" ? String(raw.segment) : raw.segment;
        if (typeof segment !== "string" || segment === "") fail(`${path}.segment`, "must be a segment id");
        return { kind, at, person: person(), segment };
      }
      case "message":
        if (typeof raw.step !== "string" || raw.step === "") fail(`${path}.step`, "must be the id of an email step");
        if (typeof raw.status !== "string" || !STATUSES.includes(raw.status as MessageStatus)) fail(`${path}.status`, `must be one of ${STATUSES.join(", ")}`);
        return { kind, at, person: person(), step: raw.step, status: raw.status as MessageStatus };
      default: {
        if (!Array.isArray(raw.people) || raw.people.length === 0) fail(`${path}.people`, "must be a non-empty list of person ids");
        const list = raw.people.map((p, j) => personId(p, `${path}.people[${j}]`));
        for (const p of list) people.add(p);
        const perPerson = record(raw.per_person, `${path}.per_person`) as Record<string, Record<string, unknown>>;
        for (const [k, v] of Object.entries(perPerson)) if (!isObject(v)) fail(`${path}.per_person.${k}`, "must be an object");
        return { kind: "broadcast", at, people: list, data: record(raw.data, `${path}.data`), perPerson };
      }
    }
  });
  return { start, entries };
}

function keysOf(kind: string): string[] {
  switch (kind) {
    case "identify":
      return ["person", "attributes"];
    case "event":
      return ["person", "name", "type", "data"];
    case "segment_entered":
    case "segment_left":
      return ["person", "segment"];
    case "message":
      return ["person", "step", "status"];
    default:
      return ["people", "data", "per_person"];
  }
}

/** `at` (ISO 8601 or unix seconds) or `after` (a duration after the entry before); in time order. */
function timeOf(raw: Record<string, unknown>, path: string, previous: number | null): number {
  if (raw.at !== undefined && raw.after !== undefined) fail(`${path}.after`, "give at or after, not both");
  let at: number;
  if (raw.at !== undefined) {
    try {
      at = parseDate(raw.at, `${path}.at`);
    } catch {
      return fail(`${path}.at`, "must be a date: ISO 8601 text (2026-01-31T09:00:00Z) or unix seconds");
    }
  } else {
    if (previous === null) fail(`${path}.at`, "the first entry needs a time (or give start)");
    let after = 0;
    if (raw.after !== undefined) {
      try {
        after = duration(raw.after, `${path}.after`, { min: 0 });
      } catch (err) {
        if (isPosthornError(err)) fail(`${path}.after`, 'must be a duration such as "90s", "15m", "12h", "3d" or "2w"');
        throw err;
      }
    }
    at = previous + after;
  }
  if (previous !== null && at < previous) fail(`${path}.at`, "entries must be in time order");
  return at;
}

function personId(value: unknown, path: string): string {
  if (typeof value === "number" && Number.isInteger(value)) return String(value);
  if (typeof value !== "string" || value === "" || value.length > 150) fail(path, "must be a person id (1 to 150 characters)");
  return value;
}

function record(value: unknown, path: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) fail(path, "must be an object");
  if (Buffer.byteLength(JSON.stringify(value)) > SIMULATION_LIMITS.entryBytes) fail(path, `must be at most ${SIMULATION_LIMITS.entryBytes} bytes as JSON`);
  return value;
}

/** `{step_id: {status, body}}`: what each webhook step's request gets back (by default 200 and {}). */
/** `{step_id: {status, body, retry_after?}}`, or a list of such answers per step for its attempts in turn. */
export function parseWebhookAnswers(input: unknown): Map<string, WebhookAnswer[]> {
  if (!isObject(input)) fail("webhook_responses", "the file must hold an object {step_id: {status, body}} or {step_id: [{status, body}, …]}");
  const out = new Map<string, WebhookAnswer[]>();
  for (const [step, given] of Object.entries(input)) {
    const path = `webhook_responses.${step}`;
    const list = Array.isArray(given) ? given : [given];
    if (list.length === 0 || list.length > MAX_ANSWERS) fail(path, `must list 1 to ${MAX_ANSWERS} answers`);
    out.set(
      step,
      list.map((answer, i) => webhookAnswer(answer, Array.isArray(given) ? `${path}[${i}]` : path)),
    );
  }
  return out;
}

function webhookAnswer(answer: unknown, path: string): WebhookAnswer {
  if (!isObject(answer)) fail(path, "must be an object {status, body, retry_after?}");
  for (const key of Object.keys(answer)) if (key !== "status" && key !== "body" && key !== "retry_after") fail(`${path}.${key}`, "unknown key (expected status, body, retry_after)");
  const status = answer.status ?? 200;
  if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 599) fail(`${path}.status`, "must be an HTTP status (100 to 599)");
  const retryAfter = answer.retry_after ?? null;
  if (retryAfter !== null && (typeof retryAfter !== "number" || !Number.isInteger(retryAfter) || retryAfter < 0 || retryAfter > 86_400)) fail(`${path}.retry_after`, "must be whole seconds from 0 to 86400");
  return { status, body: answer.body ?? {}, retryAfter };
}
