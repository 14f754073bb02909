// SQL of people: their rows, identifiers, devices, attribute changes, objects and relationships.
// Every query names the workspace or a person id (globally unique, found through the workspace):
// a person of another workspace is as unknown as one that does not exist. Events are in
// person-events.repository.ts.
import type { Updateable } from "kysely";
import type { Db } from "../store/store.js";
import { insertRows } from "../store/insert-rows.js";
import { isPostgres, runRaw, textFor } from "./raw-sql.js";
import type { PeopleTable, PersonAttributeChangesTable, PersonIdentifiersTable, PersonRow } from "./people.schema.js";

/** An identifier to insert: its key is identifierKey(kind, value). */
export type NewIdentifierRow = PersonIdentifiersTable;

export interface IdentifierRow {
  kind: string;
  key: string;
  value: string;
  person_id: string;
}

export interface DeviceRow {
  device_id: string;
  person_id: string;
  platform: string;
  attributes_json: string;
  last_used_at: number | null;
}

export interface ChangeRow {
  id: number;
  name: string;
  from_json: string | null;
  to_json: string | null;
  at: number;
}

/** The columns of a person's row ("workspace_id" among them), for the joined lookup. */
const PERSON_COLUMNS = ["person_id", "workspace_id", "attributes_json", "unsubscribed", "suppressed", "topics_json", "created_at", "updated_at"] as const;

/** Rows per multi-row INSERT of people, identifiers or attribute changes: at most 8 parameters each, far below SQLite's cap. */
const ROWS_CHUNK = 500;

export class PeopleRepository {
  /** The owners of these identifiers (kind, key), in one query. */
  async findIdentifiers(db: Db, workspaceId: string, wanted: Array<{ kind: string; key: string }>): Promise<IdentifierRow[]> {
    return (await this.ownersOf(db, workspaceId, wanted, false)) as IdentifierRow[];
  }

  /**
   * The owners of these identifiers with their people's rows, in one query: the lookup every
   * request starts with. On PostgreSQL the people are locked until the transaction ends, so two
   * processes changing one person's attributes cannot each overwrite the other's change.
   */
  async findPeopleByIdentifiers(db: Db, workspaceId: string, wanted: Array<{ kind: string; key: string }>): Promise<Array<IdentifierRow & PersonRow>> {
    return (await this.ownersOf(db, workspaceId, wanted, true)) as Array<IdentifierRow & PersonRow>;
  }

  private async ownersOf(db: Db, workspaceId: string, wanted: Array<{ kind: string; key: string }>, withPeople: boolean): Promise<unknown[]> {
    if (wanted.length === 0) return [];
    const byKind = new Map<string, string[]>();
    for (const w of wanted) {
      const keys = byKind.get(w.kind) ?? [];
      if (!keys.includes(w.key)) keys.push(w.key);
      byKind.set(w.kind, keys);
    }
    const kinds = [...byKind];
    const shape = `people.owners ${withPeople} ${kinds.map(([kind, keys]) => `${kind}:${keys.length}`).join(",")}`;
    const text = textFor(db, shape, (p) => {
      const columns = withPeople ? `i.kind, i.key, i.value, i.person_id, ${PERSON_COLUMNS.map((c) => `p.${c}`).join(", ")}` : "i.kind, i.key, i.value, i.person_id";
      const from = withPeople ? "person_identifiers i join people p on p.person_id = i.person_id" : "person_identifiers i";
      const workspace = p();
      const ors = kinds.map(([, keys]) => `(i.kind = ${p()} and i.key in (${keys.map(() => p()).join(", ")}))`).join(" or ");
      const lock = withPeople && isPostgres(db) ? " for update of p" : "";
      return `select ${columns} from ${from} where i.workspace_id = ${workspace} and (${ors})${lock}`;
    });
    return runRaw(db, text, [workspaceId, ...kinds.flatMap(([kind, keys]) => [kind, ...keys])]);
  }

  /** People by id; with `forUpdate`, locked until the transaction ends (PostgreSQL; SQLite has one writer). */
  async people(db: Db, workspaceId: string, personIds: string[], forUpdate = false): Promise<PersonRow[]> {
    if (personIds.length === 0) return [];
    const query = db.selectFrom("people").selectAll().where("workspace_id", "=", workspaceId).where("person_id", "in", personIds);
    return (forUpdate && isPostgres(db) ? query.forUpdate() : query).execute();
  }

  async identifiersOf(db: Db, personIds: string[]): Promise<IdentifierRow[]> {
    if (personIds.length === 0) return [];
    return db.selectFrom("person_identifiers").select(["kind", "key", "value", "person_id"]).where("person_id", "in", personIds).orderBy("created_at").execute();
  }

  async devicesOf(db: Db, personIds: string[]): Promise<DeviceRow[]> {
    if (personIds.length === 0) return [];
    return db.selectFrom("person_devices").select(["device_id", "person_id", "platform", "attributes_json", "last_used_at"]).where("person_id", "in", personIds).orderBy("device_id").execute();
  }

  async insertPerson(db: Db, row: PeopleTable): Promise<void> {
    await insertRows(db, "people", [row]);
  }

  async updatePerson(db: Db, personId: string, changes: Updateable<PeopleTable>): Promise<void> {
    await db.updateTable("people").set(changes).where("person_id", "=", personId).execute();
  }

  /** Deletes the person; identifiers, devices and relationships go with it (foreign keys). */
  async deletePerson(db: Db, personId: string): Promise<void> {
    await db.deleteFrom("person_attribute_changes").where("person_id", "=", personId).execute();
    await db.deleteFrom("people").where("person_id", "=", personId).execute();
  }

  /** Inserts many people, a multi-row INSERT a chunk (the people tracked events created). */
  async insertPeople(db: Db, rows: PeopleTable[]): Promise<void> {
    for (let i = 0; i < rows.length; i += ROWS_CHUNK) await insertRows(db, "people", rows.slice(i, i + ROWS_CHUNK));
  }

  async insertIdentifier(db: Db, row: NewIdentifierRow): Promise<void> {
    await insertRows(db, "person_identifiers", [row]);
  }

  async insertIdentifiers(db: Db, rows: NewIdentifierRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += ROWS_CHUNK) await insertRows(db, "person_identifiers", rows.slice(i, i + ROWS_CHUNK));
  }

  async deleteIdentifier(db: Db, workspaceId: string, kind: string, key: string): Promise<void> {
    await db.deleteFrom("person_identifiers").where("workspace_id", "=", workspaceId).where("kind", "=", kind).where("key", "=", key).execute();
  }

  async moveIdentifiers(db: Db, from: string, to: string, kinds: string[]): Promise<void> {
    if (kinds.length === 0) return;
    await db.updateTable("person_identifiers").set({ person_id: to }).where("person_id", "=", from).where("kind", "in", kinds).execute();
  }

  async deleteAnonymousIdentifiers(db: Db, personId: string): Promise<void> {
    await db.deleteFrom("person_identifiers").where("person_id", "=", personId).where("kind", "=", "anonymous_id").execute();
  }

  async insertChanges(db: Db, rows: Array<Omit<PersonAttributeChangesTable, "id">>): Promise<void> {
    for (let i = 0; i < rows.length; i += ROWS_CHUNK) await insertRows(db, "person_attribute_changes", rows.slice(i, i + ROWS_CHUNK));
  }

  async moveChanges(db: Db, from: string, to: string): Promise<void> {
    await db.updateTable("person_attribute_changes").set({ person_id: to }).where("person_id", "=", from).execute();
  }

  async deleteChanges(db: Db, personId: string): Promise<void> {
    await db.deleteFrom("person_attribute_changes").where("person_id", "=", personId).execute();
  }

  /** A person's attribute changes, newest first, before (at, id) when given. */
  async changes(db: Db, personId: string, before: { at: number; id: number } | null, limit: number): Promise<ChangeRow[]> {
    let query = db.selectFrom("person_attribute_changes").select(["id", "name", "from_json", "to_json", "at"]).where("person_id", "=", personId);
    if (before) query = query.where((eb) => eb.or([eb("at", "<", before.at), eb.and([eb("at", "=", before.at), eb("id", "<", before.id)])]));
    return query.orderBy("at", "desc").orderBy("id", "desc").limit(limit).execute();
  }

  async findDevice(db: Db, workspaceId: string, deviceId: string): Promise<DeviceRow | null> {
    return (
      (await db
        .selectFrom("person_devices")
        .select(["device_id", "person_id", "platform", "attributes_json", "last_used_at"])
        .where("workspace_id", "=", workspaceId)
        .where("device_id", "=", deviceId)
        .executeTakeFirst()) ?? null
    );
  }

  /** Adds the device to the person, or updates it; a token held by another person moves to this one. */
  async upsertDevice(db: Db, row: { workspace_id: string; device_id: string; person_id: string; platform: string; attributes_json: string; last_used_at: number | null; updated_at: number }): Promise<void> {
    await db
      .insertInto("person_devices")
      .values(row)
      .onConflict((oc) =>
        oc.columns(["workspace_id", "device_id"]).doUpdateSet({ person_id: row.person_id, platform: row.platform, attributes_json: row.attributes_json, last_used_at: row.last_used_at, updated_at: row.updated_at }),
      )
      .execute();
  }

  async deleteDevice(db: Db, workspaceId: string, deviceId: string): Promise<void> {
    await db.deleteFrom("person_devices").where("workspace_id", "=", workspaceId).where("device_id", "=", deviceId).execute();
  }

  async deleteDevicesOf(db: Db, personId: string): Promise<void> {
    await db.deleteFrom("person_devices").where("person_id", "=", personId).execute();
  }

  async moveDevices(db: Db, from: string, to: string): Promise<void> {
    await db.updateTable("person_devices").set({ person_id: to }).where("person_id", "=", from).execute();
  }

  async findObject(db: Db, workspaceId: string, typeId: string, objectId: string): Promise<{ attributes_json: string } | null> {
    return (await db.selectFrom("objects").select("attributes_json").where("workspace_id", "=", workspaceId).where("type_id", "=", typeId).where("object_id", "=", objectId).executeTakeFirst()) ?? null;
  }

  async upsertObject(db: Db, row: { workspace_id: string; type_id: string; object_id: string; attributes_json: string; created_at: number; updated_at: number }): Promise<void> {
    await db
      .insertInto("objects")
      .values(row)
      .onConflict((oc) => oc.columns(["workspace_id", "type_id", "object_id"]).doUpdateSet({ attributes_json: row.attributes_json, updated_at: row.updated_at }))
      .execute();
  }

  /** Deletes the object and every relationship to it. */
  async deleteObject(db: Db, workspaceId: string, typeId: string, objectId: string): Promise<void> {
    await db.deleteFrom("relationships").where("workspace_id", "=", workspaceId).where("type_id", "=", typeId).where("object_id", "=", objectId).execute();
    await db.deleteFrom("objects").where("workspace_id", "=", workspaceId).where("type_id", "=", typeId).where("object_id", "=", objectId).execute();
  }

  async relate(db: Db, row: { workspace_id: string; person_id: string; type_id: string; object_id: string; attributes_json: string; created_at: number }): Promise<void> {
    await db
      .insertInto("relationships")
      .values(row)
      .onConflict((oc) => oc.columns(["person_id", "type_id", "object_id"]).doUpdateSet({ attributes_json: row.attributes_json }))
      .execute();
  }

  async unrelate(db: Db, personId: string, typeId: string, objectId: string): Promise<void> {
    await db.deleteFrom("relationships").where("person_id", "=", personId).where("type_id", "=", typeId).where("object_id", "=", objectId).execute();
  }

  async relationshipsOf(db: Db, personId: string): Promise<Array<{ type_id: string; object_id: string; attributes_json: string }>> {
    return db.selectFrom("relationships").select(["type_id", "object_id", "attributes_json"]).where("person_id", "=", personId).orderBy("type_id").orderBy("object_id").execute();
  }

  /** The secondary's relationships move to the primary; where both have one to the same object, the primary's stays. */
  async moveRelationships(db: Db, from: string, to: string): Promise<void> {
    const mine = await this.relationshipsOf(db, to);
    const held = new Set(mine.map((r) => `${r.type_id}\u0000${r.object_id}`));
    for (const r of await this.relationshipsOf(db, from)) {
      if (held.has(`${r.type_id}\u0000${r.object_id}`)) continue;
      await db.updateTable("relationships").set({ person_id: to }).where("person_id", "=", from).where("type_id", "=", r.type_id).where("object_id", "=", r.object_id).execute();
    }
    await db.deleteFrom("relationships").where("person_id", "=", from).execute();
  }

  async deleteRelationshipsOf(db: Db, personId: string): Promise<void> {
    await db.deleteFrom("relationships").where("person_id", "=", personId).execute();
  }

  /**
   * Identifiers of one kind whose key starts with `prefix`, in key order, after `after` (or from
   * it, when `inclusive`): a range on the primary key (workspace_id, kind, key), so the read starts
   * and stops in the index whatever the workspace's size. The upper bound is the prefix followed by
   * the highest code point, which sorts after every key that starts with the prefix in byte order
   * (SQLite's, and PostgreSQL's under the C or C.UTF-8 collation); the caller checks startsWith.
   */
  async identifiersWithPrefix(db: Db, workspaceId: string, kind: string, prefix: string, after: { key: string; inclusive: boolean } | null, limit: number): Promise<Array<{ key: string; person_id: string }>> {
    let query = db.selectFrom("person_identifiers").select(["key", "person_id"]).where("workspace_id", "=", workspaceId).where("kind", "=", kind).where("key", "<", prefix + "\u{10FFFF}");
    query = after === null || after.key < prefix ? query.where("key", ">=", prefix) : query.where("key", after.inclusive ? ">=" : ">", after.key);
    return query.orderBy("key").limit(limit).execute();
  }

  /** People of the workspace after `afterPersonId` in id order: a bounded scan for search. */
  async scan(db: Db, workspaceId: string, afterPersonId: string | null, limit: number): Promise<PersonRow[]> {
    let query = db.selectFrom("people").selectAll().where("workspace_id", "=", workspaceId);
    if (afterPersonId !== null) query = query.where("person_id", ">", afterPersonId);
    return query.orderBy("person_id").limit(limit).execute();
  }
}
