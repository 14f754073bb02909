// The claim index by workspace and lane. Fair claiming (see DeliveriesRepository.claimFairly)
// takes due rows per workspace and per lane — never-attempted ("queued") and retries
// ("deferred") — so it seeks by (workspace_id, state, next_attempt_at); the leading column also
// lets the list of workspaces with pending work be read by index seeks.
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function fairClaims(_dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      await db.schema
        .createIndex("deliveries_due_by_workspace")
        .on("deliveries")
        .columns(["workspace_id", "state", "next_attempt_at"])
        .where(sql.ref("state"), "in", ["queued", "deferred"])
        .execute();
      await db.schema.dropIndex("deliveries_due").execute();
    },
  };
}
