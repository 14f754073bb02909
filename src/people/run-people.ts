// Who a run's operations name (people.apply.ts): the owner of each identifier and each person's
// row, looked up once for the whole run (from the SQLite lookup cache first, the rest in two
// queries) and kept as the run's own writes change them, so that later operations of the run see
// those changes without reading them back.
import type { Db } from "../store/store.js";
import type { PersonIdentifier, PersonOperation } from "./people.port.js";
import type { PeopleRepository } from "./people.repository.js";
import type { LookupRow, PersonLookupCache } from "./person-lookup-cache.js";
import { SINGLE_KINDS, identifierKey, namedBy, toLoaded, type LoadedPerson } from "./person-state.js";

export class RunPeople {
  /** (kind, key) → person id, or null when known to be nobody's. */
  private readonly owners = new Map<string, string | null>();
  /** person id → the person as the run knows them, or null when known not to exist. */
  private readonly loaded = new Map<string, LoadedPerson | null>();

  constructor(
    private readonly deps: { people: PeopleRepository; lookupCache?: PersonLookupCache },
    private readonly trx: Db,
    private readonly workspaceId: string,
  ) {}

  /** Looks up every person the operations name: from the lookup cache, and the rest in two queries. */
  async preload(operations: PersonOperation[]): Promise<void> {
    const wanted: Array<{ kind: string; key: string }> = [];
    const cioIds: string[] = [];
    for (const op of operations) {
      for (const who of namedBy(op)) {
        if (who.kind === "cio_id") cioIds.push(who.value);
        else wanted.push({ kind: who.kind, key: identifierKey(who.kind, who.value) });
      }
    }
    const cache = this.deps.lookupCache;
    cache?.check();
    const missing: Array<{ kind: string; key: string }> = [];
    for (const w of wanted) {
      const k = `${w.kind}\u0000${w.key}`;
      if (this.owners.has(k)) continue;
      const row = cache?.get(this.workspaceId, w.kind, w.key);
      if (row) this.found(row);
      else {
        this.owners.set(k, null);
        missing.push(w);
      }
    }
    const rows = await this.deps.people.findPeopleByIdentifiers(this.trx, this.workspaceId, missing);
    for (const row of rows) this.found(row);
    cache?.remember(this.workspaceId, rows);
    const unknown = cioIds.filter((id) => !this.loaded.has(id));
    for (const id of unknown) this.loaded.set(id, null);
    for (const row of await this.deps.people.people(this.trx, this.workspaceId, unknown, true)) this.loaded.set(row.person_id, toLoaded(row));
  }

  private found(row: LookupRow): void {
    this.owners.set(`${row.kind}\u0000${row.key}`, row.person_id);
    if (!this.loaded.has(row.person_id)) this.loaded.set(row.person_id, toLoaded(row));
  }

  /** The person the identifier names, or null: known to the run, else looked up (and kept). */
  async owner(who: PersonIdentifier): Promise<string | null> {
    if (who.kind === "cio_id") return (await this.person(who.value)) ? who.value : null;
    const k = `${who.kind}\u0000${identifierKey(who.kind, who.value)}`;
    if (this.owners.has(k)) return this.owners.get(k)!;
    const [row] = await this.deps.people.findIdentifiers(this.trx, this.workspaceId, [{ kind: who.kind, key: identifierKey(who.kind, who.value) }]);
    this.owners.set(k, row?.person_id ?? null);
    return row?.person_id ?? null;
  }

  /** The person by id, or null: known to the run, else read (and kept). */
  async person(personId: string): Promise<LoadedPerson | null> {
    if (this.loaded.has(personId)) return this.loaded.get(personId)!;
    const [row] = await this.deps.people.people(this.trx, this.workspaceId, [personId], true);
    const person = row ? toLoaded(row) : null;
    this.loaded.set(personId, person);
    return person;
  }

  /** Their id, email and phone, read once. */
  async namedOf(person: LoadedPerson): Promise<Map<string, string>> {
    if (person.named === null) {
      person.named = new Map();
      for (const row of await this.deps.people.identifiersOf(this.trx, [person.personId])) if (SINGLE_KINDS.has(row.kind)) person.named.set(row.kind, row.value);
    }
    return person.named;
  }

  /** The run changed who owns an identifier (null: nobody now). */
  setOwner(kind: string, key: string, personId: string | null): void {
    this.owners.set(`${kind}\u0000${key}`, personId);
  }

  /** The run created, changed or removed (null) a person. */
  setPerson(personId: string, person: LoadedPerson | null): void {
    this.loaded.set(personId, person);
  }
}
