// The activity list's state filter (issue 13) read deliveries_activity_state, an index over every
// delivery's state. That cost the mail path an index entry to add when a delivery was queued and
// one to move when it was delivered, for a filter that mostly asks for the rare states: issue 8
// counted the dashboard's indexes at about 6% more CPU per relayed message. The index now holds the
// outcomes worth finding, which are few (deferred, bounced, suppressed, expired); a delivery that
// goes from queued to delivered, the common path, never enters it. "queued" and "delivered" are
// dense among recent mail, so the list finds them by walking the workspace's list instead
// (activity.repository.ts, whose OUTCOME_CONDITION repeats this condition word for word: SQLite
// uses a partial index only when the query states the index's condition). The condition names what
// is left out rather than listing what is in: SQLite evaluates it on every insert and update of a
// delivery, and an IN list cost about 3 µs there against a fraction of one for two comparisons
// (measured with better-sqlite3, 150,000 deliveries inserted and delivered per variant).
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function activityOutcomes(): Migration {
  return {
    async up(db: Db) {
      await sql`drop index deliveries_activity_state`.execute(db);
      await sql`create index deliveries_activity_outcome on deliveries (workspace_id, state, created_at, message_id) where state <> 'queued' and state <> 'delivered'`.execute(db);
    },
  };
}
