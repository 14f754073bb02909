// SQL of users, grants, sessions and failed sign-ins.
import type { Db } from "../store/store.js";
import type { SessionRow, UserRow, UsersTable } from "./users.schema.js";

export class UsersRepository {
  async insert(db: Db, row: UsersTable): Promise<void> {
    await db.insertInto("users").values(row).execute();
  }

  async byEmail(db: Db, email: string): Promise<UserRow | null> {
    return (await db.selectFrom("users").selectAll().where("email", "=", email).executeTakeFirst()) ?? null;
  }

  async byId(db: Db, id: string): Promise<UserRow | null> {
    return (await db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst()) ?? null;
  }

  async list(db: Db): Promise<UserRow[]> {
    return db.selectFrom("users").selectAll().orderBy("email").execute();
  }

  async update(db: Db, id: string, changes: Partial<Pick<UsersTable, "password_hash" | "role">>, now: number): Promise<void> {
    await db.updateTable("users").set({ ...changes, updated_at: now }).where("id", "=", id).execute();
  }

  async delete(db: Db, id: string): Promise<void> {
    await db.deleteFrom("sessions").where("user_id", "=", id).execute();
    await db.deleteFrom("user_workspaces").where("user_id", "=", id).execute();
    await db.deleteFrom("users").where("id", "=", id).execute();
  }

  async grant(db: Db, userId: string, workspaceId: string): Promise<void> {
    await db.insertInto("user_workspaces").values({ user_id: userId, workspace_id: workspaceId }).onConflict((oc) => oc.columns(["user_id", "workspace_id"]).doNothing()).execute();
  }

  async revoke(db: Db, userId: string, workspaceId: string): Promise<void> {
    await db.deleteFrom("user_workspaces").where("user_id", "=", userId).where("workspace_id", "=", workspaceId).execute();
  }

  async grantedWorkspaces(db: Db, userId: string): Promise<string[]> {
    const rows = await db.selectFrom("user_workspaces").select("workspace_id").where("user_id", "=", userId).execute();
    return rows.map((r) => r.workspace_id);
  }

  async insertSession(db: Db, row: SessionRow): Promise<void> {
    await db.insertInto("sessions").values(row).execute();
  }

  /** The session and its user, if the session has not expired. */
  async session(db: Db, tokenHash: string, now: number): Promise<{ session: SessionRow; user: UserRow } | null> {
    const session = await db.selectFrom("sessions").selectAll().where("token_hash", "=", tokenHash).where("expires_at", ">", now).executeTakeFirst();
    if (!session) return null;
    const user = await this.byId(db, session.user_id);
    return user ? { session, user } : null;
  }

  async touchSession(db: Db, tokenHash: string, now: number, expiresAt: number): Promise<void> {
    await db.updateTable("sessions").set({ last_seen_at: now, expires_at: expiresAt }).where("token_hash", "=", tokenHash).execute();
  }

  async deleteSession(db: Db, tokenHash: string): Promise<void> {
    await db.deleteFrom("sessions").where("token_hash", "=", tokenHash).execute();
  }

  async deleteSessionsOf(db: Db, userId: string): Promise<void> {
    await db.deleteFrom("sessions").where("user_id", "=", userId).execute();
  }

  async pruneSessions(db: Db, now: number): Promise<number> {
    const result = await db.deleteFrom("sessions").where("expires_at", "<=", now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Failures counted for `key` since `windowStart` (an older window counts as none). */
  async failures(db: Db, key: string, windowStart: number): Promise<number> {
    const row = await db.selectFrom("sign_in_failures").select(["failures", "window_start"]).where("key", "=", key).executeTakeFirst();
    return row && Number(row.window_start) >= windowStart ? Number(row.failures) : 0;
  }

  /** Counts one failure for `key`, starting a new window at `now` when the last one is older than `windowStart`. */
  async addFailure(db: Db, key: string, now: number, windowStart: number): Promise<void> {
    await db
      .insertInto("sign_in_failures")
      .values({ key, window_start: now, failures: 1 })
      .onConflict((oc) =>
        oc.column("key").doUpdateSet((eb) => ({
          failures: eb.case().when("sign_in_failures.window_start", "<", windowStart).then(1).else(eb("sign_in_failures.failures", "+", 1)).end(),
          window_start: eb.case().when("sign_in_failures.window_start", "<", windowStart).then(now).else(eb.ref("sign_in_failures.window_start")).end(),
        })),
      )
      .execute();
  }

  async clearFailures(db: Db, key: string): Promise<void> {
    await db.deleteFrom("sign_in_failures").where("key", "=", key).execute();
  }
}
