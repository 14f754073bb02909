// One run: the operations of one apply() call, or of the calls of one turn that share a run
// (people.service.ts), in order inside one transaction (a savepoint of the shared group commit).
// People are looked up once for the whole run (one query for every identifier it names) and kept
// while it runs (run-people.ts), and written back per operation; tracked events wait in a list and are
// written together (one multi-row INSERT, and their outbox events one shared row of the log) when
// the run ends or an operation that could move them comes next.
//
// Each handler resolves and checks everything before it writes anything, so an operation that is
// refused leaves no trace even when the others of its request are applied.
import type { Db } from "../store/store.js";
import type { EventEmitter } from "../events/outbox.js";
import type { AttributeChange, NewEvent } from "../events/event-map.js";
import { newMessageId } from "../shared/ids.js";
import type { EventInput, PersonIdentifier, PersonOperation } from "./people.port.js";
import type { NewIdentifierRow, PeopleRepository } from "./people.repository.js";
import type { PeopleTable } from "./people.schema.js";
import type { NewPersonEventRow, PersonEventsRepository } from "./person-events.repository.js";
import { ATTRIBUTES_MAX_COUNT, eventDataJson } from "./people.limits.js";
import { PEOPLE_ATTRIBUTES_LIMIT, PEOPLE_IDENTIFIER_CONFLICT, PEOPLE_IDENTIFIER_INVALID, PEOPLE_NOT_FOUND } from "./people.errors.js";
import { applyObjectOperation } from "./people.objects.js";
import type { PersonLookupCache } from "./person-lookup-cache.js";
import type { RecentEventKeys } from "./recent-event-keys.js";
import { RunPeople } from "./run-people.js";
import { SINGLE_KINDS, identifierKey, jsonOrNull, mergeAttributes, type LoadedPerson } from "./person-state.js";

export interface ApplyDeps {
  people: PeopleRepository;
  events: PersonEventsRepository;
  outbox: EventEmitter;
  /** How long a de-duplication key keeps an event with the same key out (ms). */
  dedupeWindowMs: number;
  /** SQLite: who the identifiers name, kept in memory (person-lookup-cache.ts); absent on PostgreSQL. */
  lookupCache?: PersonLookupCache;
  /** SQLite: tracked events' keys not yet merged (recent-event-keys.ts); absent on PostgreSQL. */
  recentKeys?: RecentEventKeys;
}


interface PendingEvent {
  row: Omit<NewPersonEventRow, "id">;
  /** The data as given, for the outbox event (not parsed back from row.data_json). */
  data: Record<string, unknown>;
  /** The trace of the call that tracked it; null when untraced. */
  traceparent: string | null;
}


export class ApplyRun {
  /** Who the run's operations name, looked up once and kept as the run changes them. */
  private readonly people: RunPeople;
  private pending: PendingEvent[] = [];
  /**
   * People created by tracked events, and their identifiers, not yet written: they are inserted
   * with the events, one multi-row INSERT each, instead of two one-row statements per new person
   * (on PostgreSQL, two round trips per event when events name people not seen before). Only a
   * track defers: every other operation writes what is waiting before it runs (run()).
   */
  private newPeople: PeopleTable[] = [];
  private newIdentifiers: NewIdentifierRow[] = [];
  private readonly emitted: NewEvent[] = [];
  private traceparent: string | null = null;

  constructor(
    private readonly deps: ApplyDeps,
    private readonly trx: Db,
    private readonly workspaceId: string,
    private readonly now: number,
  ) {
    this.people = new RunPeople(deps, trx, workspaceId);
  }

  /** Looks up every person the operations name: from the lookup cache, and the rest in two queries. */
  preload(operations: PersonOperation[]): Promise<void> {
    return this.people.preload(operations);
  }

  /**
   * Runs one operation; a refusal is a coded error thrown before anything was written.
   * `traceparent` is the trace of the call it came in (a run may hold several calls' operations),
   * carried by the person.event it tracks; null when untraced.
   */
  async run(op: PersonOperation, traceparent: string | null = null): Promise<string | null> {
    this.traceparent = traceparent;
    if (op.op !== "track") await this.flushEvents();
    switch (op.op) {
      case "identify":
        return this.identify(op);
      case "track":
        return this.track(op.who, op.event);
      case "delete":
        return this.remove(op.who);
      case "suppress":
      case "unsuppress":
        return this.setSuppressed(op.who, op.op === "suppress");
      case "add_device":
        return this.addDevice(op.who, op.device);
      case "delete_device":
        return this.deleteDevice(op.who, op.deviceId);
      case "merge":
        return this.mergeOp(op.primary, op.secondary);
      case "identify_object":
      case "delete_object":
      case "relate":
      case "unrelate":
        return applyObjectOperation(op, {
          trx: this.trx,
          workspaceId: this.workspaceId,
          now: this.now,
          people: this.deps.people,
          personFor: (who) => this.personForWrite(who),
        });
    }
  }

  /** Writes the events still waiting and every outbox event of the request. */
  async finish(): Promise<void> {
    await this.flushEvents();
    if (this.emitted.length > 0) await this.deps.outbox.emit(this.trx, this.emitted.splice(0));
  }

  // ---- looking people up ----

  /**
   * The person an operation other than identify writes to: found, or created when named by an id,
   * email or phone (as Customer.io creates a person on an event for an unknown id). A cio_id we
   * never gave is refused; an anonymous id names a person only once identified.
   */
  private async personForWrite(who: PersonIdentifier, deferred = false): Promise<LoadedPerson> {
    const found = await this.people.owner(who);
    if (found) return (await this.people.person(found))!;
    if (who.kind === "cio_id" || who.kind === "anonymous_id") throw PEOPLE_NOT_FOUND(`No person has the ${who.kind} '${who.value}'.`, { field: who.kind });
    const changes: Record<string, AttributeChange> = {};
    const person = deferred ? this.createDeferred(who, changes) : await this.create(who, changes);
    this.identified(person.personId, true, changes);
    return person;
  }

  /** Inserts a new person named by `who` (an id, email or phone; anonymous ids are adopted by the caller). */
  private async create(who: PersonIdentifier, changes: Record<string, AttributeChange>): Promise<LoadedPerson> {
    const person = this.newPerson();
    await this.deps.people.insertPerson(this.trx, this.personRow(person));
    if (SINGLE_KINDS.has(who.kind)) await this.attach(person, who, changes);
    return person;
  }

  /**
   * create() for a tracked event: the person and their identifier wait with the events (newPeople).
   * A new person has no other identifier, so attach() has nothing to replace or read.
   */
  private createDeferred(who: PersonIdentifier, changes: Record<string, AttributeChange>): LoadedPerson {
    const person = this.newPerson();
    this.newPeople.push(this.personRow(person));
    const key = identifierKey(who.kind, who.value);
    person.named!.set(who.kind, who.value);
    changes[who.kind] = { from: null, to: who.value };
    this.newIdentifiers.push({ workspace_id: this.workspaceId, kind: who.kind, key, value: who.value, person_id: person.personId, created_at: this.now });
    this.people.setOwner(who.kind, key, person.personId);
    return person;
  }

  private newPerson(): LoadedPerson {
    const person: LoadedPerson = { personId: newMessageId(this.now), attributes: {}, topics: {}, unsubscribed: false, suppressed: false, createdAt: this.now, named: new Map() };
    this.people.setPerson(person.personId, person);
    return person;
  }

  private personRow(person: LoadedPerson): PeopleTable {
    return { person_id: person.personId, workspace_id: this.workspaceId, attributes_json: "{}", unsubscribed: 0, suppressed: 0, topics_json: "{}", created_at: this.now, updated_at: this.now };
  }

  /** Gives the person this identifier (replacing their id, email or phone), recording the change. */
  private async attach(person: LoadedPerson, who: PersonIdentifier, changes: Record<string, AttributeChange>): Promise<void> {
    const key = identifierKey(who.kind, who.value);
    if (SINGLE_KINDS.has(who.kind)) {
      const named = await this.people.namedOf(person);
      const old = named.get(who.kind);
      // The same address in other letter case is the same identifier: nothing changes.
      if (old !== undefined && identifierKey(who.kind, old) === key) return;
      if (old !== undefined) {
        await this.deps.people.deleteIdentifier(this.trx, this.workspaceId, who.kind, identifierKey(who.kind, old));
        this.people.setOwner(who.kind, identifierKey(who.kind, old), null);
      }
      named.set(who.kind, who.value);
      changes[who.kind] = { from: old ?? null, to: who.value };
      // The same key with another case (an email) is the person's already: its row is replaced above.
    }
    await this.deps.people.insertIdentifier(this.trx, { workspace_id: this.workspaceId, kind: who.kind, key, value: who.value, person_id: person.personId, created_at: this.now });
    this.people.setOwner(who.kind, key, person.personId);
  }

  // ---- identify ----

  private async identify(op: Extract<PersonOperation, { op: "identify" }>): Promise<string | null> {
    const attributes = { ...(op.attributes ?? {}) };
    const others = [...(op.alsoKnownAs ?? [])];
    // An email given as an attribute is the person's email identifier, not an attribute.
    if (typeof attributes.email === "string" && attributes.email.length > 0 && op.who.kind !== "email" && !others.some((o) => o.kind === "email")) {
      if (!attributes.email.includes("@")) throw PEOPLE_IDENTIFIER_INVALID(`The email '${attributes.email}' is not an e-mail address.`, { field: "email" });
      others.push({ kind: "email", value: attributes.email });
    }
    delete attributes.email;
    const named = [op.who, ...others].filter((w) => w.kind !== "anonymous_id" && w.kind !== "cio_id");
    const anonymous = [op.who, ...others].filter((w) => w.kind === "anonymous_id");

    let personId = await this.people.owner(op.who);
    if (personId === null && op.who.kind === "cio_id") throw PEOPLE_NOT_FOUND(`No person has the cio_id '${op.who.value}'.`, { field: "cio_id" });
    let foundByAlias = false;
    for (const other of others) {
      if (personId !== null || other.kind === "anonymous_id") continue;
      personId = await this.people.owner(other);
      foundByAlias = personId !== null;
    }
    if (personId === null && op.updateOnly) return null;
    const existing = personId === null ? null : await this.people.person(personId);
    // A suppressed person is not re-created or changed: Customer.io drops such calls silently.
    if (existing?.suppressed) return existing.personId;
    // Found by the email given with an id: the id may be added, not put in place of another.
    if (existing && foundByAlias && SINGLE_KINDS.has(op.who.kind)) {
      const held = (await this.people.namedOf(existing)).get(op.who.kind);
      if (held !== undefined && held !== op.who.value) throw PEOPLE_IDENTIFIER_CONFLICT(`The person with that ${others.find((o) => o.kind !== "anonymous_id")?.kind ?? "identifier"} has another ${op.who.kind}.`, { field: op.who.kind });
    }

    for (const who of named) {
      const owner = await this.people.owner(who);
      if (owner !== null && owner !== personId) throw PEOPLE_IDENTIFIER_CONFLICT(`The ${who.kind} '${who.value}' belongs to another person.`, { field: who.kind });
    }
    const next = existing ? mergeAttributes(existing.attributes, attributes) : mergeAttributes({}, attributes);
    if (Object.keys(next.attributes).length > ATTRIBUTES_MAX_COUNT) throw PEOPLE_ATTRIBUTES_LIMIT(`The person would have ${Object.keys(next.attributes).length} attributes; at most ${ATTRIBUTES_MAX_COUNT} are kept.`, { field: "attributes" });

    const changes: Record<string, AttributeChange> = {};
    const person = existing ?? (await this.create(named[0] ?? op.who, changes));
    for (const who of named) await this.attach(person, who, changes);
    Object.assign(changes, next.changes);
    person.attributes = next.attributes;
    if (op.unsubscribed !== undefined && op.unsubscribed !== person.unsubscribed) {
      changes.unsubscribed = { from: person.unsubscribed, to: op.unsubscribed };
      person.unsubscribed = op.unsubscribed;
    }
    for (const [topic, subscribed] of Object.entries(op.topics ?? {})) {
      if (person.topics[topic] === subscribed) continue;
      changes[`cio_subscription_preferences.topics.${topic}`] = { from: person.topics[topic] ?? null, to: subscribed };
      person.topics[topic] = subscribed;
    }
    if (op.createdAt !== undefined && op.createdAt !== null && op.createdAt !== person.createdAt) {
      changes.created_at = { from: person.createdAt, to: op.createdAt };
      person.createdAt = op.createdAt;
    }
    for (const who of anonymous) await this.adoptAnonymous(person, who.value, changes);
    await this.save(person, changes, existing === null);
    return person.personId;
  }

  /**
   * An anonymous id identified: nobody's yet, it becomes the person's with the events that waited
   * for it (person.merged); the person's own already, nothing; held by an anonymous-only profile
   * (one made by an identify with only an anonymous id), that profile is merged in; held by a
   * known person, it stays theirs: one anonymous id cannot be two people's history.
   */
  private async adoptAnonymous(person: LoadedPerson, anonymousId: string, changes: Record<string, AttributeChange>): Promise<void> {
    const owner = await this.people.owner({ kind: "anonymous_id", value: anonymousId });
    if (owner === person.personId) return;
    if (owner === null) {
      await this.attach(person, { kind: "anonymous_id", value: anonymousId }, changes);
      await this.deps.events.attachAnonymous(this.trx, this.workspaceId, anonymousId, person.personId);
      this.emit({ type: "person.merged", workspaceId: this.workspaceId, messageId: null, recipient: null, data: { personId: person.personId, mergedId: null, anonymousId } });
      return;
    }
    const holder = await this.people.person(owner);
    if (holder && (await this.people.namedOf(holder)).size === 0) await this.merge(person, holder, changes);
  }

  /** Writes the person's row and changes and emits person.identified, when anything changed. */
  private async save(person: LoadedPerson, changes: Record<string, AttributeChange>, created: boolean): Promise<void> {
    const names = Object.keys(changes);
    if (names.length === 0) {
      if (created) this.identified(person.personId, true, changes);
      return;
    }
    await this.deps.people.updatePerson(this.trx, person.personId, {
      attributes_json: JSON.stringify(person.attributes),
      topics_json: JSON.stringify(person.topics),
      unsubscribed: person.unsubscribed ? 1 : 0,
      created_at: person.createdAt,
      updated_at: this.now,
    });
    await this.deps.people.insertChanges(
      this.trx,
      names.map((name) => ({
        workspace_id: this.workspaceId,
        person_id: person.personId,
        name,
        from_json: jsonOrNull(changes[name]!.from),
        to_json: jsonOrNull(changes[name]!.to),
        at: this.now,
      })),
    );
    this.identified(person.personId, created, changes);
  }

  private identified(personId: string, created: boolean, changes: Record<string, AttributeChange>): void {
    this.emit({ type: "person.identified", workspaceId: this.workspaceId, messageId: null, recipient: null, data: { personId, created, changes: { ...changes } } });
  }

  private emit(event: NewEvent): void {
    this.emitted.push(event);
  }

  // ---- events ----

  private async track(who: PersonIdentifier, event: EventInput): Promise<string | null> {
    let personId: string | null = null;
    let anonymousId: string | null = null;
    if (who.kind === "anonymous_id") {
      anonymousId = who.value;
      personId = await this.people.owner(who);
    } else {
      personId = (await this.personForWrite(who, true)).personId;
    }
    const person = personId === null ? null : await this.people.person(personId);
    // A suppressed person's events are not kept.
    if (person?.suppressed) return person.personId;
    this.pending.push({
      data: event.data ?? {},
      traceparent: this.traceparent,
      row: {
        workspace_id: this.workspaceId,
        person_id: personId,
        anonymous_id: anonymousId,
        name: event.name,
        type: event.type,
        dedupe_key: event.dedupeKey ?? null,
        data_json: event.data ? eventDataJson(event) : "{}",
        timestamp: event.timestamp ?? this.now,
        received_at: this.now,
      },
    });
    return personId;
  }

  /** Writes the waiting events: repeats of a key within the window are dropped, the rest appended with their person.event. */
  private async flushEvents(): Promise<void> {
    if (this.newPeople.length > 0) {
      await this.deps.people.insertPeople(this.trx, this.newPeople.splice(0));
      await this.deps.people.insertIdentifiers(this.trx, this.newIdentifiers.splice(0));
    }
    if (this.pending.length === 0) return;
    const pending = this.pending;
    this.pending = [];
    const keys = [...new Set(pending.map((p) => p.row.dedupe_key).filter((k): k is string => k !== null))];
    const { recentKeys } = this.deps;
    const fresh = keys.length > 0 ? await this.deps.events.claimKeys(this.trx, this.workspaceId, keys, this.now, this.now - this.deps.dedupeWindowMs, recentKeys) : new Set<string>();
    const kept = pending.filter((p) => p.row.dedupe_key === null || fresh.delete(p.row.dedupe_key));
    if (kept.length === 0) return;
    const ids = await this.deps.events.reserveIds(this.trx, kept.length);
    const rows = kept.map((p, i) => ({ id: ids[i]!, ...p.row }));
    await this.deps.events.insert(this.trx, rows);
    // SQLite: the rows now hold their keys; the copy learns them (a rollback is caught where a hit is confirmed).
    if (recentKeys && keys.length > 0) for (const row of rows) if (row.dedupe_key !== null) recentKeys.add(this.workspaceId, row.dedupe_key, row.id);
    for (const [i, row] of rows.entries()) {
      this.emit({
        type: "person.event",
        workspaceId: this.workspaceId,
        messageId: null,
        recipient: null,
        data: {
          personId: row.person_id,
          anonymousId: row.anonymous_id,
          name: row.name,
          eventType: row.type as EventInput["type"],
          properties: kept[i]!.data,
          timestamp: row.timestamp,
          eventRowId: row.id,
          ...(kept[i]!.traceparent ? { traceparent: kept[i]!.traceparent } : {}),
        },
      });
    }
  }

  // ---- delete, suppress, devices, merge ----

  private async remove(who: PersonIdentifier): Promise<string | null> {
    const personId = await this.people.owner(who);
    if (personId === null) return null;
    await this.destroy(personId);
    return personId;
  }

  private async destroy(personId: string): Promise<void> {
    const named = await this.deps.people.identifiersOf(this.trx, [personId]);
    await this.deps.events.deleteEventsOf(this.trx, personId);
    await this.deps.people.deletePerson(this.trx, personId);
    for (const row of named) this.people.setOwner(row.kind, row.key, null);
    this.people.setPerson(personId, null);
    this.emit({ type: "person.deleted", workspaceId: this.workspaceId, messageId: null, recipient: null, data: { personId } });
  }

  /**
   * Suppressing forgets the person's data (attributes, events, devices, relationships, changes)
   * but keeps the person and their identifiers, so later calls naming them are dropped; an
   * unknown id or email is suppressed all the same (a person with nothing but that identifier).
   */
  private async setSuppressed(who: PersonIdentifier, suppressed: boolean): Promise<string | null> {
    const found = await this.people.owner(who);
    if (found === null && !suppressed) return null;
    const person = found === null ? await this.personForWrite(who) : (await this.people.person(found))!;
    if (person.suppressed === suppressed) return person.personId;
    if (suppressed) {
      await this.deps.events.deleteEventsOf(this.trx, person.personId);
      await this.deps.people.deleteDevicesOf(this.trx, person.personId);
      await this.deps.people.deleteRelationshipsOf(this.trx, person.personId);
      await this.deps.people.deleteChanges(this.trx, person.personId);
      person.attributes = {};
      person.topics = {};
    }
    person.suppressed = suppressed;
    await this.deps.people.updatePerson(this.trx, person.personId, { suppressed: suppressed ? 1 : 0, attributes_json: JSON.stringify(person.attributes), topics_json: JSON.stringify(person.topics), updated_at: this.now });
    this.emit({ type: "person.suppressed", workspaceId: this.workspaceId, messageId: null, recipient: null, data: { personId: person.personId, suppressed } });
    return person.personId;
  }

  private async addDevice(who: PersonIdentifier, device: Extract<PersonOperation, { op: "add_device" }>["device"]): Promise<string | null> {
    const person = await this.personForWrite(who);
    if (person.suppressed) return person.personId;
    await this.deps.people.upsertDevice(this.trx, {
      workspace_id: this.workspaceId,
      device_id: device.deviceId,
      person_id: person.personId,
      platform: device.platform,
      attributes_json: JSON.stringify(device.attributes ?? {}),
      last_used_at: device.lastUsedAt ?? null,
      updated_at: this.now,
    });
    this.emit({ type: "person.device-changed", workspaceId: this.workspaceId, messageId: null, recipient: null, data: { personId: person.personId, deviceId: device.deviceId, platform: device.platform, removed: false } });
    return person.personId;
  }

  private async deleteDevice(who: PersonIdentifier, deviceId: string): Promise<string | null> {
    const personId = await this.people.owner(who);
    if (personId === null) return null;
    const device = await this.deps.people.findDevice(this.trx, this.workspaceId, deviceId);
    if (!device || device.person_id !== personId) return personId;
    await this.deps.people.deleteDevice(this.trx, this.workspaceId, deviceId);
    this.emit({ type: "person.device-changed", workspaceId: this.workspaceId, messageId: null, recipient: null, data: { personId, deviceId, platform: device.platform, removed: true } });
    return personId;
  }

  private async mergeOp(primaryWho: PersonIdentifier, secondaryWho: PersonIdentifier): Promise<string | null> {
    const primaryId = await this.people.owner(primaryWho);
    if (primaryId === null) throw PEOPLE_NOT_FOUND(`No person has the ${primaryWho.kind} '${primaryWho.value}'.`, { field: "primary" });
    const secondaryId = await this.people.owner(secondaryWho);
    if (secondaryId === null || secondaryId === primaryId) return primaryId;
    const primary = (await this.people.person(primaryId))!;
    const secondary = (await this.people.person(secondaryId))!;
    const changes: Record<string, AttributeChange> = {};
    await this.merge(primary, secondary, changes);
    await this.save(primary, changes, false);
    return primaryId;
  }

  /**
   * Merges `secondary` into `primary` as Customer.io does: the secondary's identifiers (those of a
   * kind the primary lacks), events, devices and relationships, and the attributes the primary
   * does not have (up to the attribute limit), go to the primary; the secondary is deleted. The
   * caller saves the primary with `changes`.
   */
  private async merge(primary: LoadedPerson, secondary: LoadedPerson, changes: Record<string, AttributeChange>): Promise<void> {
    const mine = await this.people.namedOf(primary);
    const theirs = await this.people.namedOf(secondary);
    const moving = ["anonymous_id", ...[...theirs.keys()].filter((kind) => !mine.has(kind))];
    for (const kind of moving) {
      const value = theirs.get(kind);
      if (value !== undefined) {
        mine.set(kind, value);
        changes[kind] = { from: null, to: value };
      }
    }
    const all = await this.deps.people.identifiersOf(this.trx, [secondary.personId]);
    await this.deps.people.moveIdentifiers(this.trx, secondary.personId, primary.personId, moving);
    for (const row of all) this.people.setOwner(row.kind, row.key, moving.includes(row.kind) ? primary.personId : null);
    await this.deps.events.moveEvents(this.trx, secondary.personId, primary.personId);
    await this.deps.people.moveDevices(this.trx, secondary.personId, primary.personId);
    await this.deps.people.moveRelationships(this.trx, secondary.personId, primary.personId);
    await this.deps.people.moveChanges(this.trx, secondary.personId, primary.personId);
    for (const [name, value] of Object.entries(secondary.attributes)) {
      if (name in primary.attributes || Object.keys(primary.attributes).length >= ATTRIBUTES_MAX_COUNT) continue;
      primary.attributes[name] = value;
      changes[name] = { from: null, to: value };
    }
    for (const [topic, subscribed] of Object.entries(secondary.topics)) if (!(topic in primary.topics)) primary.topics[topic] = subscribed;
    await this.deps.people.deletePerson(this.trx, secondary.personId);
    this.people.setPerson(secondary.personId, null);
    this.emit({ type: "person.merged", workspaceId: this.workspaceId, messageId: null, recipient: null, data: { personId: primary.personId, mergedId: secondary.personId, anonymousId: null } });
    this.emit({ type: "person.deleted", workspaceId: this.workspaceId, messageId: null, recipient: null, data: { personId: secondary.personId } });
  }
}

