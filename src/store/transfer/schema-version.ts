// The schema an export belongs to: the migrations applied to its source. Rows move only between
// databases at the same migrations, because a table's columns are what its migrations made them;
// converting between versions is what the migrations themselves are for.
import type { RawDb } from "./raw-db.js";

/** The migrations applied to a database, sorted by name (the order Kysely applies them in). */
export async function appliedMigrations(db: RawDb): Promise<string[]> {
  const exists = await db.all(
    db.dialect === "sqlite" ? "select 1 from sqlite_master where type = 'table' and name = 'kysely_migration'" : "select 1 from pg_tables where schemaname = current_schema() and tablename = 'kysely_migration'",
  );
  if (exists.length === 0) throw new Error("not a Posthorn database: it has no migrations table");
  const rows = (await db.all("select name from kysely_migration")) as Array<{ name: string }>;
  return rows.map((r) => r.name).sort();
}

/**
 * Throws, in the operator's words, when `applied` is not exactly `expected`: which side is behind
 * and what to run. `side` names the database in the message ("source", "target", "export file").
 */
export function checkSchema(applied: readonly string[], expected: readonly string[], side: "source" | "target" | "export file"): void {
  const known = new Set(expected);
  const newer = applied.filter((name) => !known.has(name));
  if (newer.length > 0) {
    throw new Error(`the ${side} was migrated by a newer Posthorn (migration ${newer[newer.length - 1]} is unknown to this one): use that version`);
  }
  const has = new Set(applied);
  const missing = expected.filter((name) => !has.has(name));
  if (missing.length > 0) {
    const at = applied[applied.length - 1] ?? "none";
    const latest = expected[expected.length - 1];
    if (side === "export file") {
      throw new Error(`the export file is at migration ${at}, this Posthorn at ${latest}: import it with the Posthorn version that exported it, or run "posthorn migrate" on the source with this version and export again`);
    }
    throw new Error(`the ${side} is at migration ${at}, this Posthorn at ${latest}: run "posthorn migrate" on the ${side} with this version first`);
  }
}
