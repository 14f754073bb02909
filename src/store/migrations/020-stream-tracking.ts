// Tracking defaults per message stream (issue 10: per message, per stream, per server). Null
// follows the workspace's (migration 011); Postmark's stream object has no such field, so they
// are set through Posthorn's extension fields of POST/PATCH /message-streams.
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function streamTracking(_dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      await db.schema.alterTable("streams").addColumn("track_opens", "integer").execute();
      await db.schema.alterTable("streams").addColumn("track_links", "text").execute();
    },
  };
}
