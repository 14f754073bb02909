// Reads a triggerBroadcast body (`POST /v1/campaigns/{id}/triggers`) in any of Customer.io's
// shapes — customerio-node picks one by the first recipient key present — into our words:
//   {data, ids, id_ignore_missing} · {data, emails, email_ignore_missing, email_add_duplicates}
//   {data, per_user_data: [{id | email, data}], id_ignore_missing?, email_ignore_missing?}
//   {data, recipients: <filter tree>}
// `data_file_url` is refused: fetching a file of up to 10 GB from wherever the caller points is a
// job (and an SSRF surface) this server does not take on; per_user_data carries the same entries
// inline, 10,000 per call. Limits are Customer.io's published ones.
import type { PersonIdentifier } from "../people/people.port.js";
import { BroadcastTriggerInvalid, BroadcastTriggerLimit } from "./broadcasts.errors.js";
import type { TriggerRequest } from "./broadcasts.types.js";
import { isObject, parseRecipientFilter } from "./broadcast-definition.js";
import { pageable } from "./audience.reader.js";

export const TRIGGER_LIMITS = {
  /** ids or emails per call (Customer.io: 10,000 recipients). */
  recipients: 10_000,
  /** per_user_data entries per call (Customer.io: 10,000). */
  perUserEntries: 10_000,
  /** The `data` object, as JSON (Customer.io: 50,000 bytes). */
  dataBytes: 50_000,
  /** One per_user_data entry's data, as JSON. */
  perUserDataBytes: 50_000,
  identifierBytes: 150,
} as const;

const refuse = (message: string, field: string): never => {
  throw BroadcastTriggerInvalid(`${field}: ${message}`, { field });
};

export function parseTriggerRequest(body: unknown): TriggerRequest {
  if (body === undefined || body === null) body = {};
  if (!isObject(body)) refuse("the body must be a JSON object", "body");
  const b = body as Record<string, unknown>;
  const data = b.data === undefined || b.data === null ? {} : b.data;
  if (!isObject(data)) refuse("must be an object", "data");
  if (Buffer.byteLength(JSON.stringify(data)) > TRIGGER_LIMITS.dataBytes) throw BroadcastTriggerLimit(`data: more than ${TRIGGER_LIMITS.dataBytes} bytes as JSON.`, { field: "data" });
  const shapes = ["ids", "emails", "per_user_data", "data_file_url", "recipients"].filter((k) => b[k] !== undefined);
  if (shapes.length > 1) refuse(`give one of ids, emails, per_user_data, data_file_url or recipients, not ${shapes.join(" and ")}`, shapes[1]!);
  const shape = shapes[0];
  const ignore = (key: string) => {
    const v = b[key];
    if (v === undefined || v === null) return false;
    if (typeof v !== "boolean") refuse("must be true or false", key);
    return v as boolean;
  };
  switch (shape) {
    case "ids":
      return { data: data as Record<string, unknown>, audience: { kind: "identifiers", who: list(b.ids, "ids", "id"), ignoreMissing: ignore("id_ignore_missing") } };
    case "emails":
      // email_add_duplicates: every profile sharing an address; here an address names one person at most, so it changes nothing (read, checked, documented).
      ignore("email_add_duplicates");
      return { data: data as Record<string, unknown>, audience: { kind: "identifiers", who: list(b.emails, "emails", "email"), ignoreMissing: ignore("email_ignore_missing") } };
    case "per_user_data":
      return { data: data as Record<string, unknown>, audience: { kind: "per_user", entries: perUser(b.per_user_data), ignoreMissing: ignore("id_ignore_missing") || ignore("email_ignore_missing") } };
    case "data_file_url":
      return refuse("is not supported by this server (it does not fetch remote files); send the entries inline as per_user_data, 10,000 per call", "data_file_url");
    case "recipients": {
      const filter = parseRecipientFilter(b.recipients, "recipients", refuse);
      const why = pageable(filter);
      if (why) refuse(why, "recipients");
      return { data: data as Record<string, unknown>, audience: { kind: "filter", filter } };
    }
    default:
      return refuse("name the recipients: ids, emails, per_user_data or recipients (a campaign here has no audience of its own)", "recipients");
  }
}

function list(value: unknown, field: string, kind: "id" | "email"): PersonIdentifier[] {
  if (!Array.isArray(value) || value.length === 0) refuse("must be a non-empty array", field);
  const items = value as unknown[];
  if (items.length > TRIGGER_LIMITS.recipients) throw BroadcastTriggerLimit(`${field}: at most ${TRIGGER_LIMITS.recipients} per call (${items.length} given).`, { field });
  return items.map((v, i) => ({ kind, value: identifier(v, `${field}[${i}]`, kind) }));
}

function perUser(value: unknown): Array<{ who: PersonIdentifier; data: Record<string, unknown> }> {
  if (!Array.isArray(value) || value.length === 0) refuse("must be a non-empty array of {id or email, data}", "per_user_data");
  const items = value as unknown[];
  if (items.length > TRIGGER_LIMITS.perUserEntries) throw BroadcastTriggerLimit(`per_user_data: at most ${TRIGGER_LIMITS.perUserEntries} entries per call (${items.length} given).`, { field: "per_user_data" });
  return items.map((item, i) => {
    const at = `per_user_data[${i}]`;
    if (!isObject(item)) refuse("must be {id or email, data}", at);
    const e = item as Record<string, unknown>;
    if ((e.id === undefined) === (e.email === undefined)) refuse("needs exactly one of id and email", at);
    const kind = e.id !== undefined ? "id" : "email";
    const who = { kind, value: identifier(e[kind], `${at}.${kind}`, kind) } as const;
    const data = e.data === undefined || e.data === null ? {} : e.data;
    if (!isObject(data)) refuse("must be an object", `${at}.data`);
    if (Buffer.byteLength(JSON.stringify(data)) > TRIGGER_LIMITS.perUserDataBytes) throw BroadcastTriggerLimit(`${at}.data: more than ${TRIGGER_LIMITS.perUserDataBytes} bytes as JSON.`, { field: `${at}.data` });
    return { who, data: data as Record<string, unknown> };
  });
}

function identifier(value: unknown, field: string, kind: "id" | "email"): string {
  // Customer.io ids are often numbers in JSON; they name the same person as their text.
  if (kind === "id" && typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value !== "string" || value === "") refuse(`must be a non-empty ${kind === "id" ? "id" : "email address"}`, field);
  if (Buffer.byteLength(value as string) > TRIGGER_LIMITS.identifierBytes) refuse(`is longer than ${TRIGGER_LIMITS.identifierBytes} bytes`, field);
  if (kind === "email" && !/^[^\s@]+@[^\s@]+$/.test(value as string)) refuse("is not an email address", field);
  return value as string;
}
