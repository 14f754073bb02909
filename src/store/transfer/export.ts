// Writes a whole installation into one export file (format.ts), from ONE snapshot: a read
// transaction on SQLite (in WAL mode it blocks no writer; the pages it reads stay as they were
// when it began), REPEATABLE READ on PostgreSQL. Every count, sequence and row comes from that
// snapshot, so the file is a state the installation was in, even if a process still writes.
//
// The file is written beside its final name and renamed into place once whole and flushed: an
// interrupted export leaves no file that looks like one.
import { createWriteStream, fsyncSync, openSync, closeSync, renameSync, rmSync } from "node:fs";
import { once } from "node:events";
import { finished } from "node:stream/promises";
import { createHash } from "node:crypto";
import { createGzip } from "node:zlib";
import { FORMAT, FORMAT_VERSION, TableChecksum, encodeValue, type Footer, type Header, type TableHeader } from "./format.js";
import { describeTables, type TableShape } from "./tables.js";
import { appliedMigrations, checkSchema } from "./schema-version.js";
import { logTransforms } from "./event-log.js";
import type { RawDb } from "./raw-db.js";

/** Rows read from the database and written at a time. */
export const PAGE_ROWS = 2_000;
/**
 * Rows at a time for a table with a blob column: a message's MIME may be up to ~10 MB (attachments),
 * and 2,000 of them would be gigabytes in memory at once; 20 keep a page under ~200 MB at worst.
 */
export const BLOB_PAGE_ROWS = 20;
/** Text gathered before it is handed to gzip, in characters. */
const MOST_BUFFERED_CHARS = 4 * 1024 * 1024;

/** How many rows of `table` to read at a time. */
export function pageRows(columns: ReadonlyArray<{ type: string }>): number {
  return columns.some((c) => c.type === "blob") ? BLOB_PAGE_ROWS : PAGE_ROWS;
}

export interface TransferProgress {
  /** Called as a table's rows go by (after each page, and once at 0 when it starts). */
  table(name: string, done: number, total: number): void;
}

export interface ExportOptions {
  /** The migrations this Posthorn knows, in order: the source must have exactly these applied. */
  migrations: readonly string[];
  keyCheck: string | null;
  progress: TransferProgress;
  now: Date;
}

export async function exportInstallation(db: RawDb, file: string, options: ExportOptions): Promise<{ header: Header; footer: Footer }> {
  const partial = `${file}.partial-${process.pid}`;
  await db.run(db.dialect === "postgres" ? "begin isolation level repeatable read read only" : "begin");
  try {
    const migrations = await appliedMigrations(db);
    checkSchema(migrations, options.migrations, "source");
    const tables = await describeTables(db);
    const header: Header = {
      format: FORMAT,
      formatVersion: FORMAT_VERSION,
      createdAt: options.now.toISOString(),
      source: db.dialect,
      migrations,
      keyCheck: options.keyCheck,
      tables: await tableHeaders(db, tables),
    };
    const transforms = await logTransforms(db);
    const footer = await writeFile(partial, async (put) => {
      await put(`${JSON.stringify({ header })}\n`);
      let rows = 0;
      for (const [i, table] of tables.entries()) rows += await writeTable(db, table, header.tables[i]!, transforms.get(table.name)?.(table.columns.map((c) => c.name)), put, options.progress);
      return rows;
    });
    renameSync(partial, file);
    return { header, footer };
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  } finally {
    await db.run("rollback").catch(() => undefined);
  }
}

async function tableHeaders(db: RawDb, tables: TableShape[]): Promise<TableHeader[]> {
  const sequences = await sequenceValues(db, tables);
  const headers: TableHeader[] = [];
  for (const table of tables) {
    const [row] = await db.all(`select count(*) as n from ${rowsOf(db, table)}`);
    headers.push({ name: table.name, columns: table.columns, rows: Number(row!.n), sequence: table.sequenceColumn ? (sequences.get(table.name) ?? 0) : null });
  }
  return headers;
}

/** The last value each table's sequence handed out: a new row after the import must not reuse an id of a row deleted before the export. */
async function sequenceValues(db: RawDb, tables: TableShape[]): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  if (db.dialect === "sqlite") {
    for (const row of (await db.all("select name, seq from sqlite_sequence")) as Array<{ name: string; seq: number }>) values.set(row.name, Number(row.seq));
    return values;
  }
  for (const table of tables) {
    if (!table.sequenceColumn) continue;
    const [found] = (await db.all("select pg_get_serial_sequence(?, ?) as s", [table.name, table.sequenceColumn])) as Array<{ s: string | null }>;
    if (!found?.s) continue;
    const [seq] = (await db.all(`select last_value, is_called from ${found.s}`)) as Array<{ last_value: string; is_called: boolean }>;
    values.set(table.name, seq!.is_called ? Number(seq!.last_value) : 0);
  }
  return values;
}

/**
 * Where a table's rows are read from: the table, or for SQLite's de-duplication keys the table
 * with the keys of the events above the merge mark (src/people/README.md, "De-duplication keys on
 * SQLite"), each key at its newest sighting. The mark is not moved (tables.ts): the target's first
 * merge sets its own past the imported events, whose keys this puts in the table.
 */
function rowsOf(db: RawDb, table: TableShape): string {
  if (db.dialect !== "sqlite" || table.name !== "person_event_dedupe") return quote(table.name);
  return `(select workspace_id, dedupe_key, max(seen_at) as seen_at from (
      select workspace_id, dedupe_key, seen_at from person_event_dedupe
      union all
      select workspace_id, dedupe_key, received_at from person_events
        where dedupe_key is not null and id > coalesce((select merged_to from person_event_keys_state where id = 1), (select max(id) from person_events))
    ) group by workspace_id, dedupe_key) as ${quote(table.name)}`;
}

type Put = (text: string) => Promise<void>;
export type RowTransform = (row: unknown[]) => unknown[];

async function writeTable(db: RawDb, table: TableShape, header: TableHeader, transform: RowTransform | undefined, put: Put, progress: TransferProgress): Promise<number> {
  progress.table(table.name, 0, header.rows);
  await put(`${JSON.stringify({ table: table.name })}\n`);
  const checksum = new TableChecksum();
  const columns = table.columns.map((c) => quote(c.name)).join(", ");
  for await (const page of db.pages(`select ${columns} from ${rowsOf(db, table)}`, pageRows(table.columns))) {
    let text = "";
    for (const raw of page) {
      const row = transform ? transform(raw) : raw;
      const encoded = table.columns.map((c, i) => encodeValue(row[i], c.type, () => `${table.name}.${c.name} (row ${checksum.rows + 1})`));
      const line = JSON.stringify(encoded);
      checksum.add(line);
      text += `${line}\n`;
      if (text.length >= MOST_BUFFERED_CHARS) {
        await put(text);
        text = "";
      }
    }
    await put(text);
    progress.table(table.name, checksum.rows, header.rows);
  }
  // Read in the snapshot the count came from: a difference is a bug here, not a race.
  if (checksum.rows !== header.rows) throw new Error(`${table.name}: counted ${header.rows} rows but read ${checksum.rows}`);
  await put(`${JSON.stringify({ end: table.name, rows: checksum.rows, checksum: checksum.hex() })}\n`);
  return checksum.rows;
}

/** Streams lines through gzip into `path` (owner-only, new), with the footer and an fsync at the end. */
async function writeFile(path: string, body: (put: Put) => Promise<number>): Promise<Footer> {
  const output = createWriteStream(path, { flags: "wx", mode: 0o600 });
  const gzip = createGzip();
  gzip.pipe(output);
  const sha = createHash("sha256");
  let tables = 0;
  const put: Put = async (text) => {
    if (text.startsWith('{"end":')) tables++;
    sha.update(text);
    if (!gzip.write(text)) await once(gzip, "drain");
  };
  try {
    const rows = await body(put);
    const footer: Footer = { tables, rows, sha256: sha.digest("hex") };
    gzip.end(`${JSON.stringify({ footer })}\n`);
    await finished(output);
    const fd = openSync(path, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return footer;
  } catch (err) {
    gzip.destroy();
    output.destroy();
    throw err;
  }
}

export function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
