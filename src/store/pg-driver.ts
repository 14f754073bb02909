// The PostgreSQL driver (node-postgres), loaded when a PostgreSQL store or connection is opened
// rather than with the store module: a process on SQLite, the default, never needs it, and loading
// it costs ~80 ms of CPU at every start and every CLI command.
import { createRequire } from "node:module";
import type pgModule from "pg";

const require = createRequire(import.meta.url);
let loaded: typeof pgModule | null = null;

/** node-postgres, with Posthorn's type parsing set (once per process). */
export function pgDriver(): typeof pgModule {
  if (loaded) return loaded;
  const pg = require("pg") as typeof pgModule;
  // BIGINT (int8) arrives from pg as a string to protect values above 2^53; our BIGINTs are
  // millisecond timestamps and row ids, far below that, so numbers are safe and simpler.
  pg.types.setTypeParser(20, (v) => Number(v));
  loaded = pg;
  return pg;
}
