// The one read the people domain makes of the messages domain's tables: which workspace and
// address a delivery went to, for POST /unsubscribe/{delivery_id}. Read-only, one query; the
// messages domain offers no service method for it, and adding one for this lookup alone would
// tie that domain to people.
import type { Db } from "../store/store.js";

export class DeliveryRecipientRepository {
  async find(db: Db, deliveryId: number): Promise<{ workspaceId: string; recipient: string } | null> {
    const row = await db.selectFrom("deliveries").select(["workspace_id", "recipient"]).where("id", "=", deliveryId).executeTakeFirst();
    return row ? { workspaceId: row.workspace_id, recipient: row.recipient } : null;
  }
}
