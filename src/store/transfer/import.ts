// Loads an export file into an empty, migrated database in ONE transaction: the tables in
// dependency order, in multi-row inserts; then each sequence set past the largest id it handed out;
// then every table counted and summed again and compared with the file. Only then the commit: a
// file cut short, a damaged line, a row the target refuses or a count that does not match rolls
// everything back, and the target is as empty as it was (run the import again once the cause is
// fixed). One transaction costs the target a write-ahead log the size of the data until the
// commit (SQLite) — accepted for the guarantee that no half-imported installation can ever start.
import { BadExportFile, FORMAT, FORMAT_VERSION, TableChecksum, decodeValue, encodeValue, type Footer, type Header, type TableHeader } from "./format.js";
import { describeTables, type TableShape } from "./tables.js";
import { appliedMigrations, checkSchema } from "./schema-version.js";
import { readLines, type FileLine, type LineReader } from "./file-lines.js";
import { pageRows, quote, type TransferProgress } from "./export.js";
import type { RawDb } from "./raw-db.js";

/** The most values one insert binds: under SQLite's 32,766 and PostgreSQL's 65,535 parameters. */
const MOST_VALUES = 30_000;
/** The most rows one insert takes (rows of few columns would otherwise make statements of 10,000 rows). */
const MOST_ROWS = 500;
/** An insert goes once its rows' lines reach this many characters: 500 messages of ~10 MB each would not fit in memory. */
const MOST_BATCH_CHARS = 16 * 1024 * 1024;

export interface ImportOptions {
  migrations: readonly string[];
  /** The fingerprint of the target's encryption key (format.ts keyCheck), or null when it has none yet. */
  keyCheck: string | null;
  /** Each table's rows in a freshly migrated database, as encoded lines (rows the migrations insert). */
  seeded: ReadonlyMap<string, readonly string[]>;
  progress: TransferProgress;
}

export interface TableResult {
  name: string;
  rows: number;
  checksum: string;
}

/** The target holds something other than what the file says: counted or summed after loading. */
export class VerificationFailed extends Error {
  override name = "VerificationFailed";
}

export async function importInstallation(db: RawDb, file: string, options: ImportOptions): Promise<{ header: Header; footer: Footer; tables: TableResult[] }> {
  const reader = readLines(file);
  const header = await readHeader(reader, file);
  checkSchema(header.migrations, options.migrations, "export file");
  checkSchema(await appliedMigrations(db), options.migrations, "target");
  if (header.keyCheck !== null && header.keyCheck !== options.keyCheck) {
    throw new Error(
      "the target's encryption key is not the one the source used: DKIM keys in the file are sealed with that key. Give the target the same key (POSTHORN_ENCRYPTION_KEY, or the source's data directory's encryption.key copied into the target's)",
    );
  }
  const tables = await describeTables(db);
  checkTables(header, tables);
  await db.run(db.dialect === "sqlite" ? "begin immediate" : "begin");
  try {
    await checkEmpty(db, header, options.seeded);
    for (const table of header.tables) if (options.seeded.has(table.name)) await db.run(`delete from ${quote(table.name)}`);
    const fileSums = new Map<string, string>();
    for (const table of header.tables) fileSums.set(table.name, await loadTable(db, reader, table, options.progress));
    const footer = await readFooter(reader, header);
    await setSequences(db, header, tables);
    if (db.dialect === "sqlite") await checkForeignKeys(db);
    const results = await verify(db, header, fileSums);
    await db.run("commit");
    return { header, footer, tables: results };
  } catch (err) {
    await db.run("rollback").catch(() => undefined);
    throw err;
  } finally {
    await reader.lines.return(undefined);
  }
}

async function next(reader: LineReader, expecting: string): Promise<FileLine> {
  const line = await reader.lines.next();
  if (line.done) throw new BadExportFile(`the export file ends where ${expecting} should be: it is cut short`);
  return line.value;
}

async function readHeader(reader: LineReader, file: string): Promise<Header> {
  const line = await next(reader, "its header");
  const header = (line.value as { header?: Header } | null)?.header;
  if (!header || header.format !== FORMAT) throw new BadExportFile(`${file} is not a Posthorn export (its first line is no export header)`);
  if (header.formatVersion !== FORMAT_VERSION) {
    throw new BadExportFile(`${file} is in export format ${header.formatVersion}; this Posthorn reads format ${FORMAT_VERSION}: import it with the version that wrote it`);
  }
  return header;
}

/** The file's tables and columns must be the target's: the same migrations make the same tables on both dialects. */
function checkTables(header: Header, tables: TableShape[]): void {
  const problems: string[] = [];
  const target = new Map(tables.map((t) => [t.name, t]));
  for (const table of header.tables) {
    const shape = target.get(table.name);
    if (!shape) {
      problems.push(`table ${table.name} is not in the target`);
      continue;
    }
    const columns = new Map(shape.columns.map((c) => [c.name, c.type]));
    for (const column of table.columns) {
      const type = columns.get(column.name);
      if (type === undefined) problems.push(`${table.name}.${column.name} is not in the target`);
      else if (type !== column.type) problems.push(`${table.name}.${column.name} is ${column.type} in the file, ${type} in the target`);
    }
    for (const column of shape.columns) if (!table.columns.some((c) => c.name === column.name)) problems.push(`${table.name}.${column.name} is not in the file`);
  }
  for (const shape of tables) if (!header.tables.some((t) => t.name === shape.name)) problems.push(`table ${shape.name} is not in the file`);
  if (problems.length > 0) throw new Error(`the export file's tables do not match the target's: ${problems.join("; ")}`);
}

/** Refuses a target that holds anything a freshly migrated database does not. */
async function checkEmpty(db: RawDb, header: Header, seeded: ReadonlyMap<string, readonly string[]>): Promise<void> {
  const holding: string[] = [];
  for (const table of header.tables) {
    const [row] = await db.all(`select count(*) as n from ${quote(table.name)}`);
    const count = Number(row!.n);
    const fresh = seeded.get(table.name) ?? [];
    if (count !== fresh.length) {
      holding.push(`${table.name}: ${count} rows`);
      continue;
    }
    if (count === 0) continue;
    const lines: string[] = [];
    for await (const page of db.pages(selectText(table), pageRows(table.columns))) for (const raw of page) lines.push(encodeRow(table, raw));
    if (lines.sort().join("\n") !== [...fresh].sort().join("\n")) holding.push(`${table.name}: ${count} rows changed since it was migrated`);
  }
  if (holding.length > 0) {
    throw new Error(`the target already holds data (${holding.slice(0, 5).join(", ")}${holding.length > 5 ? ", …" : ""}); import loads into an empty database only: create a new one (or a new data directory) for it`);
  }
}

function selectText(table: TableHeader): string {
  return `select ${table.columns.map((c) => quote(c.name)).join(", ")} from ${quote(table.name)}`;
}

export function encodeRow(table: TableHeader, raw: unknown[]): string {
  return JSON.stringify(table.columns.map((c, i) => encodeValue(raw[i], c.type, () => `${table.name}.${c.name}`)));
}

/** Loads one table's section of the file; returns the checksum its rows summed to (checked against its end line). */
async function loadTable(db: RawDb, reader: LineReader, table: TableHeader, progress: TransferProgress): Promise<string> {
  const start = await next(reader, `the rows of ${table.name}`);
  if ((start.value as { table?: string } | null)?.table !== table.name) throw new BadExportFile(`line ${start.number}: expected the rows of ${table.name}; the file is damaged`);
  progress.table(table.name, 0, table.rows);
  const perInsert = Math.max(1, Math.min(MOST_ROWS, Math.floor(MOST_VALUES / table.columns.length)));
  const checksum = new TableChecksum();
  let batch: unknown[][] = [];
  let batchChars = 0;
  for (;;) {
    const line = await next(reader, `the rest of ${table.name}`);
    if (!Array.isArray(line.value)) {
      const end = line.value as { end?: string; rows?: number; checksum?: string } | null;
      if (end?.end !== table.name) throw new BadExportFile(`line ${line.number}: expected a row of ${table.name} or its end; the file is damaged`);
      if (batch.length > 0) await insert(db, table, batch);
      if (end.rows !== checksum.rows || end.checksum !== checksum.hex() || table.rows !== checksum.rows) {
        throw new BadExportFile(`${table.name}: the file holds ${checksum.rows} rows (sum ${checksum.hex()}) where it says ${end.rows} (header ${table.rows}, sum ${end.checksum}); the file is damaged`);
      }
      progress.table(table.name, checksum.rows, table.rows);
      return checksum.hex();
    }
    if (line.value.length !== table.columns.length) throw new BadExportFile(`line ${line.number}: a row of ${table.name} with ${line.value.length} values, not ${table.columns.length}`);
    checksum.add(line.text);
    batch.push(table.columns.map((c, i) => decodeValue((line.value as unknown[])[i], c.type, () => `line ${line.number}, ${table.name}.${c.name}`)));
    batchChars += line.text.length;
    if (batch.length >= perInsert || batchChars >= MOST_BATCH_CHARS) {
      await insert(db, table, batch);
      batch = [];
      batchChars = 0;
      progress.table(table.name, checksum.rows, table.rows);
    }
  }
}

async function insert(db: RawDb, table: TableHeader, rows: unknown[][]): Promise<void> {
  const tuple = `(${table.columns.map(() => "?").join(", ")})`;
  const text = `insert into ${quote(table.name)} (${table.columns.map((c) => quote(c.name)).join(", ")}) values ${Array.from({ length: rows.length }, () => tuple).join(", ")}`;
  await db.run(text, rows.flat());
}

async function readFooter(reader: LineReader, header: Header): Promise<Footer> {
  const line = await next(reader, "its footer");
  const footer = (line.value as { footer?: Footer } | null)?.footer;
  if (!footer) throw new BadExportFile(`line ${line.number}: expected the footer after the last table; the file is damaged`);
  if (footer.sha256 !== reader.digestSoFar() || footer.tables !== header.tables.length) throw new BadExportFile("the export file's checksum does not match its contents: the file is damaged");
  const after = await reader.lines.next();
  if (!after.done) throw new BadExportFile(`line ${after.value.number}: more after the footer; the file is damaged`);
  return footer;
}

/** Each sequence past both the largest id loaded and the last value the source had handed out. */
async function setSequences(db: RawDb, header: Header, tables: TableShape[]): Promise<void> {
  for (const shape of tables) {
    if (!shape.sequenceColumn) continue;
    const table = header.tables.find((t) => t.name === shape.name)!;
    const [row] = await db.all(`select coalesce(max(${quote(shape.sequenceColumn)}), 0) as n from ${quote(shape.name)}`);
    const last = Math.max(Number(row!.n), table.sequence ?? 0);
    if (db.dialect === "sqlite") {
      await db.run("delete from sqlite_sequence where name = ?", [shape.name]);
      if (last > 0) await db.run("insert into sqlite_sequence (name, seq) values (?, ?)", [shape.name, last]);
    } else {
      // setval(…, 1, false): the next value is 1, as in a new table.
      await db.run("select setval(pg_get_serial_sequence(?, ?), ?, ?)", [shape.name, shape.sequenceColumn, Math.max(last, 1), last > 0]);
    }
  }
}

/** SQLite loads with foreign keys off (raw-db.ts); every reference is checked here, once. */
async function checkForeignKeys(db: RawDb): Promise<void> {
  const broken = (await db.all("select \"table\" as t, parent as p from pragma_foreign_key_check limit 5")) as Array<{ t: string; p: string }>;
  if (broken.length > 0) throw new VerificationFailed(`rows that reference missing rows: ${broken.map((b) => `${b.t} → ${b.p}`).join(", ")}`);
}

/** Every table counted and summed as the target now holds it, against the file. */
async function verify(db: RawDb, header: Header, fileSums: Map<string, string>): Promise<TableResult[]> {
  const results: TableResult[] = [];
  const mismatches: string[] = [];
  for (const table of header.tables) {
    const checksum = new TableChecksum();
    for await (const page of db.pages(selectText(table), pageRows(table.columns))) for (const raw of page) checksum.add(encodeRow(table, raw));
    const [row] = await db.all(`select count(*) as n from ${quote(table.name)}`);
    const counted = Number(row!.n);
    if (counted !== table.rows || checksum.hex() !== fileSums.get(table.name)) {
      mismatches.push(`${table.name}: ${counted} rows (sum ${checksum.hex()}), the file ${table.rows} (sum ${fileSums.get(table.name)})`);
    }
    results.push({ name: table.name, rows: counted, checksum: checksum.hex() });
  }
  if (mismatches.length > 0) throw new VerificationFailed(`the target does not hold what the file does, nothing was imported: ${mismatches.join("; ")}`);
  return results;
}
