// The limits of the people domain, the same for every door (Customer.io's published limits), and
// the checks of one operation's input that need no database. Sizes are UTF-8 bytes; values are
// measured as the JSON they are stored as. A door with tighter limits of its own checks them at
// its edge. The 300-attribute limit depends on what the person already has, so the apply step
// checks it (people.apply.ts).
import type { PosthornError } from "../shared/errors.js";
import type { EventInput, ObjectRef, PersonIdentifier, PersonOperation } from "./people.port.js";
import {
  PEOPLE_ATTRIBUTE_NAME_INVALID,
  PEOPLE_ATTRIBUTE_NAME_TOO_LARGE,
  PEOPLE_ATTRIBUTE_VALUE_TOO_LARGE,
  PEOPLE_EVENT_DATA_TOO_LARGE,
  PEOPLE_EVENT_NAME_INVALID,
  PEOPLE_EVENT_NAME_TOO_LARGE,
  PEOPLE_FIELD_INVALID,
  PEOPLE_IDENTIFIER_INVALID,
  PEOPLE_IDENTIFIER_TOO_LARGE,
} from "./people.errors.js";

export const IDENTIFIER_MAX_BYTES = 150;
export const ATTRIBUTE_NAME_MAX_BYTES = 150;
export const ATTRIBUTE_VALUE_MAX_BYTES = 1_000;
export const ATTRIBUTES_MAX_COUNT = 300;
export const EVENT_NAME_MAX_BYTES = 100;
export const EVENT_DATA_MAX_BYTES = 100_000;

const KINDS = new Set(["id", "email", "cio_id", "anonymous_id", "phone"]);
const EVENT_TYPES = new Set(["event", "page", "screen"]);

/**
 * Whether `text` is longer than `max` UTF-8 bytes. A UTF-16 code unit is at most 3 bytes of UTF-8,
 * so text of up to max/3 code units is not measured: the usual identifier, name and small event
 * data, checked for every tracked event (Buffer.byteLength is a call into C++ each time).
 */
function longerThan(text: string, max: number): boolean {
  return text.length * 3 > max && Buffer.byteLength(text, "utf8") > max;
}

/** Checks an identifier; `field` names it in the error (the kind, or e.g. "primary.email"). */
export function checkIdentifier(who: PersonIdentifier | undefined, field?: string): PosthornError | null {
  if (!who || typeof who !== "object" || !KINDS.has(who.kind)) return PEOPLE_FIELD_INVALID("The operation names no person (identifier kind: id, email, cio_id, anonymous_id or phone).", { field: field ?? "identifiers" });
  const name = field ?? who.kind;
  if (typeof who.value !== "string" || who.value.length === 0) return PEOPLE_IDENTIFIER_INVALID(`The ${who.kind} is empty.`, { field: name });
  if (longerThan(who.value, IDENTIFIER_MAX_BYTES)) return PEOPLE_IDENTIFIER_TOO_LARGE(`The ${who.kind} is longer than ${IDENTIFIER_MAX_BYTES} bytes.`, { field: name });
  if (who.kind === "email" && !who.value.includes("@")) return PEOPLE_IDENTIFIER_INVALID(`The email '${who.value}' is not an e-mail address.`, { field: name });
  return null;
}

function checkPlainId(value: unknown, field: string): PosthornError | null {
  if (typeof value !== "string" || value.length === 0) return PEOPLE_IDENTIFIER_INVALID(`The ${field} is empty.`, { field });
  if (longerThan(value, IDENTIFIER_MAX_BYTES)) return PEOPLE_IDENTIFIER_TOO_LARGE(`The ${field} is longer than ${IDENTIFIER_MAX_BYTES} bytes.`, { field });
  return null;
}

/** Names and values of attributes to set (null values remove, and are always allowed). */
export function checkAttributes(attributes: Record<string, unknown> | undefined, field = "attributes"): PosthornError | null {
  if (attributes === undefined) return null;
  if (attributes === null || typeof attributes !== "object" || Array.isArray(attributes)) return PEOPLE_FIELD_INVALID(`The ${field} are not an object.`, { field });
  for (const [name, value] of Object.entries(attributes)) {
    if (name.length === 0) return PEOPLE_ATTRIBUTE_NAME_INVALID("An attribute name is empty.", { field: name });
    if (longerThan(name, ATTRIBUTE_NAME_MAX_BYTES)) return PEOPLE_ATTRIBUTE_NAME_TOO_LARGE(`The attribute name '${name.slice(0, 40)}…' is longer than ${ATTRIBUTE_NAME_MAX_BYTES} bytes.`, { field: name });
    if (value === null || value === undefined) continue;
    const json = JSON.stringify(value);
    if (json !== undefined && longerThan(json, ATTRIBUTE_VALUE_MAX_BYTES)) return PEOPLE_ATTRIBUTE_VALUE_TOO_LARGE(`The value of '${name}' is longer than ${ATTRIBUTE_VALUE_MAX_BYTES} bytes.`, { field: name });
  }
  return null;
}

export function checkEvent(event: EventInput | undefined): PosthornError | null {
  if (!event || typeof event !== "object") return PEOPLE_FIELD_INVALID("The operation has no event.", { field: "event" });
  if (typeof event.name !== "string" || event.name.length === 0) return PEOPLE_EVENT_NAME_INVALID("The event has no name.", { field: "name" });
  if (longerThan(event.name, EVENT_NAME_MAX_BYTES)) return PEOPLE_EVENT_NAME_TOO_LARGE(`The event name is longer than ${EVENT_NAME_MAX_BYTES} bytes.`, { field: "name" });
  if (!EVENT_TYPES.has(event.type)) return PEOPLE_FIELD_INVALID(`The event type '${String(event.type)}' is not event, page or screen.`, { field: "type" });
  if (event.timestamp !== null && event.timestamp !== undefined && !Number.isFinite(event.timestamp)) return PEOPLE_FIELD_INVALID("The event timestamp is not a number.", { field: "timestamp" });
  if (event.dedupeKey !== null && event.dedupeKey !== undefined) {
    const bad = checkPlainId(event.dedupeKey, "id");
    if (bad) return bad;
  }
  const data = event.data ?? {};
  if (typeof data !== "object" || Array.isArray(data)) return PEOPLE_FIELD_INVALID("The event data is not an object.", { field: "data" });
  const json = JSON.stringify(data);
  if (longerThan(json, EVENT_DATA_MAX_BYTES)) return PEOPLE_EVENT_DATA_TOO_LARGE(`The event data is larger than ${EVENT_DATA_MAX_BYTES} bytes.`, { field: "data" });
  (event as Measured)[MEASURED] = { of: data, json };
  return null;
}

/**
 * The JSON checkEvent made of an event's data when it measured it, kept on the event so that
 * storing the event does not serialize it again. On the event rather than in a WeakMap keyed by
 * the data: in the server, the WeakMap's set was four fifths of checkEvent's time, ~4% of the
 * ingest thread at full batched ingest (bench:track profiles, docs/benchmarks.md).
 */
const MEASURED = Symbol("measured event data");
type Measured = EventInput & { [MEASURED]?: { of: unknown; json: string } };

/** The JSON of an event's data: the text checkEvent made when it measured it (the same data still), else made now. */
export function eventDataJson(event: EventInput): string {
  const measured = (event as Measured)[MEASURED];
  return measured !== undefined && measured.of === event.data ? measured.json : JSON.stringify(event.data);
}

function checkObject(object: ObjectRef | undefined): PosthornError | null {
  if (!object || typeof object !== "object") return PEOPLE_FIELD_INVALID("The operation names no object.", { field: "object" });
  return checkPlainId(object.typeId, "object_type_id") ?? checkPlainId(object.objectId, "object_id");
}

/** Everything about one operation that can be checked without the database; null when it passes. */
export function checkOperation(op: PersonOperation): PosthornError | null {
  if (!op || typeof op !== "object") return PEOPLE_FIELD_INVALID("The operation is not an object.", { field: "op" });
  switch (op.op) {
    case "identify":
      if (op.alsoKnownAs !== undefined && !Array.isArray(op.alsoKnownAs)) return PEOPLE_FIELD_INVALID("alsoKnownAs is not a list of identifiers.", { field: "identifiers" });
      return (
        checkIdentifier(op.who) ??
        (op.alsoKnownAs ?? []).reduce<PosthornError | null>((found, other) => found ?? checkIdentifier(other), null) ??
        checkAttributes(op.attributes) ??
        // An email among the attributes becomes the email identifier (people.apply.ts): its limits too.
        (typeof op.attributes?.email === "string" && op.attributes.email.length > 0 ? checkIdentifier({ kind: "email", value: op.attributes.email }) : null) ??
        (op.unsubscribed !== undefined && typeof op.unsubscribed !== "boolean" ? PEOPLE_FIELD_INVALID("unsubscribed is not true or false.", { field: "unsubscribed" }) : null) ??
        checkTopics(op.topics) ??
        (op.createdAt !== undefined && op.createdAt !== null && !Number.isFinite(op.createdAt) ? PEOPLE_FIELD_INVALID("created_at is not a number.", { field: "created_at" }) : null)
      );
    case "delete":
    case "suppress":
    case "unsuppress":
      return checkIdentifier(op.who);
    case "track":
      return checkIdentifier(op.who) ?? checkEvent(op.event);
    case "add_device":
      if (!op.device || typeof op.device !== "object") return PEOPLE_FIELD_INVALID("The operation has no device.", { field: "device" });
      if (typeof op.device.platform !== "string" || op.device.platform.length === 0) return PEOPLE_FIELD_INVALID("The device has no platform.", { field: "platform" });
      return checkIdentifier(op.who) ?? checkPlainId(op.device.deviceId, "device.id") ?? checkPlainId(op.device.platform, "platform") ?? checkAttributes(op.device.attributes ?? {}, "device.attributes");
    case "delete_device":
      return checkIdentifier(op.who) ?? checkPlainId(op.deviceId, "device.id");
    case "merge":
      return checkIdentifier(op.primary, "primary") ?? checkIdentifier(op.secondary, "secondary");
    case "identify_object":
      return checkObject(op.object) ?? checkAttributes(op.attributes);
    case "delete_object":
      return checkObject(op.object);
    case "relate":
      return checkIdentifier(op.who) ?? checkObject(op.object) ?? checkAttributes(op.attributes ?? {}, "relationship_attributes");
    case "unrelate":
      return checkIdentifier(op.who) ?? checkObject(op.object);
    default:
      return PEOPLE_FIELD_INVALID(`Unknown operation '${String((op as { op: unknown }).op)}'.`, { field: "op" });
  }
}

function checkTopics(topics: Record<string, boolean> | undefined): PosthornError | null {
  if (topics === undefined) return null;
  if (topics === null || typeof topics !== "object") return PEOPLE_FIELD_INVALID("The topic preferences are not an object.", { field: "cio_subscription_preferences" });
  for (const [name, value] of Object.entries(topics)) {
    if (typeof value !== "boolean") return PEOPLE_FIELD_INVALID(`The preference for ${name} is not true or false.`, { field: name });
    if (longerThan(name, ATTRIBUTE_NAME_MAX_BYTES)) return PEOPLE_ATTRIBUTE_NAME_TOO_LARGE(`The topic name is longer than ${ATTRIBUTE_NAME_MAX_BYTES} bytes.`, { field: name });
  }
  return null;
}
