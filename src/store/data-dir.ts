// The data directory holds every message (posthorn.db and SQLite's -wal and -shm beside it), the
// key that seals DKIM keys and the generated TLS key: nobody but the owner may read any of it.
//
// Modes are set explicitly, whatever the umask: a directory we create is chmod'ed to 0700 and the
// database file is created 0600 before SQLite opens it. SQLite (os_unix.c, findCreateFileMode and
// robust_open) creates -wal and -shm with the database file's own mode and forces it with fchmod,
// so they follow at 0600 without our watching for them. The alternative — chmod after SQLite has
// made the files — would leave a window in which they are readable, and would have to catch every
// later re-creation of -wal. main.ts also sets the umask to 077 for the whole process, a net for
// files written by code that passes no mode (the generated TLS certificate, temporary files).
//
// What already exists is left as the operator made it: a data directory they created with a wider
// mode, or an older installation's 0644 database, is reported (looseDataPaths, logged as a warning
// at start) rather than changed behind their back — they may have a backup user in the group.
import { chmodSync, closeSync, existsSync, fchmodSync, mkdirSync, openSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

/** Owner only: read, write, search. */
export const DATA_DIR_MODE = 0o700;
/** Owner only: read, write. */
export const DATA_FILE_MODE = 0o600;
export const DATABASE_FILE = "posthorn.db";

/** The SQLite database file of a data directory, as an absolute path. */
export function databaseFile(dataDir: string): string {
  return join(resolve(dataDir), DATABASE_FILE);
}

/** Creates the data directory (and its parents) owner-only when it does not exist; an existing one is left as it is. */
export function ensureDataDir(dataDir: string): void {
  const dir = resolve(dataDir);
  // mkdirSync returns the first directory it created, undefined when the whole path existed.
  const created = mkdirSync(dir, { recursive: true, mode: DATA_DIR_MODE });
  // The mode given to mkdir is narrowed by the umask; chmod makes it exact.
  if (created !== undefined) chmodSync(dir, DATA_DIR_MODE);
}

/** Creates an empty owner-only file when none exists (an empty file is a valid, empty SQLite database). */
export function ensurePrivateFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, "wx", DATA_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return;
    throw err;
  }
  try {
    fchmodSync(fd, DATA_FILE_MODE);
  } finally {
    closeSync(fd);
  }
}

export interface LoosePath {
  path: string;
  /** The permission bits, e.g. 0o755. */
  mode: number;
}

/** The data directory and database files that group or others may access (none when all are owner-only or absent). */
export function looseDataPaths(dataDir: string): LoosePath[] {
  const dir = resolve(dataDir);
  const file = databaseFile(dir);
  const loose: LoosePath[] = [];
  for (const path of [dir, file, `${file}-wal`, `${file}-shm`]) {
    if (!existsSync(path)) continue;
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) loose.push({ path, mode });
  }
  return loose;
}
