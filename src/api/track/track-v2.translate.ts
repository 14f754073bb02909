// Track API v2 operations (`{type, action, identifiers, …}`, reference §1.4) → the people domain's
// operations. One v2 operation may become several (an identify that carries relationships, an
// object related to many people); a refused one throws TRACK_REQUEST_INVALID naming its field.
//
// `delivery` events (opened/converted/delivered metrics of push and in-app messages) are checked
// and then ignored: Posthorn sends neither push nor in-app messages yet, so there is no delivery
// they could be attributed to; its email metrics come from its own MTA and tracking.
import type { ObjectRef, PersonIdentifier, PersonOperation } from "../../people/people.port.js";
import { TrackRequestInvalid } from "./track.edge-errors.js";
import { identifierText, isObject, personInObject, V2_KINDS, BODY_KINDS } from "./identifiers.js";
import { deviceIn, eventInput, identifyOperations, objectIn, relationshipList } from "./track-v1.translate.js";

/** The operations one v2 entity operation means ([] for one accepted and ignored). */
export function entityOperations(raw: unknown): PersonOperation[] {
  if (!isObject(raw)) throw TrackRequestInvalid("Each operation must be a JSON object with type, action and identifiers.", { field: null });
  switch (raw.type) {
    case "person":
      return personOperations(raw);
    case "object":
      return objectOperations(raw);
    case "delivery":
      return deliveryOperation(raw);
    default:
      throw TrackRequestInvalid("'type' must be person, object or delivery.", { field: "type" });
  }
}

function personOperations(op: Record<string, unknown>): PersonOperation[] {
  if (op.action === "merge") return [{ op: "merge", primary: personInObject(op.primary, "primary"), secondary: personInObject(op.secondary, "secondary") }];
  const who = personInObject(op.identifiers, "identifiers", V2_KINDS);
  switch (op.action) {
    case "identify":
      return personIdentify(who, op);
    case "delete":
    case "suppress":
    case "unsuppress":
      return [{ op: op.action, who }];
    case "event":
    case "page":
    case "screen":
      return [{ op: "track", who, event: eventInput(op, "attributes", op.action) }];
    case "add_relationships":
      return relationshipList(op.cio_relationships, "cio_relationships").map(({ object, attributes }) => ({ op: "relate", who, object, attributes }));
    case "delete_relationships":
      return relationshipList(op.cio_relationships, "cio_relationships").map(({ object }) => ({ op: "unrelate", who, object }));
    case "add_device":
      return [{ op: "add_device", who, device: deviceIn(op.device, "token") }];
    case "delete_device": {
      if (!isObject(op.device)) throw TrackRequestInvalid("'device' is required: an object with the device's token.", { field: "device" });
      return [{ op: "delete_device", who, deviceId: identifierText(op.device.token ?? op.device.id, "device.token") }];
    }
    default:
      throw TrackRequestInvalid("'action' of a person must be identify, delete, suppress, unsuppress, event, page, screen, add_relationships, delete_relationships, add_device, delete_device or merge.", { field: "action" });
  }
}

/**
 * A v2 person identify: `attributes` read as a v1 identify body (so `_update`, `unsubscribed`,
 * `cio_subscription_preferences`, `email`/`id`/`anonymous_id` mean the same in both versions),
 * then `cio_relationships` as a list. `timestamp` is accepted and not used, as v1's `_timestamp`.
 */
function personIdentify(who: PersonIdentifier, op: Record<string, unknown>): PersonOperation[] {
  const attributes = op.attributes ?? {};
  if (!isObject(attributes)) throw TrackRequestInvalid("'attributes' must be an object.", { field: "attributes" });
  const { cio_relationships: _v1Form, ...rest } = attributes;
  const operations = identifyOperations(who, rest);
  if (op.cio_relationships !== undefined && op.cio_relationships !== null) {
    for (const { object, attributes: relation } of relationshipList(op.cio_relationships, "cio_relationships")) operations.push({ op: "relate", who, object, attributes: relation });
  }
  return operations;
}

function objectOperations(op: Record<string, unknown>): PersonOperation[] {
  const object = objectIn(op.identifiers, "identifiers");
  switch (op.action) {
    case "identify":
    case "identify_anonymous": {
      const attributes = op.attributes ?? {};
      if (!isObject(attributes)) throw TrackRequestInvalid("'attributes' must be an object.", { field: "attributes" });
      const anonymous = op.action === "identify_anonymous";
      const related = op.cio_relationships === undefined || op.cio_relationships === null ? [] : peopleList(op.cio_relationships, anonymous);
      if (anonymous && op.anonymous_id !== undefined && op.anonymous_id !== null) {
        related.push({ who: { kind: "anonymous_id", value: identifierText(op.anonymous_id, "anonymous_id") }, attributes: {} });
      }
      return [{ op: "identify_object", object, attributes }, ...related.map(({ who, attributes: relation }) => relate(who, object, relation))];
    }
    case "delete":
      return [{ op: "delete_object", object }];
    case "add_relationships":
      return peopleList(op.cio_relationships, false).map(({ who, attributes }) => relate(who, object, attributes));
    case "delete_relationships":
      return peopleList(op.cio_relationships, false).map(({ who }) => ({ op: "unrelate", who, object }));
    default:
      throw TrackRequestInvalid("'action' of an object must be identify, identify_anonymous, delete, add_relationships or delete_relationships.", { field: "action" });
  }
}

function relate(who: PersonIdentifier, object: ObjectRef, attributes: Record<string, unknown>): PersonOperation {
  return { op: "relate", who, object, attributes };
}

/** An object's `cio_relationships`: people (by id, email or cio_id; by anonymous_id for identify_anonymous) with relationship attributes. */
function peopleList(value: unknown, anonymous: boolean): Array<{ who: PersonIdentifier; attributes: Record<string, unknown> }> {
  if (!Array.isArray(value)) throw TrackRequestInvalid("'cio_relationships' is required: a list of people.", { field: "cio_relationships" });
  return value.map((entry: unknown, i) => {
    const field = `cio_relationships[${i}]`;
    if (!isObject(entry)) throw TrackRequestInvalid(`'${field}' must be an object with 'identifiers'.`, { field });
    const attributes = entry.relationship_attributes ?? {};
    if (!isObject(attributes)) throw TrackRequestInvalid(`'${field}.relationship_attributes' must be an object.`, { field: `${field}.relationship_attributes` });
    const who = personInObject(entry.identifiers, `${field}.identifiers`, anonymous ? ["anonymous_id", ...BODY_KINDS] : BODY_KINDS);
    return { who, attributes };
  });
}

const DELIVERY_METRICS = ["opened", "converted", "delivered"];

function deliveryOperation(op: Record<string, unknown>): PersonOperation[] {
  if (op.action !== "event") throw TrackRequestInvalid("'action' of a delivery must be event.", { field: "action" });
  if (!isObject(op.identifiers)) throw TrackRequestInvalid("'identifiers' must be an object with the delivery's id.", { field: "identifiers" });
  identifierText(op.identifiers.id, "identifiers.id");
  if (typeof op.name !== "string" || !DELIVERY_METRICS.includes(op.name)) throw TrackRequestInvalid(`'name' of a delivery event must be one of ${DELIVERY_METRICS.join(", ")}.`, { field: "name" });
  return [];
}
