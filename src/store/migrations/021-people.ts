// People, their identifiers, devices and attribute changes, their events, and objects with
// relationships (src/people/). Identifiers live in their own table keyed (workspace, kind, key), so
// "unique per workspace" is the primary key and every door's lookup is one index probe.
//
// Events are append-only. On PostgreSQL person_events is partitioned by range of `timestamp`
// (the time the event happened, as sent), one partition per week, created ahead by the people
// maintenance (src/people/people.maintenance.ts), which also drops whole partitions past the
// retention; a DEFAULT partition takes what falls outside them (very late or far-future events).
// A unique index on a partitioned table must include the partition key, so de-duplication keys
// live in their own table (person_event_dedupe) rather than as a unique index on the events.
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function people(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema
        .createTable("people")
        .addColumn("person_id", "text", (c) => c.primaryKey())
        .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
        .addColumn("attributes_json", "text", (c) => c.notNull())
        .addColumn("unsubscribed", "integer", (c) => c.notNull())
        .addColumn("suppressed", "integer", (c) => c.notNull())
        .addColumn("topics_json", "text", (c) => c.notNull())
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("people_workspace").on("people").columns(["workspace_id", "person_id"]).execute();

      await db.schema
        .createTable("person_identifiers")
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("value", "text", (c) => c.notNull())
        .addColumn("person_id", "text", (c) => c.notNull().references("people.person_id").onDelete("cascade"))
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("person_identifiers_pk", ["workspace_id", "kind", "key"])
        // SQLite: the key is the table, so a lookup is one B-tree search, not an index and then the row.
        .$call((b) => (dialect === "sqlite" ? b.modifyEnd(sql`without rowid`) : b))
        .execute();
      await db.schema.createIndex("person_identifiers_person").on("person_identifiers").column("person_id").execute();

      await db.schema
        .createTable("person_devices")
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("device_id", "text", (c) => c.notNull())
        .addColumn("person_id", "text", (c) => c.notNull().references("people.person_id").onDelete("cascade"))
        .addColumn("platform", "text", (c) => c.notNull())
        .addColumn("attributes_json", "text", (c) => c.notNull())
        .addColumn("last_used_at", t.bigint)
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("person_devices_pk", ["workspace_id", "device_id"])
        .execute();
      await db.schema.createIndex("person_devices_person").on("person_devices").column("person_id").execute();

      await db.schema
        .createTable("person_attribute_changes")
        .addColumn("id", t.autoId, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("person_id", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("from_json", "text")
        .addColumn("to_json", "text")
        .addColumn("at", t.bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("person_attribute_changes_person").on("person_attribute_changes").columns(["person_id", "at", "id"]).execute();

      await createEvents(db, dialect);

      // WITHOUT ROWID on SQLite: the key is the table, one B-tree written per event instead of two.
      await db.schema
        .createTable("person_event_dedupe")
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("dedupe_key", "text", (c) => c.notNull())
        .addColumn("seen_at", t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("person_event_dedupe_pk", ["workspace_id", "dedupe_key"])
        .$call((b) => (dialect === "sqlite" ? b.modifyEnd(sql`without rowid`) : b))
        .execute();
      await db.schema.createIndex("person_event_dedupe_seen").on("person_event_dedupe").column("seen_at").execute();

      await db.schema
        .createTable("objects")
        .addColumn("workspace_id", "text", (c) => c.notNull().references("workspaces.id").onDelete("cascade"))
        .addColumn("type_id", "text", (c) => c.notNull())
        .addColumn("object_id", "text", (c) => c.notNull())
        .addColumn("attributes_json", "text", (c) => c.notNull())
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addColumn("updated_at", t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("objects_pk", ["workspace_id", "type_id", "object_id"])
        .execute();

      await db.schema
        .createTable("relationships")
        .addColumn("workspace_id", "text", (c) => c.notNull())
        .addColumn("person_id", "text", (c) => c.notNull().references("people.person_id").onDelete("cascade"))
        .addColumn("type_id", "text", (c) => c.notNull())
        .addColumn("object_id", "text", (c) => c.notNull())
        .addColumn("attributes_json", "text", (c) => c.notNull())
        .addColumn("created_at", t.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("relationships_pk", ["person_id", "type_id", "object_id"])
        .execute();
      await db.schema.createIndex("relationships_object").on("relationships").columns(["workspace_id", "type_id", "object_id"]).execute();
    },
  };
}

async function createEvents(db: Db, dialect: Dialect): Promise<void> {
  if (dialect === "sqlite") {
    await db.schema
      .createTable("person_events")
      .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
      .addColumn("workspace_id", "text", (c) => c.notNull())
      .addColumn("person_id", "text")
      .addColumn("anonymous_id", "text")
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("dedupe_key", "text")
      .addColumn("data_json", "text", (c) => c.notNull())
      .addColumn("timestamp", "integer", (c) => c.notNull())
      .addColumn("received_at", "integer", (c) => c.notNull())
      .execute();
  } else {
    // No primary key: one on a partitioned table would have to include `timestamp`, and nothing
    // looks an event up by id alone. Ids come from the sequence and are unique all the same.
    await sql`create table person_events (
      id bigserial not null,
      workspace_id text not null,
      person_id text,
      anonymous_id text,
      name text not null,
      type text not null,
      dedupe_key text,
      data_json text not null,
      timestamp bigint not null,
      received_at bigint not null
    ) partition by range (timestamp)`.execute(db);
    await sql`create table person_events_default partition of person_events default`.execute(db);
  }
  if (dialect === "postgres") {
    await db.schema.createIndex("person_events_person").on("person_events").columns(["person_id", "timestamp"]).execute();
  } else {
    // SQLite: a person's events are found through person_event_index, filled behind ingest in
    // large chunks (src/people/README.md, "The person index on SQLite"): an index on person_id
    // written with each event dirtied about one page per event, which capped batched ingest.
    await db.schema
      .createTable("person_event_index")
      .addColumn("person_id", "text", (c) => c.notNull())
      .addColumn("timestamp", "integer", (c) => c.notNull())
      .addColumn("event_id", "integer", (c) => c.notNull())
      .addPrimaryKeyConstraint("person_event_index_pk", ["person_id", "timestamp", "event_id"])
      .modifyEnd(sql`without rowid`)
      .execute();
    // Events with ids up to indexed_to are in person_event_index; later ones are read from the table's tail.
    await db.schema
      .createTable("person_event_index_state")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("indexed_to", "integer", (c) => c.notNull())
      .execute();
    await sql`insert into person_event_index_state (id, indexed_to) values (1, 0)`.execute(db);
  }
  // Events waiting for their anonymous id to be identified.
  await db.schema.createIndex("person_events_anonymous").on("person_events").columns(["workspace_id", "anonymous_id"]).where(sql<boolean>`person_id is null`).execute();
  // Retention on SQLite deletes by timestamp in chunks.
  if (dialect === "sqlite") await db.schema.createIndex("person_events_timestamp").on("person_events").column("timestamp").execute();
}
