// How long each open's pixel kept loading (its read time; src/tracking/README.md), in whole
// seconds; null until measured, and for opens that are not measured (proxies, HEAD, the limit).
import type { Kysely, Migration } from "kysely";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function readSeconds(): Migration {
  return {
    async up(db: Db) {
      await db.schema.alterTable("tracked_reads").addColumn("read_seconds", "integer").execute();
    },
  };
}
