// The PostgreSQL driver (node-postgres), loaded when a PostgreSQL store or connection is opened
// rather than with the store module: a process on SQLite, the default, never needs it, and loading
// it costs ~80 ms of CPU at every start and every CLI command.
import type pgModule from "pg";
import { lazyModule } from "../shared/lazy-module.js";

const pg = lazyModule<typeof pgModule>("pg");
let typesSet = false;

/** node-postgres, with Posthorn's type parsing set (once per process). */
export function pgDriver(): typeof pgModule {
  const driver = pg();
  if (!typesSet) {
    // BIGINT (int8) arrives from pg as a string to protect values above 2^53; our BIGINTs are
    // millisecond timestamps and row ids, far below that, so numbers are safe and simpler.
    driver.types.setTypeParser(20, (v) => Number(v));
    typesSet = true;
  }
  return driver;
}
