// Column types that differ between the dialects; everything else in a migration is the same DDL.
import type { Dialect } from "../store.js";

export function columnTypes(dialect: Dialect) {
  return {
    bigint: dialect === "postgres" ? ("bigint" as const) : ("integer" as const),
    blob: dialect === "postgres" ? ("bytea" as const) : ("blob" as const),
    autoId: dialect === "postgres" ? ("bigserial" as const) : ("integer" as const),
  };
}
