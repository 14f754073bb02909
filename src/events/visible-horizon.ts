// The PostgreSQL horizon of the event log: a transaction id below which no event of *this database*
// can still appear. Consumers read only events whose transaction (events.tx) lies below it, in
// (tx, id) order, because ids come from a sequence and a transaction that commits late can leave a
// lower id visible after a higher one (migration 007).
//
// Transaction ids are numbered across the whole cluster, so the obvious horizon, the oldest
// transaction still running (pg_snapshot_xmin), waits for every database's transactions: a
// transaction held open in another database (another installation on the same server, another test
// file's migration) held back every consumer here until it ended. This horizon waits only for
// transactions that can write here.
//
// How it is made, from one snapshot, pg_current_snapshot() (taken atomically from the process
// array, 64-bit ids with their epoch, so no wraparound to think about):
// - xmax: every transaction that will get an id later (one that has not written yet when we look,
//   or starts later) gets one at or above it; so does one that has an id already but is not in
//   the snapshot's list (ids at or above xmax are never listed). xmax is the horizon when nothing
//   older of ours is running.
// - xip, the listed running transactions below xmax: the least of them that is not *proven* to
//   belong to another database lowers the horizon. Proof is a backend of another database showing
//   that id as its backend_xid in pg_stat_activity, or a prepared transaction of another database
//   in pg_prepared_xacts (a prepared transaction has no backend; it is in the snapshot's list all
//   the same). A transaction writes in one database only, and an id belongs to one transaction, so
//   the proof stays true however stale the view of the backends is; ids in the snapshot span less
//   than 2^31, so comparing their low 32 bits (xid8::xid) with backend_xid names exactly one.
// Anything not proven foreign counts as ours: a backend that ended between the snapshot and the
// look at pg_stat_activity, a background process without a database, a role that may not see
// other sessions. Such a case can only keep the horizon lower for one look, never skip an event.
//
// Our own transaction is not in its own snapshot's list: callers read the horizon outside any
// transaction that has written events (as pg_snapshot_xmin was).
import type { RawBuilder } from "kysely";
import { sql } from "../store/kysely.js";

/**
 * The horizon as SQL text (one statement's snapshot): events with tx below it are final. The
 * functions behind the views pg_stat_activity and pg_prepared_xacts are called directly: through
 * the views (joins to pg_database and pg_authid) planning took ~2 ms a look instead of ~0.2 ms.
 */
export const LOCAL_HORIZON_SQL = `(
  select coalesce(
    (select min(x) from pg_snapshot_xip(s.snap) as x
      where not exists (select 1 from pg_stat_get_activity(null) a where a.backend_xid = x::xid and a.datid <> db.oid)
        and not exists (select 1 from pg_prepared_xact() p where p.transaction = x::xid and p.dbid <> db.oid)),
    pg_snapshot_xmax(s.snap))::text::bigint
  from (select pg_current_snapshot() as snap) s, (select oid from pg_database where datname = current_database()) db
)`;

/** The horizon as a bigint expression for a query. */
export function localHorizon(): RawBuilder<number> {
  return sql.raw<number>(LOCAL_HORIZON_SQL);
}
