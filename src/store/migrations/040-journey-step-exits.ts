// Per-step "exited" counts for the dashboard's journey graph (issue 13): how many runs left the
// journey at each step. An ended run's row keeps no step (step_id is null once it ends), and
// counting ended runs by their last path entry would read every ended run of a journey on every
// refresh of the graph; so the runtime counts each end in journey_step_counts, one row per
// (journey, version, step), as it already counts entries, completions, failures and conversions.
//
// Runs that ended before this migration: those that completed (went past their last step) are
// counted here at their path's last step, which is exactly where they ended. Runs that ended by an
// exit condition, a conversion, an archive or a deletion while waiting at a step are not: their
// step was not kept (the waiting step is not on the path), so any count for them would be a guess.
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function journeyStepExits(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      await db.schema.alterTable("journey_step_counts").addColumn("exited", t.bigint, (c) => c.notNull().defaultTo(0)).execute();
      // The last element of the path (a JSON array of {stepId, at, outcome}), in each dialect's JSON.
      const lastStep = dialect === "postgres" ? sql`(path_json::jsonb -> -1 ->> 'stepId')` : sql`json_extract(path_json, '$[#-1].stepId')`;
      // The outer WHERE is needed too: SQLite reads an upsert whose SELECT has none as ambiguous.
      await sql`
        insert into journey_step_counts (journey_id, version, step_id, entered, completed, failed, converted, exited)
        select journey_id, version, step_id, 0, 0, 0, 0, n from (
          select journey_id, version, ${lastStep} as step_id, count(*) as n
          from journey_runs where state = 'ended' and end_reason = 'completed'
          group by journey_id, version, ${lastStep}
        ) ended where step_id is not null
        on conflict (journey_id, version, step_id) do update set exited = excluded.exited
      `.execute(db);
    },
    async down(db: Db) {
      await db.schema.alterTable("journey_step_counts").dropColumn("exited").execute();
    },
  };
}
