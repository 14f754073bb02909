// All SQL of sender signatures. Every method takes the Db to run on, so the service decides what
// shares a transaction.
import type { Insertable, Updateable } from "kysely";
import type { Db } from "../store/store.js";
import type { SenderSignatureRow, SenderSignaturesTable } from "./senders.schema.js";

export class SendersRepository {
  async insert(db: Db, row: Insertable<SenderSignaturesTable>): Promise<number> {
    const inserted = await db.insertInto("sender_signatures").values(row).returning("id").executeTakeFirstOrThrow();
    return Number(inserted.id);
  }

  async findById(db: Db, id: number): Promise<SenderSignatureRow | null> {
    return (await db.selectFrom("sender_signatures").selectAll().where("id", "=", id).executeTakeFirst()) ?? null;
  }

  async findByKey(db: Db, emailKey: string): Promise<SenderSignatureRow | null> {
    return (await db.selectFrom("sender_signatures").selectAll().where("email_key", "=", emailKey).executeTakeFirst()) ?? null;
  }

  /** The confirmation state of the signatures of these address keys (absent keys have none). */
  async confirmationOf(db: Db, emailKeys: string[]): Promise<Map<string, boolean>> {
    if (emailKeys.length === 0) return new Map();
    const rows = await db.selectFrom("sender_signatures").select(["email_key", "confirmed_at"]).where("email_key", "in", emailKeys).execute();
    return new Map(rows.map((r) => [r.email_key, r.confirmed_at !== null]));
  }

  async list(db: Db, page: { count: number; offset: number }): Promise<SenderSignatureRow[]> {
    return db.selectFrom("sender_signatures").selectAll().orderBy("id").limit(page.count).offset(page.offset).execute();
  }

  async count(db: Db): Promise<number> {
    const row = await db.selectFrom("sender_signatures").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async update(db: Db, id: number, changes: Updateable<SenderSignaturesTable>): Promise<void> {
    await db.updateTable("sender_signatures").set(changes).where("id", "=", id).execute();
  }

  /** Marks it confirmed unless it already is; true when this call confirmed it. */
  async confirm(db: Db, id: number, now: number): Promise<boolean> {
    const result = await db.updateTable("sender_signatures").set({ confirmed_at: now, updated_at: now }).where("id", "=", id).where("confirmed_at", "is", null).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Claims the right to send a confirmation mail: moves confirmation_sent_at to now only if the
   * last one is older than `sentBefore`, so two concurrent resends cannot both send.
   */
  async claimResend(db: Db, id: number, sentBefore: number, now: number): Promise<boolean> {
    const result = await db
      .updateTable("sender_signatures")
      .set({ confirmation_sent_at: now, updated_at: now })
      .where("id", "=", id)
      .where("confirmation_sent_at", "<=", sentBefore)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async delete(db: Db, id: number): Promise<void> {
    await db.deleteFrom("sender_signatures").where("id", "=", id).execute();
  }
}
