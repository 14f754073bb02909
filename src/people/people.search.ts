// The dashboard's people search (issue 13) at any number of people: every read is a range or a
// lookup on an index, so a page is full (or the last) whatever the workspace's size.
//
// What a search text finds, in this order:
// - the person whose cio_id it is (a lookup on the people table's primary key), first on page one;
// - people whose id starts with it, as typed (ids are case-sensitive: `Ann` and `ann` are two
//   people in Customer.io and here), and people whose email starts with it, letter case aside
//   (email keys are stored lower-cased): each a range on person_identifiers' primary key
//   (workspace_id, kind, key). The two ranges are merged in key order (then kind), and a person
//   both of whose identifiers match is shown once, at the first of the two.
//
// Attribute values are not indexed (they are JSON of any type, and an index per attribute would
// cost every identify); searching them is the bounded scan of people.reads.ts (textSearchPage),
// which the dashboard offers as a separate choice and whose pages may come back short.
//
// Pages are keyset pages: the cursor is the last (key, kind) shown. Nothing is kept on the server.
import type { Db } from "../store/store.js";
import type { Page, Person } from "./people.port.js";
import type { PeopleRepository } from "./people.repository.js";
import { toPeople } from "./people.reads.js";

const MOST_PAGE = 100;
/** Refills of the merge per page: each skips at most the people matched twice, so a few suffice; a bound all the same. */
const MOST_ROUNDS = 8;

type Kind = "email" | "id";
/** Merge order: key, then kind ("email" < "id"). */
interface Position {
  key: string;
  kind: Kind;
}

const before = (a: Position, b: Position) => a.key < b.key || (a.key === b.key && a.kind < b.kind);

export async function identifierSearchPage(db: Db, people: PeopleRepository, workspaceId: string, text: string, options: { limit: number; cursor: string | null }): Promise<Page<Person>> {
  const limit = Math.max(1, Math.min(options.limit, MOST_PAGE));
  const typed = text.trim();
  const prefixes: Record<Kind, string> = { id: typed, email: typed.toLowerCase() };
  let at = decodeCursor(options.cursor);
  const found: Person[] = [];
  if (at === null) {
    const [row] = await people.people(db, workspaceId, [typed]);
    if (row) found.push(...(await toPeople(db, people, [row])));
    // A page of one held by the cio_id alone: the next starts at the beginning of the ranges.
    if (found.length >= limit) return { items: found, next: encodeCursor({ key: "", kind: "email" }) };
  }
  for (let round = 0; round < MOST_ROUNDS && found.length < limit; round++) {
    const want = limit - found.length + 1;
    const batches = await Promise.all(
      (["email", "id"] as const).map(async (kind) => {
        // Past the cursor in merge order: a key equal to the cursor's comes after it only for a later kind.
        const after = at === null ? null : { key: at.key, inclusive: kind > at.kind };
        const rows = await people.identifiersWithPrefix(db, workspaceId, kind, prefixes[kind], after, want);
        const last = rows.length === want ? { kind, key: rows[rows.length - 1]!.key } : null;
        return { last, rows: rows.filter((r) => r.key.startsWith(prefixes[kind])).map((r) => ({ kind, key: r.key, personId: r.person_id })) };
      }),
    );
    const merged = batches.flatMap((b) => b.rows).sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    // Only what both lists certainly hold in order: a list cut at `want` may have rows before the other's tail.
    const cut = batches.flatMap((b) => (b.last === null ? [] : [b.last]));
    const horizon = cut.length === 0 ? null : cut.reduce((a, b) => (before(a, b) ? a : b));
    const usable = horizon === null ? merged : merged.filter((m) => !before(horizon, m));
    const persons = new Map((await toPeople(db, people, await people.people(db, workspaceId, [...new Set(usable.map((m) => m.personId))]))).map((p) => [p.personId, p]));
    for (const m of usable) {
      at = { key: m.key, kind: m.kind };
      const person = persons.get(m.personId);
      if (!person || person.personId === typed || !firstMatch(person, prefixes, m)) continue;
      found.push(person);
      if (found.length === limit) {
        const more = usable[usable.length - 1] !== m || horizon !== null;
        return { items: found, next: more ? encodeCursor(at) : null };
      }
    }
    if (horizon === null) return { items: found, next: null };
  }
  return { items: found, next: at === null ? null : encodeCursor(at) };
}

/** Whether `m` is the person's first matching identifier in merge order (a person matched by both is shown once). */
function firstMatch(person: Person, prefixes: Record<Kind, string>, m: Position): boolean {
  const mine: Position[] = [];
  if (person.email !== null && person.email.toLowerCase().startsWith(prefixes.email)) mine.push({ key: person.email.toLowerCase(), kind: "email" });
  if (person.id !== null && person.id.startsWith(prefixes.id)) mine.push({ key: person.id, kind: "id" });
  const first = mine.reduce<Position | null>((a, b) => (a === null || before(b, a) ? b : a), null);
  return first !== null && first.key === m.key && first.kind === m.kind;
}

function encodeCursor(p: Position): string {
  return Buffer.from(JSON.stringify([p.kind, p.key])).toString("base64url");
}

function decodeCursor(cursor: string | null): Position | null {
  if (!cursor) return null;
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString()) as unknown;
    if (Array.isArray(value) && (value[0] === "email" || value[0] === "id") && typeof value[1] === "string") return { kind: value[0], key: value[1] };
  } catch {
    // An unreadable cursor starts from the beginning, as the other searches' do.
  }
  return null;
}
