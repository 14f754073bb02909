// All SQL of sending domains and their DKIM keys. Every method takes the Db to run on, so the
// service decides what shares a transaction.
import type { Insertable, Updateable } from "kysely";
import { sql } from "../store/kysely.js";
import type { Db } from "../store/store.js";
import type { DkimKeyRow, DkimKeysTable, SendingDomainRow, SendingDomainsTable } from "./sending-domains.schema.js";

export class SendingDomainsRepository {
  async insertDomain(db: Db, row: Insertable<SendingDomainsTable>): Promise<number> {
    const inserted = await db.insertInto("sending_domains").values(row).returning("id").executeTakeFirstOrThrow();
    return Number(inserted.id);
  }

  async insertKey(db: Db, row: Insertable<DkimKeysTable>): Promise<void> {
    await db.insertInto("dkim_keys").values(row).execute();
  }

  async findById(db: Db, id: number): Promise<SendingDomainRow | null> {
    return (await db.selectFrom("sending_domains").selectAll().where("id", "=", id).executeTakeFirst()) ?? null;
  }

  async findByName(db: Db, name: string): Promise<SendingDomainRow | null> {
    return (await db.selectFrom("sending_domains").selectAll().where("name", "=", name).executeTakeFirst()) ?? null;
  }

  /** Whether a domain is registered as a sending domain or as one's return-path domain, verified or not. */
  async isSendingOrReturnPath(db: Db, name: string): Promise<boolean> {
    const row = await db
      .selectFrom("sending_domains")
      .select("id")
      .where((eb) => eb.or([eb("name", "=", name), eb("return_path_domain", "=", name)]))
      .executeTakeFirst();
    return row !== undefined;
  }

  async hasVerifiedReturnPath(db: Db, returnPathDomain: string): Promise<boolean> {
    const row = await db
      .selectFrom("sending_domains")
      .select("id")
      .where("return_path_domain", "=", returnPathDomain)
      .where("return_path_verified_at", "is not", null)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Of these names, those whose domain has an active DKIM key (Postmark's DKIMVerified). */
  async withActiveKey(db: Db, names: string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const rows = await db
      .selectFrom("sending_domains")
      .innerJoin("dkim_keys", "dkim_keys.domain_id", "sending_domains.id")
      .select("sending_domains.name")
      .where("sending_domains.name", "in", names)
      .where("dkim_keys.state", "=", "active")
      .execute();
    return rows.map((r) => r.name);
  }

  async list(db: Db, page: { count: number; offset: number }): Promise<SendingDomainRow[]> {
    return db.selectFrom("sending_domains").selectAll().orderBy("name").orderBy("id").limit(page.count).offset(page.offset).execute();
  }

  async count(db: Db): Promise<number> {
    const row = await db.selectFrom("sending_domains").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Keys of these domains, oldest first. */
  async keysOf(db: Db, domainIds: number[]): Promise<DkimKeyRow[]> {
    if (domainIds.length === 0) return [];
    return db.selectFrom("dkim_keys").selectAll().where("domain_id", "in", domainIds).orderBy("id").execute();
  }

  /** The key that signs for a domain name, if the domain exists and has one. */
  async activeKeyByName(db: Db, name: string): Promise<DkimKeyRow | null> {
    const row = await db
      .selectFrom("dkim_keys")
      .innerJoin("sending_domains", "sending_domains.id", "dkim_keys.domain_id")
      .selectAll("dkim_keys")
      .where("sending_domains.name", "=", name)
      .where("dkim_keys.state", "=", "active")
      .executeTakeFirst();
    return row ?? null;
  }

  async updateDomain(db: Db, id: number, changes: Updateable<SendingDomainsTable>): Promise<void> {
    await db.updateTable("sending_domains").set(changes).where("id", "=", id).execute();
  }

  async deleteDomain(db: Db, id: number): Promise<void> {
    // Keys first: SQLite honours the ON DELETE CASCADE only with foreign_keys on, and being
    // explicit keeps the delete correct whatever the connection's settings.
    await db.deleteFrom("dkim_keys").where("domain_id", "=", id).execute();
    await db.deleteFrom("sending_domains").where("id", "=", id).execute();
  }

  async updateKey(db: Db, id: number, changes: Updateable<DkimKeysTable>): Promise<void> {
    await db.updateTable("dkim_keys").set(changes).where("id", "=", id).execute();
  }

  /**
   * Promotes a pending key: the active key becomes revoked, an older revoked key is forgotten
   * (its removal window is long past by the time a second rotation completes). Returns false when
   * the key is no longer pending, e.g. another process activated it first.
   */
  async activatePending(db: Db, domainId: number, keyId: number, now: number): Promise<boolean> {
    const pending = await db.selectFrom("dkim_keys").select("id").where("id", "=", keyId).where("state", "=", "pending").executeTakeFirst();
    if (!pending) return false;
    await db.deleteFrom("dkim_keys").where("domain_id", "=", domainId).where("state", "=", "revoked").execute();
    await db.updateTable("dkim_keys").set({ state: "revoked", revoked_at: now }).where("domain_id", "=", domainId).where("state", "=", "active").execute();
    await db.updateTable("dkim_keys").set({ state: "active", activated_at: now }).where("id", "=", keyId).execute();
    return true;
  }

  /** Domains not checked since `checkedBefore` (never-checked first), at most `limit`. */
  async dueForRecheck(db: Db, checkedBefore: number, limit: number): Promise<number[]> {
    const rows = await db
      .selectFrom("sending_domains")
      .select("id")
      .where((eb) => eb.or([eb("last_checked_at", "is", null), eb("last_checked_at", "<", checkedBefore)]))
      // Never-checked domains first; coalesce because SQLite sorts NULL first and PostgreSQL last.
      .orderBy(sql`coalesce(last_checked_at, 0)`)
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map((r) => Number(r.id));
  }
}
