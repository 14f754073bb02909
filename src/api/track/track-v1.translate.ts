// Track API v1 bodies → the people domain's operations (people.port.ts). Pure functions: what a
// call means is decided here, once, and tested beside this file; the routes only read the request
// and hand the operations to people.apply().
//
// Choices where Customer.io's documents leave room (docs/track-api.md lists them for users):
// - identify: `id`/`email` in the body that name the person differently from the path are
//   identifiers to attach (alsoKnownAs), except a body value of the same kind as the path with a
//   different value, which only a cio_ path may do (that is how Customer.io changes an identifier);
//   from an id or email path it is refused rather than guessed at.
// - `_timestamp` (ordering of rapid updates) is accepted and not used: updates apply in commit
//   order, which for one client's sequential calls is the order it sent them.
// - `unsubscribed` is true for true in any case, 1 and "1", false otherwise, as Customer.io reads it.
// - timestamps (`created_at`, event `timestamp`, device `last_used`) are unix seconds; they may be
//   numbers or numeric strings, and become milliseconds.
import type { EventKind, ObjectRef, PersonIdentifier, PersonOperation } from "../../people/people.port.js";
import { TrackRequestInvalid } from "./track.edge-errors.js";
import { identifierText, isObject, personInObject } from "./identifiers.js";

/** Keys of an identify body that are not attributes. */
const RESERVED = new Set(["id", "email", "anonymous_id", "created_at", "_update", "_timestamp", "unsubscribed", "cio_subscription_preferences", "cio_relationships"]);
/** Dot-notation keys that set one topic (`cio_subscription_preferences.topics.topic_3`). */
const TOPIC_KEY = /^cio_subscription_preferences\.topics\.(topic_\d+)$/;
const EVENT_TYPES: readonly EventKind[] = ["event", "page", "screen"];

export function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (!isObject(body)) throw TrackRequestInvalid("The request body must be a JSON object.", { field: null });
  return body;
}

/** PUT /customers/{identifier}: an identify, then any relationship changes it carries. */
export function identifyOperations(who: PersonIdentifier, rawBody: unknown): PersonOperation[] {
  const body = bodyObject(rawBody);
  const attributes: Record<string, unknown> = {};
  const topics: Record<string, boolean> = {};
  for (const [key, value] of Object.entries(body)) {
    const topic = TOPIC_KEY.exec(key);
    if (topic) topics[topic[1]!] = topicValue(value, key);
    else if (!RESERVED.has(key)) attributes[key] = value;
  }
  Object.assign(topics, topicsIn(body.cio_subscription_preferences));
  const identify: Extract<PersonOperation, { op: "identify" }> = { op: "identify", who, attributes };
  const alsoKnownAs = bodyIdentifiers(who, body);
  if (alsoKnownAs.length > 0) identify.alsoKnownAs = alsoKnownAs;
  if (body._update !== undefined) identify.updateOnly = body._update === true || body._update === "true";
  if (body.created_at !== undefined && body.created_at !== null) identify.createdAt = unixSeconds(body.created_at, "created_at");
  if (body.unsubscribed !== undefined) identify.unsubscribed = unsubscribedValue(body.unsubscribed);
  if (Object.keys(topics).length > 0) identify.topics = topics;
  return [identify, ...relationshipOperations(who, body.cio_relationships)];
}

/** The identifiers of an identify body beside the path's (see the file's comment). */
function bodyIdentifiers(who: PersonIdentifier, body: Record<string, unknown>): PersonIdentifier[] {
  const found: PersonIdentifier[] = [];
  for (const kind of ["id", "email"] as const) {
    const raw = body[kind];
    if (raw === undefined || raw === null || raw === "") continue;
    const value = identifierText(raw, kind);
    if (who.kind === kind) {
      // Emails name a person whatever their letter case, as in Customer.io.
      if (value === who.value || (kind === "email" && value.toLowerCase() === who.value.toLowerCase())) continue;
      throw TrackRequestInvalid(`The body's '${kind}' differs from the ${kind} in the path; to change a person's ${kind}, name them by cio_ in the path.`, { field: kind });
    }
    found.push({ kind, value });
  }
  if (body.anonymous_id !== undefined && body.anonymous_id !== null && body.anonymous_id !== "") {
    found.push({ kind: "anonymous_id", value: identifierText(body.anonymous_id, "anonymous_id") });
  }
  return found;
}

function topicsIn(preferences: unknown): Record<string, boolean> {
  if (preferences === undefined || preferences === null) return {};
  if (!isObject(preferences)) throw TrackRequestInvalid("'cio_subscription_preferences' must be an object with 'topics'.", { field: "cio_subscription_preferences" });
  const topics = preferences.topics;
  if (topics === undefined || topics === null) return {};
  if (!isObject(topics)) throw TrackRequestInvalid("'cio_subscription_preferences.topics' must be an object of topic_<id>: boolean.", { field: "cio_subscription_preferences.topics" });
  const out: Record<string, boolean> = {};
  for (const [key, value] of Object.entries(topics)) {
    if (!/^topic_\d+$/.test(key)) throw TrackRequestInvalid(`Topic '${key}' is not of the form topic_<id>.`, { field: `cio_subscription_preferences.topics.${key}` });
    out[key] = topicValue(value, `cio_subscription_preferences.topics.${key}`);
  }
  return out;
}

function topicValue(value: unknown, field: string): boolean {
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "false") return value === "true";
  throw TrackRequestInvalid(`'${field}' must be true or false.`, { field });
}

/** Customer.io: any case of "true", 1 or "1" is unsubscribed; any other value is subscribed. */
export function unsubscribedValue(value: unknown): boolean {
  if (value === true || value === 1 || value === "1") return true;
  return typeof value === "string" && value.toLowerCase() === "true";
}

/** `cio_relationships: {action, relationships:[{identifiers:{object_type_id, object_id}, relationship_attributes}]}` of a v1 identify. */
function relationshipOperations(who: PersonIdentifier, value: unknown): PersonOperation[] {
  if (value === undefined || value === null) return [];
  if (!isObject(value)) throw TrackRequestInvalid("'cio_relationships' must be an object with 'action' and 'relationships'.", { field: "cio_relationships" });
  const action = value.action ?? "add_relationships";
  if (action !== "add_relationships" && action !== "delete_relationships") {
    throw TrackRequestInvalid("'cio_relationships.action' must be add_relationships or delete_relationships.", { field: "cio_relationships.action" });
  }
  return relationshipList(value.relationships, "cio_relationships.relationships").map(({ object, attributes }) =>
    action === "add_relationships" ? { op: "relate", who, object, attributes } : { op: "unrelate", who, object },
  );
}

/** A list of `{identifiers:{object_type_id, object_id}, relationship_attributes?}` (v1 identify, v2 person relationships). */
export function relationshipList(value: unknown, field: string): Array<{ object: ObjectRef; attributes: Record<string, unknown> }> {
  if (!Array.isArray(value)) throw TrackRequestInvalid(`'${field}' must be a list.`, { field });
  return value.map((entry: unknown, i) => {
    if (!isObject(entry)) throw TrackRequestInvalid(`'${field}[${i}]' must be an object with 'identifiers'.`, { field: `${field}[${i}]` });
    const attributes = entry.relationship_attributes ?? {};
    if (!isObject(attributes)) throw TrackRequestInvalid(`'${field}[${i}].relationship_attributes' must be an object.`, { field: `${field}[${i}].relationship_attributes` });
    return { object: objectIn(entry.identifiers, `${field}[${i}].identifiers`), attributes };
  });
}

/**
 * An object's identifiers: object_type_id and object_id. Customer.io's cio_object_id (its own id
 * for an object) is refused: Posthorn names objects by type and id only.
 */
export function objectIn(value: unknown, field: string): ObjectRef {
  if (!isObject(value)) throw TrackRequestInvalid(`'${field}' must be an object with object_type_id and object_id.`, { field });
  if (value.cio_object_id !== undefined && value.object_id === undefined) {
    throw TrackRequestInvalid(`'${field}': cio_object_id is not supported; name the object by object_type_id and object_id.`, { field: `${field}.cio_object_id` });
  }
  return { typeId: identifierText(value.object_type_id, `${field}.object_type_id`), objectId: identifierText(value.object_id, `${field}.object_id`) };
}

/** POST /customers/{identifier}/events: `{name, data?, timestamp?, type?, id?}`. */
export function eventOperation(who: PersonIdentifier, rawBody: unknown): PersonOperation {
  const body = bodyObject(rawBody);
  return { op: "track", who, event: eventInput(body, "data") };
}

/**
 * POST /events: `{name, anonymous_id?, data?, timestamp?, type?, id?}`. Without an anonymous_id,
 * Customer.io takes the event as one tied to nobody (it can still trigger "invite" campaigns that
 * write to data.recipient). Posthorn stores it the same way: under an anonymous id of its own,
 * made once per event (`unattached`), which no identify can ever name, so it stays tied to nobody.
 */
export function anonymousEventOperation(rawBody: unknown, unattached: () => string): PersonOperation {
  const body = bodyObject(rawBody);
  const present = body.anonymous_id !== undefined && body.anonymous_id !== null && body.anonymous_id !== "";
  const anonymousId = present ? identifierText(body.anonymous_id, "anonymous_id") : unattached();
  return { op: "track", who: { kind: "anonymous_id", value: anonymousId }, event: eventInput(body, "data") };
}

/** The event fields shared by v1 (`data`) and v2 (`attributes`) bodies. */
export function eventInput(body: Record<string, unknown>, dataKey: "data" | "attributes", type?: EventKind): { name: string; type: EventKind; dedupeKey: string | null; timestamp: number | null; data: Record<string, unknown> } {
  if (typeof body.name !== "string" || body.name.length === 0) throw TrackRequestInvalid("'name' is required: the event's name.", { field: "name" });
  const kind = type ?? (body.type === undefined || body.type === null ? "event" : body.type);
  if (!(EVENT_TYPES as readonly unknown[]).includes(kind)) throw TrackRequestInvalid("'type' must be event, page or screen.", { field: "type" });
  const data = body[dataKey] ?? {};
  if (!isObject(data)) throw TrackRequestInvalid(`'${dataKey}' must be an object.`, { field: dataKey });
  const dedupe = body.id === undefined || body.id === null || body.id === "" ? null : identifierText(body.id, "id");
  const timestamp = body.timestamp === undefined || body.timestamp === null ? null : unixSeconds(body.timestamp, "timestamp");
  return { name: body.name, type: kind as EventKind, dedupeKey: dedupe, timestamp, data };
}

/** PUT /customers/{identifier}/devices: `{device:{id, platform, last_used?, attributes?}}` (v2: `token` for id). */
export function deviceOperation(who: PersonIdentifier, rawBody: unknown): PersonOperation {
  const body = bodyObject(rawBody);
  return { op: "add_device", who, device: deviceIn(body.device, "id") };
}

export function deviceIn(device: unknown, idKey: "id" | "token"): { deviceId: string; platform: string; lastUsedAt: number | null; attributes: Record<string, unknown> } {
  if (!isObject(device)) throw TrackRequestInvalid("'device' is required: an object with the device's token and platform.", { field: "device" });
  const deviceId = identifierText(device[idKey] ?? (idKey === "token" ? device.id : undefined), `device.${idKey}`);
  if (typeof device.platform !== "string" || device.platform.length === 0) throw TrackRequestInvalid("'device.platform' is required (ios or android).", { field: "device.platform" });
  const attributes = device.attributes ?? {};
  if (!isObject(attributes)) throw TrackRequestInvalid("'device.attributes' must be an object.", { field: "device.attributes" });
  const lastUsedAt = device.last_used === undefined || device.last_used === null ? null : unixSeconds(device.last_used, "device.last_used");
  return { deviceId, platform: device.platform, lastUsedAt, attributes };
}

/** POST /merge_customers: `{primary:{id|email|cio_id: v}, secondary:{…}}`. */
export function mergeOperation(rawBody: unknown): PersonOperation {
  const body = bodyObject(rawBody);
  return { op: "merge", primary: personInObject(body.primary, "primary"), secondary: personInObject(body.secondary, "secondary") };
}

/** Unix seconds (a number or numeric text) → milliseconds. */
export function unixSeconds(value: unknown, field: string): number {
  const seconds = typeof value === "string" && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) throw TrackRequestInvalid(`'${field}' must be a unix timestamp in seconds.`, { field });
  // A value in milliseconds (13 digits) is a common mistake; Customer.io would place it in the
  // year 50,000. Refusing it says what is wrong instead of storing a date nobody meant.
  if (seconds > 100_000_000_000) throw TrackRequestInvalid(`'${field}' must be in seconds, not milliseconds.`, { field });
  return Math.round(seconds * 1000);
}

/** Most people one add_customers/remove_customers call may name (Customer.io's limit). */
export const MAX_SEGMENT_IDS = 1000;

/** `{ids:[…]}` of POST /segments/{id}/add_customers and /remove_customers, each of kind `idType`. */
export function segmentPeople(rawBody: unknown, idType: PersonIdentifier["kind"]): PersonIdentifier[] {
  const body = bodyObject(rawBody);
  if (!Array.isArray(body.ids)) throw TrackRequestInvalid("'ids' is required: a list of the people's identifiers.", { field: "ids" });
  if (body.ids.length > MAX_SEGMENT_IDS) throw TrackRequestInvalid(`'ids' may list at most ${MAX_SEGMENT_IDS} people; got ${body.ids.length}.`, { field: "ids" });
  return body.ids.map((value: unknown, i) => ({ kind: idType, value: identifierText(value, `ids[${i}]`) }));
}
