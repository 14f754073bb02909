// posthorn backup FILE: an online, consistent copy of the SQLite database while Posthorn runs.
//
// SQLite's online backup API (sqlite3_backup_*, through better-sqlite3's db.backup()) copies the
// database page by page through a connection of its own, so it reads what that connection sees:
// the database file plus every committed frame still in the write-ahead log. Copying posthorn.db
// with cp would miss the WAL's frames (up to ~64 MB of recent mail, store.ts) or catch the file
// mid-checkpoint. The copy is made in ONE step (all pages, one read transaction): the API restarts
// a step-wise copy whenever another process writes, which a busy server does all the time, so
// small steps might never finish. In WAL mode that read transaction blocks no writer; it only keeps
// checkpoints from passing it for the seconds the copy takes. The alternative `VACUUM INTO` is as
// consistent but rewrites every page and index, which costs more CPU on a running server.
//
// PostgreSQL has its own tool for this: the command refuses and prints the pg_dump line
// (docs/operations.md), rather than half-doing a dump through the query layer.
import { existsSync, renameSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import SQLite from "better-sqlite3";
import { databaseFile } from "../store/data-dir.js";
import { ENCRYPTION_KEY_FILE } from "../app/encryption-key.js";
import { CommandFailed, type Command } from "./command.js";
import { UsageError } from "./usage.js";
import { checkNewFile } from "./new-file.js";

/** sqlite3_backup_step copies every remaining page when asked for this many (its int's maximum). */
const ALL_PAGES = 0x7fffffff;
/** How long the copy waits for a writer's lock on the source before giving up, in ms. */
const BUSY_TIMEOUT_MS = 10_000;

export const PG_DUMP_HINT = 'pg_dump --format=custom --file=posthorn.dump "$DATABASE_URL"';

export const backup: Command = async ({ args, config, out }) => {
  if (args.length !== 1 || !args[0]) throw new UsageError("backup takes one argument: the file to write", "backup");
  if (config.databaseUrl) {
    throw new CommandFailed(`backup copies the embedded SQLite database; this installation uses PostgreSQL (DATABASE_URL). Back it up with PostgreSQL's own tool: ${PG_DUMP_HINT} (docs/operations.md)`);
  }
  const source = databaseFile(config.dataDir);
  if (!existsSync(source)) throw new CommandFailed(`no Posthorn database in ${resolve(config.dataDir)} (set POSTHORN_DATA_DIR)`);
  const result = await backupSqlite(source, resolve(args[0]));
  out(`backed up ${source} to ${result.file} (${result.pages} pages, ${result.bytes} bytes)\n`);
  // The copy is only half a backup without the key that sealed its DKIM keys and signs its VERP
  // addresses: said every time, as the operator scripting this reads it once.
  const keyFile = join(resolve(config.dataDir), ENCRYPTION_KEY_FILE);
  if (!config.encryptionKey && existsSync(keyFile)) out(`keep ${keyFile} with it: the copy's DKIM keys are sealed with that key\n`);
  return 0;
};

export interface BackupResult {
  file: string;
  pages: number;
  bytes: number;
}

/**
 * Copies the SQLite database `source` to `target`, which must not exist (a backup never overwrites
 * a file: the one it would replace may be the only good copy). The pages go to a temporary file
 * beside the target, renamed into place once complete, so an interrupted backup leaves no file
 * that looks like a whole one.
 */
export async function backupSqlite(source: string, target: string): Promise<BackupResult> {
  checkTarget(source, target);
  const partial = `${target}.partial-${process.pid}`;
  // Not readonly: a read-only connection cannot create the -shm a WAL database needs when no
  // other process has it open. Nothing is written through it (no pragma that changes the file).
  const db = new SQLite(source, { fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const progress = await db.backup(partial, { progress: () => ALL_PAGES });
    renameSync(partial, target);
    return { file: target, pages: progress.totalPages, bytes: statSync(target).size };
  } catch (err) {
    rmSync(partial, { force: true });
    throw err instanceof CommandFailed ? err : new CommandFailed(`backup to ${target} failed: ${(err as Error).message}`);
  } finally {
    db.close();
  }
}

/** Every reason the target cannot be written, found before a page is copied, in the operator's words. */
function checkTarget(source: string, target: string): void {
  if (target === source || target.startsWith(`${source}-`)) throw new CommandFailed(`${target} is the live database (or its WAL); choose a file outside it`);
  checkNewFile(target, "a backup");
}
