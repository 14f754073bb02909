// The message timeline shows each webhook attempt with the start of the endpoint's answer
// (webhook_attempts.response, the first 1 KB since migration 014); this adds the answer's whole
// size, so a cut excerpt says what it was cut from. Nullable: attempts recorded before it, and
// answers whose size is unknown (reading stopped at its bound, without a Content-Length), have none.
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function webhookResponseSize(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema.alterTable("webhook_attempts").addColumn("response_bytes", t.bigint).execute();
    },
    async down(db: Db) {
      await db.schema.alterTable("webhook_attempts").dropColumn("response_bytes").execute();
    },
  };
}
