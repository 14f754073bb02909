// Connection slots per destination, shared by MTA processes so that a destination's connection
// cap holds in total (see src/mta/shaping/connection-slots.repository.ts).
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function destinationSlots(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema
        .createTable("destination_slots")
        .addColumn("destination", "text", (c) => c.notNull())
        .addColumn("slot", "integer", (c) => c.notNull())
        .addColumn("owner", "text", (c) => c.notNull())
        .addColumn("lease_until", t.bigint, (c) => c.notNull())
        // One row per slot: the key is what stops two processes holding the same slot.
        .addPrimaryKeyConstraint("destination_slots_pk", ["destination", "slot"])
        .execute();
      // Renewing and releasing go by owner.
      await db.schema.createIndex("destination_slots_owner").on("destination_slots").column("owner").execute();
    },
  };
}
