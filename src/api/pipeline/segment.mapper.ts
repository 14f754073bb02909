// Segment-spec calls in Posthorn's words: each call becomes the people domain's operations
// (src/people/people.port.ts). The choices, also in docs/pipeline-api.md:
//
// - Who: userId as the person's id; without one, the anonymousId (events then wait, unattached,
//   until that anonymous id is identified). An identify with no userId but an `email` trait names
//   the person by email.
// - identify: traits become attributes, except the ones our model keeps apart: `email` (a string)
//   becomes the email identifier, `createdAt`/`created_at` the person's creation time, and a
//   boolean `unsubscribed` the subscription state (Customer.io's reserved attributes). The
//   anonymousId rides along as alsoKnownAs, which merges that anonymous id's events into the person.
// - track → an event named `event`; page and screen → typed events named by `name`, else the
//   page's url or path, else "page"/"screen". Data: the properties, plus the sender's context under
//   `_context` (ip, userAgent, library, page…: kept so segments and templates can read them;
//   properties never collide with it because Segment's own keys have no leading underscore).
//   messageId is the de-duplication key.
// - group → the object (type `traits.objectTypeId`, default "1", as Customer.io's Data Pipelines
//   name object types) with the other traits as its attributes, and, with a userId, the person's
//   relationship to it (attributes from `traits.relationshipAttributes`).
// - alias → previousId joins userId: as an anonymous id (its events move to the person), and, if a
//   person was identified by previousId as their id, that person is merged into userId's.
import type { PersonIdentifier, PersonOperation } from "../../people/people.port.js";
import { isObject, type SegmentCall } from "./segment-message.js";
import { parseSegmentTime } from "./segment-time.js";

type Json = Record<string, unknown>;

/** Where the sender's context is kept in an event's data. */
export const CONTEXT_KEY = "_context";

/** The object type of a group call that names none (Customer.io numbers object types from 1). */
export const DEFAULT_OBJECT_TYPE = "1";

export interface MappedCall {
  operations: PersonOperation[];
  /**
   * How many of the operations must succeed for the call to count as applied; the rest are
   * best-effort (alias's merge, which finds no person when previousId was only ever anonymous).
   */
  required: number;
}

export function toOperations(call: SegmentCall): MappedCall {
  switch (call.type) {
    case "identify":
      return { operations: [identifyOperation(call)], required: 1 };
    case "track":
      return { operations: [eventOperation(call, call.properties, call.event, "event")], required: 1 };
    case "page":
    case "screen": {
      const properties = call.type === "screen" && call.category && call.properties.category === undefined ? Object.assign({}, call.properties, { category: call.category }) : call.properties;
      return { operations: [eventOperation(call, properties, viewName(call), call.type)], required: 1 };
    }
    case "group":
      return groupOperations(call);
    case "alias":
      return aliasOperations(call);
    default: {
      const never: never = call;
      throw new Error(`unknown Segment call ${JSON.stringify(never)}`);
    }
  }
}

function who(call: SegmentCall): PersonIdentifier {
  if (call.userId) return { kind: "id", value: call.userId };
  return { kind: "anonymous_id", value: call.anonymousId! };
}

function identifyOperation(call: SegmentCall & { type: "identify" }): PersonOperation {
  const { email, createdAt, created_at: createdAtSnake, unsubscribed, ...rest } = call.traits;
  const attributes: Json = rest;
  const emailText = typeof email === "string" && email !== "" ? email : null;
  // A non-string email cannot be an identifier; it stays an attribute for the domain to judge.
  if (email !== undefined && email !== null && emailText === null) attributes.email = email;
  const created = creationTime(createdAt ?? createdAtSnake);
  if ((createdAt ?? createdAtSnake) !== undefined && created === null) {
    if (createdAt !== undefined) attributes.createdAt = createdAt;
    if (createdAtSnake !== undefined) attributes.created_at = createdAtSnake;
  }
  if (unsubscribed !== undefined && typeof unsubscribed !== "boolean") attributes.unsubscribed = unsubscribed;

  const subject: PersonIdentifier = call.userId ? { kind: "id", value: call.userId } : emailText ? { kind: "email", value: emailText } : who(call);
  const alsoKnownAs: PersonIdentifier[] = [];
  if (emailText && subject.kind !== "email") alsoKnownAs.push({ kind: "email", value: emailText });
  if (call.anonymousId && subject.kind !== "anonymous_id") alsoKnownAs.push({ kind: "anonymous_id", value: call.anonymousId });
  const op: PersonOperation & { op: "identify" } = { op: "identify", who: subject, attributes };
  if (alsoKnownAs.length > 0) op.alsoKnownAs = alsoKnownAs;
  if (created !== null) op.createdAt = created;
  if (typeof unsubscribed === "boolean") op.unsubscribed = unsubscribed;
  return op;
}

/** A creation time as Segment (ISO-8601) or Customer.io (unix seconds) sends it, in ms; null when neither. */
function creationTime(value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return Math.round(value * 1000);
  return parseSegmentTime(value);
}

function eventOperation(call: SegmentCall, properties: Json, name: string, type: "event" | "page" | "screen"): PersonOperation {
  // Copied, then the key added: `{...properties, [key]: v}` costs microseconds an event on Node 20.
  let data = properties;
  if (call.context) {
    data = Object.assign({}, properties);
    data[CONTEXT_KEY] = call.context;
  }
  return { op: "track", who: who(call), event: { name, type, dedupeKey: call.messageId, timestamp: call.timestamp, data } };
}

function viewName(call: SegmentCall & { type: "page" | "screen" }): string {
  if (call.name) return call.name;
  const page = isObject(call.context?.page) ? call.context.page : {};
  for (const candidate of [call.properties.url, call.properties.path, page.url, page.path]) {
    if (typeof candidate === "string" && candidate !== "") return candidate;
  }
  return call.type;
}

function groupOperations(call: SegmentCall & { type: "group" }): MappedCall {
  const { objectTypeId, object_type_id: objectTypeIdSnake, relationshipAttributes, ...attributes } = call.traits;
  const typeId = idText(objectTypeId) ?? idText(objectTypeIdSnake) ?? DEFAULT_OBJECT_TYPE;
  const object = { typeId, objectId: call.groupId };
  const operations: PersonOperation[] = [{ op: "identify_object", object, attributes }];
  // Without a userId a group call only updates the group's traits (Customer.io's group spec);
  // an anonymous visitor has no person to relate yet.
  if (call.userId) {
    operations.push({ op: "relate", who: { kind: "id", value: call.userId }, object, attributes: isObject(relationshipAttributes) ? relationshipAttributes : {} });
  }
  return { operations, required: operations.length };
}

function idText(value: unknown): string | null {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return null;
}

function aliasOperations(call: SegmentCall & { type: "alias" }): MappedCall {
  const primary: PersonIdentifier = { kind: "id", value: call.userId! };
  return {
    operations: [
      { op: "identify", who: primary, attributes: {}, alsoKnownAs: [{ kind: "anonymous_id", value: call.previousId }] },
      { op: "merge", primary, secondary: { kind: "id", value: call.previousId } },
    ],
    required: 1,
  };
}
