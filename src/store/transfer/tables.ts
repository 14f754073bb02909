// Which tables an export holds, with their columns, read from the database itself (the catalog),
// not from a hand-kept list that a new migration could leave behind: a table added by a migration
// is moved the day it exists. What is left out is listed here, each with its reason.
import type { RawDb } from "./raw-db.js";

/**
 * The column types of the schema, in the file's words. The migrations use only these (their
 * dialect-specific spellings in migrations/column-types.ts): SQLite's INTEGER holds what
 * PostgreSQL keeps as integer or bigint (booleans too, as 0/1), BLOB is bytea, and JSON is text on
 * both.
 */
export type ColumnType = "integer" | "real" | "text" | "blob";

export interface Column {
  name: string;
  type: ColumnType;
}

export interface TableShape {
  name: string;
  columns: Column[];
  /** The column whose values come from a sequence (SQLite AUTOINCREMENT, PostgreSQL serial), if any. */
  sequenceColumn: string | null;
  /** Tables this one references by foreign key (itself excluded). */
  references: string[];
}

/**
 * Tables not moved, and why. The schema's version is the header's; a sequence travels as a
 * number with its table. The search index is derived from the messages and its form differs by
 * dialect (FTS5 documents vs. a tsvector column): the target's worker rebuilds it from the
 * messages (the export resets message_search_backfill), newest first. SQLite's index of a person's
 * events exists on SQLite only and is derived from person_events: a target on SQLite fills it
 * again from its mark, which a fresh migration sets to 0. SQLite's mark of merged event keys has
 * no row in a fresh target, which its first merge reads as "every key is in the table": the
 * export makes that true (export.ts, rowsOf).
 */
export const NOT_MOVED: Readonly<Record<string, string>> = {
  kysely_migration: "the schema version, carried in the header",
  kysely_migration_lock: "the migration lock",
  message_search: "search index, rebuilt by the target's worker",
  message_search_docs: "search index, rebuilt by the target's worker",
  person_event_index: "SQLite's index of person_events, rebuilt by the target",
  person_event_index_state: "the mark of person_event_index, 0 in the target",
  person_event_keys_state: "SQLite's mark of merged event keys: the export puts the keys above it in person_event_dedupe, and the target sets its own",
  person_change_count: "SQLite's count of changes to people, kept by triggers for the lookup cache: the target's migration makes its own",
};

export async function describeTables(db: RawDb): Promise<TableShape[]> {
  const shapes = db.dialect === "sqlite" ? await sqliteTables(db) : await postgresTables(db);
  return dependencyOrder(shapes.filter((t) => !Object.hasOwn(NOT_MOVED, t.name)));
}

async function sqliteTables(db: RawDb): Promise<TableShape[]> {
  // table_list's type tells ordinary tables from FTS5's virtual table and its shadow tables.
  const tables = await db.all(`select name from pragma_table_list where schema = 'main' and type = 'table' and name not like 'sqlite\\_%' escape '\\' order by name`);
  const shapes: TableShape[] = [];
  for (const { name } of tables as Array<{ name: string }>) {
    const ddl = ((await db.all(`select sql from sqlite_master where type = 'table' and name = ?`, [name])) as Array<{ sql: string }>)[0]?.sql ?? "";
    const info = (await db.all(`select name, type, hidden, pk from pragma_table_xinfo(?) order by cid`, [name])) as Array<{ name: string; type: string; hidden: number; pk: number }>;
    // hidden 2 and 3 are generated columns: made by the target itself.
    const columns = info.filter((c) => c.hidden === 0).map((c) => ({ name: c.name, type: sqliteType(name, c.name, c.type) }));
    const keys = info.filter((c) => c.pk > 0);
    const sequenceColumn = /\bautoincrement\b/i.test(ddl) && keys.length === 1 ? keys[0]!.name : null;
    const references = ((await db.all(`select distinct "table" as t from pragma_foreign_key_list(?)`, [name])) as Array<{ t: string }>).map((r) => r.t).filter((t) => t !== name);
    shapes.push({ name, columns, sequenceColumn, references });
  }
  return shapes;
}

/** SQLite's type affinity rules (datatype3.html §3.1), on the declared type. */
function sqliteType(table: string, column: string, declared: string): ColumnType {
  const d = declared.toUpperCase();
  if (d.includes("INT")) return "integer";
  if (d.includes("CHAR") || d.includes("CLOB") || d.includes("TEXT")) return "text";
  if (d === "" || d.includes("BLOB")) return "blob";
  if (d.includes("REAL") || d.includes("FLOA") || d.includes("DOUB")) return "real";
  throw new Error(`${table}.${column} has the type ${declared}, which export does not know how to move`);
}

async function postgresTables(db: RawDb): Promise<TableShape[]> {
  // Partitions (person_events' weekly ones) are read and written through their parent.
  const tables = (await db.all(
    `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind in ('r', 'p') and not c.relispartition order by c.relname`,
  )) as Array<{ name: string }>;
  const shapes: TableShape[] = [];
  for (const { name } of tables) {
    const info = (await db.all(
      `select column_name as name, data_type as type, is_generated as generated, column_default as def
         from information_schema.columns where table_schema = current_schema() and table_name = ? order by ordinal_position`,
      [name],
    )) as Array<{ name: string; type: string; generated: string; def: string | null }>;
    const columns = info.filter((c) => c.generated !== "ALWAYS").map((c) => ({ name: c.name, type: postgresType(name, c.name, c.type) }));
    const sequenceColumn = info.find((c) => c.def?.startsWith("nextval("))?.name ?? null;
    const references = (
      (await db.all(`select distinct confrelid::regclass::text as t from pg_constraint where conrelid = ?::regclass and contype = 'f'`, [name])) as Array<{ t: string }>
    )
      .map((r) => r.t.replace(/^"|"$/g, ""))
      .filter((t) => t !== name);
    shapes.push({ name, columns, sequenceColumn, references });
  }
  return shapes;
}

function postgresType(table: string, column: string, type: string): ColumnType {
  if (type === "integer" || type === "bigint" || type === "smallint") return "integer";
  if (type === "text" || type === "character varying") return "text";
  if (type === "bytea") return "blob";
  if (type === "real" || type === "double precision") return "real";
  throw new Error(`${table}.${column} has the type ${type}, which export does not know how to move`);
}

/**
 * The tables with every table before those that reference it, so that rows are inserted after the
 * rows they point to (foreign keys are checked as rows go in on PostgreSQL). Ties by name, so the
 * order is the same on both dialects.
 */
export function dependencyOrder(tables: TableShape[]): TableShape[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const ordered: TableShape[] = [];
  const visit = (table: TableShape) => {
    if (done.has(table.name)) return;
    if (visiting.has(table.name)) throw new Error(`the foreign keys of ${table.name} form a cycle; export cannot order its tables`);
    visiting.add(table.name);
    for (const ref of [...table.references].sort()) {
      const target = byName.get(ref);
      if (target) visit(target);
    }
    visiting.delete(table.name);
    done.add(table.name);
    ordered.push(table);
  };
  for (const table of [...tables].sort((a, b) => a.name.localeCompare(b.name))) visit(table);
  return ordered;
}
