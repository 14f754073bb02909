// deliveries_workspace_recipient (workspace_id, recipient) served no query: recipients are found
// by message (deliveries_message) or by lower(recipient), which it cannot serve. Every accepted
// recipient paid for it with one more B-tree page written per commit.
import type { Kysely, Migration } from "kysely";
import type { Dialect } from "../store.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function dropUnusedDeliveryIndex(_dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      await db.schema.dropIndex("deliveries_workspace_recipient").ifExists().execute();
    },
  };
}
