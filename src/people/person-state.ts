// A person as one request (people.apply.ts) sees and changes it, and the pure rules it applies:
// how identifiers are keyed, how given attributes merge into kept ones.
import type { AttributeChange } from "../events/event-map.js";
import type { PersonIdentifier, PersonOperation } from "./people.port.js";
import type { PersonRow } from "./people.schema.js";

/** A person as this request sees it. */
export interface LoadedPerson {
  personId: string;
  attributes: Record<string, unknown>;
  topics: Record<string, boolean>;
  unsubscribed: boolean;
  suppressed: boolean;
  createdAt: number;
  /** Their id, email and phone, once read (null: not read yet). */
  named: Map<string, string> | null;
}

/** Identifier kinds a person holds one of; anonymous ids are many, cio_id is the person's own id. */
export const SINGLE_KINDS = new Set(["id", "email", "phone"]);

export function identifierKey(kind: string, value: string): string {
  return kind === "email" ? value.toLowerCase() : value;
}

/** Every identifier an operation names, for the one lookup at the start of a request. */
export function namedBy(op: PersonOperation): PersonIdentifier[] {
  switch (op.op) {
    case "identify":
      return [op.who, ...(op.alsoKnownAs ?? [])];
    case "merge":
      return [op.primary, op.secondary];
    case "identify_object":
    case "delete_object":
      return [];
    default:
      return [op.who];
  }
}

export function toLoaded(row: PersonRow): LoadedPerson {
  return {
    personId: row.person_id,
    attributes: JSON.parse(row.attributes_json) as Record<string, unknown>,
    topics: JSON.parse(row.topics_json) as Record<string, boolean>,
    unsubscribed: row.unsubscribed === 1,
    suppressed: row.suppressed === 1,
    createdAt: Number(row.created_at),
    named: null,
  };
}

/** Sets the given attributes (null removes one) and returns the result and what changed. */
export function mergeAttributes(current: Record<string, unknown>, given: Record<string, unknown>): { attributes: Record<string, unknown>; changes: Record<string, AttributeChange> } {
  const attributes = { ...current };
  const changes: Record<string, AttributeChange> = {};
  for (const [name, value] of Object.entries(given)) {
    const had = name in attributes;
    if (value === null || value === undefined) {
      if (!had) continue;
      changes[name] = { from: attributes[name], to: null };
      delete attributes[name];
      continue;
    }
    if (had && JSON.stringify(attributes[name]) === JSON.stringify(value)) continue;
    changes[name] = { from: had ? attributes[name] : null, to: value };
    attributes[name] = value;
  }
  return { attributes, changes };
}

export function jsonOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}
