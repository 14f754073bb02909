// SQL of the workspace's message limits (migration 026: message_limits).
import type { Db } from "../../store/store.js";
import type { MessageLimits } from "./outreach.port.js";
import "./outreach.schema.js";

export class MessageLimitsRepository {
  async find(db: Db, workspaceId: string): Promise<MessageLimits | null> {
    const row = await db.selectFrom("message_limits").select(["caps_json", "quiet_hours_json"]).where("workspace_id", "=", workspaceId).executeTakeFirst();
    if (!row) return null;
    return { caps: JSON.parse(row.caps_json) as MessageLimits["caps"], quietHours: row.quiet_hours_json ? (JSON.parse(row.quiet_hours_json) as MessageLimits["quietHours"]) : null };
  }

  async save(db: Db, workspaceId: string, limits: MessageLimits, now: number): Promise<void> {
    const values = { caps_json: JSON.stringify(limits.caps), quiet_hours_json: limits.quietHours ? JSON.stringify(limits.quietHours) : null, updated_at: now };
    await db
      .insertInto("message_limits")
      .values({ workspace_id: workspaceId, ...values })
      .onConflict((oc) => oc.column("workspace_id").doUpdateSet(values))
      .execute();
  }
}
