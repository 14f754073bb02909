// SQLite: a count of every connection's updates and deletes of `people` and `person_identifiers`,
// kept by triggers, so that the process's in-memory copy of who identifiers name
// (src/people/person-lookup-cache.ts) can tell another connection's commit that changed people
// from one that did not. Before, any other connection's commit emptied the copy (PRAGMA
// data_version can only say that something was committed), so a second connection that commits
// often (another process on the file running the worker role, whose person index and key merge
// touch neither table) emptied it before almost every ingest run.
//
// Inserts are not counted: the copy holds only rows it has read, and a row it holds can become
// wrong only by an update or a delete (a new identifier with a held key needs the old one deleted
// first). Ingest of events updates neither table, so it pays nothing; an identify that changes a
// person pays one more row update. PostgreSQL keeps no copy and has no count.
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function personChangeCount(dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      if (dialect !== "sqlite") return;
      await db.schema
        .createTable("person_change_count")
        .addColumn("id", "integer", (c) => c.primaryKey().check(sql`id = 1`))
        .addColumn("changes", "integer", (c) => c.notNull())
        .execute();
      await sql`insert into person_change_count (id, changes) values (1, 0)`.execute(db);
      for (const table of ["people", "person_identifiers"]) {
        for (const change of ["update", "delete"]) {
          await sql.raw(`create trigger ${table}_${change}_counted after ${change} on ${table} begin update person_change_count set changes = changes + 1 where id = 1; end`).execute(db);
        }
      }
    },
  };
}
