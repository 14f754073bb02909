// Whether a message's sender asked for (or is configured to get) delivery status notifications
// on failure (RFC 3461 NOTIFY=FAILURE, or POSTHORN_DSN_FOR_API for API mail).
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function dsnNotify(_dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      await db.schema.alterTable("messages").addColumn("dsn_notify", "integer", (c) => c.notNull().defaultTo(0)).execute();
    },
  };
}
