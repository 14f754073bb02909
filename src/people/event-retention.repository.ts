// SQL of the event store's upkeep. PostgreSQL: person_events is partitioned by range of
// `timestamp`, one partition per week (Monday 00:00 UTC to the next), named person_events_w<YYYYMMDD>
// after its first day; a DEFAULT partition holds whatever falls outside them. Retention drops whole
// partitions (a catalog change, no row-by-row delete, no vacuum debt). SQLite: one table, and
// retention deletes old rows in chunks, each chunk its own short transaction.
import { sql } from "../store/kysely.js";
import type { Db } from "../store/store.js";

export const WEEK_MS = 7 * 86_400_000;
/** 1970-01-05, the first Monday of the epoch: weeks are counted from it. */
const FIRST_MONDAY_MS = 4 * 86_400_000;
/** The longest the upkeep waits for the event table's lock before leaving a week to its next pass. */
const LOCK_WAIT = "2s";
const PARTITION_NAME = /^person_events_w(\d{4})(\d{2})(\d{2})$/;

/** The start of the week (Monday 00:00 UTC) that holds `t`. */
export function weekStart(t: number): number {
  return Math.floor((t - FIRST_MONDAY_MS) / WEEK_MS) * WEEK_MS + FIRST_MONDAY_MS;
}

export function partitionName(start: number): string {
  return `person_events_w${new Date(start).toISOString().slice(0, 10).replaceAll("-", "")}`;
}

export interface Partition {
  name: string;
  start: number;
  end: number;
}

export class EventRetentionRepository {
  /** The weekly partitions of person_events (PostgreSQL), oldest first. */
  async partitions(db: Db): Promise<Partition[]> {
    const result = await sql<{ name: string }>`select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'person_events'::regclass`.execute(db);
    const found: Partition[] = [];
    for (const { name } of result.rows) {
      const m = PARTITION_NAME.exec(name);
      if (!m) continue;
      const start = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
      found.push({ name, start, end: start + WEEK_MS });
    }
    return found.sort((a, b) => a.start - b.start);
  }

  /**
   * Takes the upkeep lock for this transaction, so two worker processes do not both create or drop
   * the same partition; false when another holds it (this pass then does nothing).
   */
  async tryLock(db: Db): Promise<boolean> {
    const result = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(hashtext('posthorn.person_events.partitions')) as locked`.execute(db);
    return result.rows[0]?.locked === true;
  }

  /**
   * Creates the week's partition. Rows of that week already in the DEFAULT partition (late or
   * early events that came before it existed) move into it first: PostgreSQL refuses to attach a
   * partition whose range the default still holds rows of. Indexes follow from the parent's.
   */
  async createPartition(db: Db, start: number): Promise<boolean> {
    const name = sql.id(partitionName(start));
    const end = start + WEEK_MS;
    // Another process made it since this one listed the partitions.
    const exists = await sql<{ n: number }>`select count(*)::int as n from pg_class where relname = ${partitionName(start)}`.execute(db);
    if (exists.rows[0]!.n > 0) return false;
    // Every query and insert waits here, at the parent, until the partition is attached and its
    // rows moved. A weaker lock is not enough:
    // - Reads: under a lock that lets them open the parent (EXCLUSIVE), a read plans with the
    //   partitions it sees, waits for the DEFAULT partition (which the attach locks), and then runs
    //   with a newer snapshot: the moved rows are gone from the DEFAULT partition and the new
    //   partition is not in its plan, so the read misses them (people.postgres.test.ts shows it;
    //   a dashboard timeline did, once, on a fresh database).
    // - Inserts: one could route by the partitions it saw before the attach and then break the
    //   DEFAULT partition's new constraint (a 500, about once in 2,000 requests during a first pass).
    // Held for one week's move: normally no rows, as partitions are made weeks ahead. Waiting for
    // the lock behind a long query would stall everything queued after it, so the upkeep gives up
    // after LOCK_WAIT and tries again on its next pass.
    await sql.raw(`set local lock_timeout = '${LOCK_WAIT}'`).execute(db);
    await sql`lock table only person_events in access exclusive mode`.execute(db);
    await sql`create table ${name} (like person_events including defaults)`.execute(db);
    await sql`with moved as (delete from person_events_default where timestamp >= ${start} and timestamp < ${end} returning *) insert into ${name} select * from moved`.execute(db);
    await sql`alter table person_events attach partition ${name} for values from (${sql.lit(start)}) to (${sql.lit(end)})`.execute(db);
    return true;
  }

  async dropPartition(db: Db, name: string): Promise<boolean> {
    // Dropping a partition locks the parent too: the same bounded wait as making one.
    await sql.raw(`set local lock_timeout = '${LOCK_WAIT}'`).execute(db);
    await sql`drop table if exists ${sql.id(name)}`.execute(db);
    return true;
  }

  /** Up to `limit` ids of events that happened before `before` (SQLite's table, or PostgreSQL's DEFAULT partition). */
  async oldEventIds(db: Db, before: number, limit: number, table: "person_events" | "person_events_default"): Promise<number[]> {
    const result = await sql<{ id: number }>`select id from ${sql.id(table)} where timestamp < ${before} limit ${limit}`.execute(db);
    return result.rows.map((r) => Number(r.id));
  }

  async deleteEvents(db: Db, ids: number[], table: "person_events" | "person_events_default"): Promise<void> {
    if (ids.length === 0) return;
    await sql`delete from ${sql.id(table)} where id in (${sql.join(ids)})`.execute(db);
  }
}
