// Reads of people: records assembled from their rows, the activity timeline, and search.
//
// Search evaluates the filter in JavaScript over a bounded scan of the workspace's people in id
// order (at most SCAN_ROWS per call), rather than in SQL: attribute values are JSON of any type,
// and JSON comparison differs between SQLite (json_extract gives SQL scalars, booleans as 0/1)
// and PostgreSQL (jsonb); one evaluator gives the same answer on both, and the bound keeps a call
// cheap. A page may therefore hold fewer than `limit` people and still have a `next` cursor: the
// scan stopped, not the matches. The App API pages on until `next` is null.
import type { Db } from "../store/store.js";
import type { ActivityItem, Device, Page, PeopleFilter, Person, TrackedEvent } from "./people.port.js";
import type { PeopleRepository } from "./people.repository.js";
import type { PersonEventsRepository } from "./person-events.repository.js";
import type { PersonEventRow, PersonRow } from "./people.schema.js";

const SCAN_ROWS = 5_000;
const SCAN_CHUNK = 500;
const MOST_PAGE = 1_000;

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const list = groups.get(key(item));
    if (list) list.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

export async function toPeople(db: Db, people: PeopleRepository, rows: PersonRow[]): Promise<Person[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.person_id);
  const identifiers = groupBy(await people.identifiersOf(db, ids), (i) => i.person_id);
  const devices = groupBy(await people.devicesOf(db, ids), (d) => d.person_id);
  return rows.map((row) => {
    const mine = identifiers.get(row.person_id) ?? [];
    return {
      personId: row.person_id,
      workspaceId: row.workspace_id,
      id: mine.find((i) => i.kind === "id")?.value ?? null,
      email: mine.find((i) => i.kind === "email")?.value ?? null,
      anonymousIds: mine.filter((i) => i.kind === "anonymous_id").map((i) => i.value),
      attributes: JSON.parse(row.attributes_json) as Record<string, unknown>,
      unsubscribed: row.unsubscribed === 1,
      suppressed: row.suppressed === 1,
      topics: JSON.parse(row.topics_json) as Record<string, boolean>,
      devices: (devices.get(row.person_id) ?? []).map((d): Device => ({ deviceId: d.device_id, platform: d.platform, attributes: JSON.parse(d.attributes_json) as Record<string, unknown>, lastUsedAt: d.last_used_at === null ? null : Number(d.last_used_at) })),
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
    };
  });
}

export function toTrackedEvent(row: PersonEventRow): TrackedEvent {
  return {
    eventRowId: Number(row.id),
    personId: row.person_id,
    anonymousId: row.anonymous_id,
    name: row.name,
    type: row.type as TrackedEvent["type"],
    dedupeKey: row.dedupe_key,
    data: JSON.parse(row.data_json) as Record<string, unknown>,
    timestamp: Number(row.timestamp),
    receivedAt: Number(row.received_at),
  };
}

/** Where a timeline page ended: its last item's time, kind (events rank above changes at the same time) and row id. */
interface ActivityCursor {
  at: number;
  rank: 0 | 1;
  id: number;
}

function encodeCursor(c: ActivityCursor): string {
  return Buffer.from(`${c.at}.${c.rank}.${c.id}`).toString("base64url");
}

function decodeCursor(cursor: string | null): ActivityCursor | null {
  if (!cursor) return null;
  const m = /^(-?\d+)\.([01])\.(\d+)$/.exec(Buffer.from(cursor, "base64url").toString());
  return m ? { at: Number(m[1]), rank: Number(m[2]) as 0 | 1, id: Number(m[3]) } : null;
}

/** Events and attribute changes, newest first: each source read past the cursor, merged, cut at the limit. */
export async function activityPage(db: Db, repos: { people: PeopleRepository; events: PersonEventsRepository }, personId: string, options: { limit: number; cursor: string | null }): Promise<Page<ActivityItem>> {
  const limit = Math.max(1, Math.min(options.limit, MOST_PAGE));
  const c = decodeCursor(options.cursor);
  // Order: (at, rank, id) descending. Past (c.at, c.rank, c.id) an event (rank 1) must be older,
  // or as old with a lower id when the cursor is an event; a change (rank 0) as old or older.
  const eventsBefore = c ? { at: c.at, id: c.rank === 1 ? c.id : 0 } : null;
  const changesBefore = c ? { at: c.at, id: c.rank === 0 ? c.id : Number.MAX_SAFE_INTEGER } : null;
  const events = await repos.events.eventsBefore(db, personId, eventsBefore, limit + 1);
  const changes = await repos.people.changes(db, personId, changesBefore, limit + 1);
  const merged: Array<{ key: ActivityCursor; item: ActivityItem }> = [
    ...events.map((e) => ({
      key: { at: Number(e.timestamp), rank: 1 as const, id: Number(e.id) },
      item: { kind: "event" as const, at: Number(e.timestamp), detail: { eventRowId: Number(e.id), name: e.name, type: e.type, data: JSON.parse(e.data_json) as unknown, receivedAt: Number(e.received_at), anonymousId: e.anonymous_id } },
    })),
    ...changes.map((ch) => ({
      key: { at: Number(ch.at), rank: 0 as const, id: Number(ch.id) },
      item: { kind: "attribute_change" as const, at: Number(ch.at), detail: { name: ch.name, from: ch.from_json === null ? null : (JSON.parse(ch.from_json) as unknown), to: ch.to_json === null ? null : (JSON.parse(ch.to_json) as unknown) } },
    })),
  ];
  merged.sort((a, b) => b.key.at - a.key.at || b.key.rank - a.key.rank || b.key.id - a.key.id);
  const page = merged.slice(0, limit);
  return { items: page.map((m) => m.item), next: merged.length > limit ? encodeCursor(page[page.length - 1]!.key) : null };
}

export async function searchPage(db: Db, people: PeopleRepository, workspaceId: string, filter: PeopleFilter, options: { limit: number; cursor: string | null }): Promise<Page<Person>> {
  return scanPage(db, people, workspaceId, (person) => matches(filter, person), options);
}

/**
 * The dashboard's search box: people whose id or email starts with `text` (letter case aside), whose
 * cio_id is `text`, or who have an attribute whose value (text or number) starts with it. The same
 * bounded scan as searchPage, so the same answer on both stores and a page may come back short.
 */
export async function textSearchPage(db: Db, people: PeopleRepository, workspaceId: string, text: string, options: { limit: number; cursor: string | null }): Promise<Page<Person>> {
  const wanted = text.trim().toLowerCase();
  const startsWith = (value: unknown) => (typeof value === "string" || typeof value === "number") && String(value).toLowerCase().startsWith(wanted);
  return scanPage(db, people, workspaceId, (person) => wanted === "" || person.personId === text.trim() || startsWith(person.id) || startsWith(person.email) || Object.values(person.attributes).some(startsWith), options);
}

/** A cursor for activityPage that starts at `at` inclusive: everything that happened at or before it. */
export function activityCursorAtMost(at: number): string {
  return encodeCursor({ at, rank: 1, id: Number.MAX_SAFE_INTEGER });
}

async function scanPage(db: Db, people: PeopleRepository, workspaceId: string, wanted: (person: Person) => boolean, options: { limit: number; cursor: string | null }): Promise<Page<Person>> {
  const limit = Math.max(1, Math.min(options.limit, MOST_PAGE));
  let after = options.cursor ? Buffer.from(options.cursor, "base64url").toString() : null;
  const found: Person[] = [];
  let scanned = 0;
  while (scanned < SCAN_ROWS) {
    const rows = await people.scan(db, workspaceId, after, SCAN_CHUNK);
    if (rows.length === 0) return { items: found, next: null };
    const candidates = await toPeople(db, people, rows);
    for (const person of candidates) {
      scanned++;
      after = person.personId;
      if (wanted(person)) found.push(person);
      if (found.length === limit) return { items: found, next: encodePersonCursor(after) };
    }
    if (rows.length < SCAN_CHUNK) return { items: found, next: null };
  }
  return { items: found, next: after === null ? null : encodePersonCursor(after) };
}

function encodePersonCursor(personId: string): string {
  return Buffer.from(personId).toString("base64url");
}

/** The value a filter's field names: identifiers by their names, attributes by theirs. */
function fieldOf(person: Person, field: string): unknown {
  switch (field) {
    case "id":
      return person.id;
    case "email":
      return person.email;
    case "cio_id":
      return person.personId;
    case "unsubscribed":
      return person.unsubscribed;
    default:
      return person.attributes[field];
  }
}

/**
 * eq: the same JSON value; a string and a number are equal when they read the same ("42" = 42),
 * since Customer.io attributes arrive as either depending on the client. exists: present and not null.
 */
export function matches(filter: PeopleFilter, person: Person): boolean {
  if ("and" in filter) return filter.and.every((f) => matches(f, person));
  if ("or" in filter) return filter.or.some((f) => matches(f, person));
  if ("not" in filter) return !matches(filter.not, person);
  const value = fieldOf(person, filter.attribute.field);
  if (filter.attribute.operator === "exists") return value !== undefined && value !== null;
  const wanted = filter.attribute.value;
  if (value === undefined || value === null) return wanted === null;
  if ((typeof value === "number" && typeof wanted === "string") || (typeof value === "string" && typeof wanted === "number")) return String(value) === String(wanted);
  return JSON.stringify(value) === JSON.stringify(wanted);
}
