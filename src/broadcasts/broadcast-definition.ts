// Reads a broadcast's definition (the App API's `POST /v1/broadcasts` body, snake_case JSON) and a
// recipient filter tree into our words, refusing what is bad with the path of the bad field.
// Liquid syntax is checked here too, so a broadcast that cannot render is refused when defined,
// not found out per person while sending.
import type { EmailContent, SendDefaults } from "../journeys/journey.model.js";
import { LiquidRenderer } from "../templates/liquid/liquid.renderer.js";
import { isPosthornError } from "../shared/errors.js";
import { BroadcastInvalid } from "./broadcasts.errors.js";
import type { BroadcastDefinition, BroadcastSchedule, RecipientFilter } from "./broadcasts.types.js";
import { isTimeZone } from "./local-time.js";
import { pageable } from "./audience.reader.js";

export const BROADCAST_LIMITS = {
  nameBytes: 255,
  tagBytes: 1_000,
  /** Subject, html or text, each. */
  templateChars: 512 * 1024,
  headers: 50,
  filterDepth: 10,
  filterLeaves: 100,
  /** Messages per minute. */
  maxThrottle: 1_000_000,
  /** How far ahead a broadcast may be scheduled. */
  maxAheadMs: 400 * 24 * 3_600_000,
} as const;

type Refuse = (message: string, field: string) => never;

const refuseBroadcast: Refuse = (message, field) => {
  throw BroadcastInvalid(`${field}: ${message}`, { field });
};

const syntax = new LiquidRenderer();

export function parseBroadcast(input: unknown, now: number): BroadcastDefinition {
  if (!isObject(input)) refuseBroadcast("must be an object", "broadcast");
  const b = input as Record<string, unknown>;
  const name = text(b.name, "broadcast.name", BROADCAST_LIMITS.nameBytes, refuseBroadcast);
  if (b.recipients === undefined) refuseBroadcast("is required ({segment: {id}} or a filter tree)", "broadcast.recipients");
  const audience = parseRecipientFilter(b.recipients, "broadcast.recipients", refuseBroadcast);
  const why = pageable(audience);
  if (why) refuseBroadcast(why, "broadcast.recipients");
  const tag = b.tag === undefined || b.tag === null ? null : text(b.tag, "broadcast.tag", BROADCAST_LIMITS.tagBytes, refuseBroadcast);
  const throttle = b.throttle_per_minute;
  if (throttle !== undefined && throttle !== null && (!Number.isInteger(throttle) || (throttle as number) < 1 || (throttle as number) > BROADCAST_LIMITS.maxThrottle)) {
    refuseBroadcast(`must be a whole number from 1 to ${BROADCAST_LIMITS.maxThrottle}, or null`, "broadcast.throttle_per_minute");
  }
  const overLimit = b.over_limit ?? "skip";
  if (overLimit !== "skip" && overLimit !== "hold") refuseBroadcast("must be skip or hold", "broadcast.over_limit");
  return {
    name,
    audience,
    content: parseContent(b, "broadcast"),
    send: parseSend(b, "broadcast"),
    tag,
    schedule: parseSchedule(b.schedule, now, "broadcast.schedule"),
    throttlePerMinute: typeof throttle === "number" ? throttle : null,
    overLimit,
  };
}

function parseContent(b: Record<string, unknown>, at: string): EmailContent {
  const optional = (key: string) => (b[key] === undefined || b[key] === null ? null : template(b[key], `${at}.${key}`));
  if (b.template !== undefined) {
    const id = b.template;
    if (typeof id !== "string" && typeof id !== "number") refuseBroadcast("must be a stored template's id or alias", `${at}.template`);
    if (b.model !== undefined && !isObject(b.model)) refuseBroadcast("must be an object", `${at}.model`);
    if (b.subject !== undefined || b.html !== undefined || b.text !== undefined) refuseBroadcast("give either template (and model) or subject with html/text, not both", `${at}.template`);
    return { kind: "template", from: optional("from"), to: null, template: String(id), model: (b.model as Record<string, unknown> | undefined) ?? {} };
  }
  if (b.subject === undefined) refuseBroadcast("is required (or a template)", `${at}.subject`);
  const html = optional("html");
  const plain = optional("text");
  if (html === null && plain === null) refuseBroadcast("html or text is required", `${at}.html`);
  const headers: Record<string, string> = {};
  if (b.headers !== undefined) {
    if (!isObject(b.headers)) refuseBroadcast("must be an object of header names to values", `${at}.headers`);
    const entries = Object.entries(b.headers as Record<string, unknown>);
    if (entries.length > BROADCAST_LIMITS.headers) refuseBroadcast(`at most ${BROADCAST_LIMITS.headers} headers`, `${at}.headers`);
    for (const [k, v] of entries) {
      if (!/^[!-9;-~]+$/.test(k) || typeof v !== "string") refuseBroadcast("a header needs a valid name and a text value", `${at}.headers.${k}`);
      headers[k] = template(v, `${at}.headers.${k}`);
    }
  }
  return { kind: "liquid", from: optional("from"), to: null, replyTo: optional("reply_to"), subject: template(b.subject, `${at}.subject`), html, text: plain, headers };
}

function parseSend(b: Record<string, unknown>, at: string): SendDefaults {
  const flag = (key: string, fallback: boolean) => {
    const v = b[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "boolean") refuseBroadcast("must be true or false", `${at}.${key}`);
    return v as boolean;
  };
  const stream = b.stream === undefined || b.stream === null ? null : text(b.stream, `${at}.stream`, 100, refuseBroadcast);
  const topic = b.topic === undefined || b.topic === null ? null : text(b.topic, `${at}.topic`, 100, refuseBroadcast);
  if (topic !== null && !/^topic_\d+$/.test(topic)) refuseBroadcast("must be topic_<n>", `${at}.topic`);
  return { from: null, stream, countsTowardLimit: flag("counts_toward_limit", true), transactional: false, topic };
}

function parseSchedule(input: unknown, now: number, at: string): BroadcastSchedule {
  if (input === undefined || input === null || input === "now") return { kind: "now" };
  if (!isObject(input)) refuseBroadcast('must be "now", {send_at: unix seconds} or {local: {date, time, fallback}}', at);
  const s = input as Record<string, unknown>;
  if (s.send_at !== undefined) {
    const t = s.send_at;
    if (typeof t !== "number" || !Number.isFinite(t) || t < 0) refuseBroadcast("must be unix seconds", `${at}.send_at`);
    const ms = Math.round((t as number) * 1000);
    if (ms > now + BROADCAST_LIMITS.maxAheadMs) refuseBroadcast("is more than 400 days ahead", `${at}.send_at`);
    return { kind: "at", at: ms };
  }
  if (s.local !== undefined) {
    if (!isObject(s.local)) refuseBroadcast("must be {date: YYYY-MM-DD, time: HH:MM, fallback: IANA zone}", `${at}.local`);
    const l = s.local as Record<string, unknown>;
    if (typeof l.date !== "string" || !/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/.test(l.date) || Number.isNaN(Date.parse(`${l.date}T00:00:00Z`))) refuseBroadcast("must be a date YYYY-MM-DD", `${at}.local.date`);
    if (typeof l.time !== "string" || !/^([01]\d|2[0-3]):[0-5]\d$/.test(l.time)) refuseBroadcast("must be a time HH:MM (24 h)", `${at}.local.time`);
    if (!isTimeZone(l.fallback)) refuseBroadcast("must be an IANA timezone (Europe/Berlin)", `${at}.local.fallback`);
    const earliest = Date.parse(`${l.date as string}T${l.time as string}:00Z`) - 14 * 3_600_000;
    if (earliest > now + BROADCAST_LIMITS.maxAheadMs) refuseBroadcast("is more than 400 days ahead", `${at}.local.date`);
    return { kind: "local", date: l.date as string, time: l.time as string, fallback: l.fallback as string };
  }
  return refuseBroadcast("must have send_at or local", at);
}

/** Customer.io's recipient filter: {and|or: [...]}, {not: …}, {segment: {id}}, {attribute: {field, operator: eq|exists, value?}}. */
export function parseRecipientFilter(input: unknown, path: string, refuse: Refuse): RecipientFilter {
  let leaves = 0;
  const walk = (node: unknown, at: string, depth: number): RecipientFilter => {
    if (depth > BROADCAST_LIMITS.filterDepth) refuse(`nested more than ${BROADCAST_LIMITS.filterDepth} deep`, at);
    if (!isObject(node) || Object.keys(node).length !== 1) refuse("must be an object with one key: and, or, not, segment or attribute", at);
    const [key, value] = Object.entries(node as Record<string, unknown>)[0]!;
    const here = `${at}.${key}`;
    if (key === "and" || key === "or") {
      if (!Array.isArray(value) || value.length === 0) refuse("must be a non-empty array", here);
      const children = (value as unknown[]).map((v, i) => walk(v, `${here}[${i}]`, depth + 1));
      return key === "and" ? { and: children } : { or: children };
    }
    if (key === "not") return { not: walk(value, here, depth + 1) };
    if (++leaves > BROADCAST_LIMITS.filterLeaves) refuse(`at most ${BROADCAST_LIMITS.filterLeaves} conditions`, here);
    if (key === "segment") {
      const id = isObject(value) ? (value as Record<string, unknown>).id : undefined;
      if (!(typeof id === "number" && Number.isInteger(id) && id > 0) && !(typeof id === "string" && /^\d{1,15}$/.test(id))) refuse("must be {id: a segment id}", `${here}.id`);
      return { segment: { id: String(id) } };
    }
    if (key === "attribute") {
      if (!isObject(value)) refuse("must be {field, operator, value}", here);
      const { field, operator } = value as Record<string, unknown>;
      if (typeof field !== "string" || field === "" || field.length > 150) refuse("must be a non-empty string (150 characters at most)", `${here}.field`);
      if (operator !== "eq" && operator !== "exists") refuse("must be eq or exists", `${here}.operator`);
      const v = (value as Record<string, unknown>).value;
      if (operator === "eq" && v === undefined) refuse("is required by eq", `${here}.value`);
      return { attribute: { field: field as string, operator: operator as "eq" | "exists", ...(operator === "eq" ? { value: v } : {}) } };
    }
    return refuse("unknown filter (expected and, or, not, segment or attribute)", here);
  };
  return walk(input, path, 1);
}

function template(value: unknown, field: string): string {
  if (typeof value !== "string") refuseBroadcast("must be text", field);
  const t = value as string;
  if (t.length > BROADCAST_LIMITS.templateChars) refuseBroadcast(`is longer than ${BROADCAST_LIMITS.templateChars} characters`, field);
  try {
    syntax.check(t);
  } catch (err) {
    if (isPosthornError(err)) refuseBroadcast(err.message, field);
    throw err;
  }
  return t;
}

function text(value: unknown, field: string, maxBytes: number, refuse: Refuse): string {
  if (typeof value !== "string" || value.trim() === "") refuse("must be non-empty text", field);
  if (Buffer.byteLength(value as string) > maxBytes) refuse(`is longer than ${maxBytes} bytes`, field);
  return value as string;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
