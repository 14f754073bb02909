// The dashboard's segment size over time (issue 13) reads a segment's entries and exits by time
// (SegmentsRepository.changesPerBucket); segment_history was indexed by person only.
import type { Kysely, Migration } from "kysely";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function segmentHistoryBySegment(): Migration {
  return {
    async up(db: Db) {
      await db.schema.createIndex("segment_history_segment").on("segment_history").columns(["segment_id", "at"]).execute();
    },
    async down(db: Db) {
      await db.schema.dropIndex("segment_history_segment").execute();
    },
  };
}
