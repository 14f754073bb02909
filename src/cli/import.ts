// posthorn import FILE: loads an export (posthorn export) into the configured database, which must
// be empty: SQLite in POSTHORN_DATA_DIR (created and migrated when there is none) or the
// PostgreSQL database of DATABASE_URL (migrated here when it is not yet). All or nothing: the
// load, the sequences and the verification run in one transaction (src/store/transfer/import.ts),
// so a failure leaves the target empty; exit code 1 and one line saying why.
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { databaseFile } from "../store/data-dir.js";
import { openStore } from "../store/store.js";
import { importInstallation } from "../store/transfer/import.js";
import { rawPostgres, rawSqlite } from "../store/transfer/raw-db.js";
import { seededRows } from "../store/transfer/seeded.js";
import { CommandFailed, type Command } from "./command.js";
import { progressLine } from "./progress.js";
import { installationKeyCheck, knownMigrations } from "./transfer-files.js";
import { UsageError } from "./usage.js";
import type { Config } from "../config/config.schema.js";
import type { RawDb } from "../store/transfer/raw-db.js";

export const importCommand: Command = async ({ args, config, out }) => {
  if (args.length !== 1 || !args[0]) throw new UsageError("import takes one argument: the export file to load", "import");
  const file = resolve(args[0]);
  if (!existsSync(file)) throw new CommandFailed(`no file ${file}`);
  if (!statSync(file).isFile()) throw new CommandFailed(`${file} is not a file`);
  // The target as `posthorn migrate` leaves it: an import never meets a half-made schema.
  const db = await openTarget(config).catch((err: Error) => {
    throw new CommandFailed(`cannot open the target database, nothing was imported: ${err.message}`);
  });
  const progress = progressLine(process.stderr, "loaded");
  const started = Date.now();
  try {
    const result = await importInstallation(db, file, {
      migrations: await knownMigrations(),
      keyCheck: installationKeyCheck(config),
      seeded: await seededRows(),
      progress,
    });
    progress.done();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const target = config.databaseUrl ? "postgres" : `sqlite ${databaseFile(config.dataDir)}`;
    out(`imported ${result.footer.rows} rows of ${result.footer.tables} tables from ${result.header.source} (exported ${result.header.createdAt}) into ${target} in ${seconds} s\n`);
    out("verified: every table's row count and checksum in the target match the file\n");
    for (const table of result.tables) if (table.rows > 0) out(`  ${table.name.padEnd(36)} ${String(table.rows).padStart(10)}\n`);
    return 0;
  } catch (err) {
    progress.done();
    throw err instanceof UsageError || err instanceof CommandFailed ? err : new CommandFailed(`import failed, nothing was imported: ${(err as Error).message}`);
  } finally {
    await db.close();
  }
};

/** The target migrated as `posthorn migrate` leaves it (created when SQLite has none), then opened for the load. */
async function openTarget(config: Config): Promise<RawDb> {
  const store = openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, namedStatements: config.databaseNamedStatements, poolSize: 2 });
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
  return config.databaseUrl ? rawPostgres(config.databaseUrl) : rawSqlite(databaseFile(config.dataDir), { mustExist: true });
}
