// How the Track API names people, in paths and in bodies.
//
// In a path (/customers/{identifier}) one string can be any of three identifiers, as in
// Customer.io: a value starting with "cio_" is Posthorn's own id (cio_id, the rest of the value); a
// value containing "@" is an email address; anything else is the customer's id. So an id that
// contains "@" cannot be named in a path (use its cio_id, or the v2 API where the kind is explicit);
// Customer.io workspaces that identify by email draw the same line.
//
// In a body (v2 identifiers, merge_customers' primary/secondary) the kind is the key: exactly one
// of id, email, cio_id (and phone in v2).
import type { IdentifierKind, PersonIdentifier } from "../../people/people.port.js";
import { TrackRequestInvalid } from "./track.edge-errors.js";

const CIO_PREFIX = "cio_";

/** The person a path segment names (already percent-decoded by the router). */
export function personInPath(raw: string, field = "identifier"): PersonIdentifier {
  const value = raw.trim();
  if (value.length === 0) throw TrackRequestInvalid("The person's identifier in the path is empty.", { field });
  if (value.startsWith(CIO_PREFIX)) {
    const cioId = value.slice(CIO_PREFIX.length);
    if (cioId.length === 0) throw TrackRequestInvalid("'cio_' must be followed by the person's cio_id.", { field });
    return { kind: "cio_id", value: cioId };
  }
  if (value.includes("@")) return { kind: "email", value };
  return { kind: "id", value };
}

/** Identifier kinds a body may name a person by; v2 adds phone. */
export const BODY_KINDS: readonly IdentifierKind[] = ["id", "email", "cio_id"];
export const V2_KINDS: readonly IdentifierKind[] = ["id", "email", "cio_id", "phone"];

/**
 * The person an identifiers object names: exactly one of `kinds`, a non-empty string (a number is
 * taken as its decimal text, as Customer.io accepts numeric ids).
 */
export function personInObject(value: unknown, field: string, kinds: readonly IdentifierKind[] = BODY_KINDS): PersonIdentifier {
  if (!isObject(value)) throw TrackRequestInvalid(`'${field}' must be an object with one of ${kinds.join(", ")}.`, { field });
  const present = kinds.filter((kind) => value[kind] !== undefined && value[kind] !== null && value[kind] !== "");
  if (present.length !== 1) throw TrackRequestInvalid(`'${field}' must name the person by exactly one of ${kinds.join(", ")}.`, { field });
  const kind = present[0]!;
  return { kind, value: identifierText(value[kind], `${field}.${kind}`) };
}

/** `?id_type=` of the segment calls: id (the default), email or cio_id. */
export function idTypeParam(raw: unknown): IdentifierKind {
  if (raw === undefined || raw === "") return "id";
  if (typeof raw === "string" && (BODY_KINDS as readonly string[]).includes(raw)) return raw as IdentifierKind;
  throw TrackRequestInvalid(`'id_type' must be one of ${BODY_KINDS.join(", ")}.`, { field: "id_type" });
}

/** A string identifier (numbers become their text); anything else is refused naming the field. */
export function identifierText(value: unknown, field: string): string {
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "string" && value.trim().length > 0) return value.trim();
  throw TrackRequestInvalid(`'${field}' must be a non-empty string.`, { field });
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
