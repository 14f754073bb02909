// What a message delivered to several recipients is owed in each recipient's copy (tracking
// tokens and unsubscribe fields naming the delivery; src/messages/per-delivery.ts), as JSON; null
// for every other message, whose stored MIME is what is sent.
import type { Kysely, Migration } from "kysely";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function perDelivery(): Migration {
  return {
    async up(db: Db) {
      await db.schema.alterTable("messages").addColumn("per_delivery_json", "text").execute();
    },
  };
}
