// posthorn export FILE: the whole installation (every table of the schema, from one consistent
// snapshot) in one portable file that `posthorn import` loads into SQLite or PostgreSQL — how an
// installation moves between the stores or machines (docs/operations.md, "Moving to PostgreSQL").
// The format and its guarantees: src/store/transfer/README.md.
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { databaseFile } from "../store/data-dir.js";
import { exportInstallation } from "../store/transfer/export.js";
import { rawPostgres, rawSqlite } from "../store/transfer/raw-db.js";
import { CommandFailed, type Command } from "./command.js";
import { progressLine } from "./progress.js";
import { installationKeyCheck, knownMigrations } from "./transfer-files.js";
import { checkNewFile } from "./new-file.js";
import { UsageError } from "./usage.js";

export const exportCommand: Command = async ({ args, config, out }) => {
  if (args.length !== 1 || !args[0]) throw new UsageError("export takes one argument: the file to write", "export");
  const file = resolve(args[0]);
  checkNewFile(file, "export");
  const source = config.databaseUrl ? null : databaseFile(config.dataDir);
  if (source !== null && !existsSync(source)) throw new CommandFailed(`no Posthorn database in ${resolve(config.dataDir)} (set POSTHORN_DATA_DIR or DATABASE_URL)`);
  const db = await (source === null ? rawPostgres(config.databaseUrl!) : Promise.resolve().then(() => rawSqlite(source, { mustExist: true }))).catch((err: Error) => {
    throw new CommandFailed(`cannot open the database to export: ${err.message}`);
  });
  const progress = progressLine(process.stderr, "exported");
  const started = Date.now();
  try {
    const { header, footer } = await exportInstallation(db, file, { migrations: await knownMigrations(), keyCheck: installationKeyCheck(config), progress, now: new Date() });
    progress.done();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    out(`exported ${footer.rows} rows of ${footer.tables} tables from ${header.source} (migration ${header.migrations[header.migrations.length - 1]}) to ${file} (${statSync(file).size} bytes) in ${seconds} s\n`);
    if (header.keyCheck) out("the target needs this installation's encryption key (POSTHORN_ENCRYPTION_KEY or the data directory's encryption.key): DKIM keys in the file are sealed with it\n");
    return 0;
  } catch (err) {
    progress.done();
    throw err instanceof UsageError || err instanceof CommandFailed ? err : new CommandFailed(`export failed: ${(err as Error).message}`);
  } finally {
    await db.close();
  }
};
