// Migrated empty stores to copy, one per set of migrations, shared by every test file: a SQLite
// file in the temporary directory and a PostgreSQL template database on the test server. Copying
// one costs a file copy (SQLite) or CREATE DATABASE ... TEMPLATE (~1 s on PostgreSQL) instead of
// running every migration again (~0.6 s and ~3 s).
//
// Each is named by a hash of the compiled migrations, so a changed or added migration makes a new
// one, and worktrees with different migrations can share one server without seeing each other's.
// They are built once under a lock (PostgreSQL: an advisory lock; SQLite: a directory renamed into
// place whole), so test files starting together neither build twice nor copy a half-built one.
// Old ones are left behind on purpose: another worktree may still be copying its own; they are
// small (about 10 MB each) and named posthorn_tpl_* / posthorn-test-template-*, for a cleanup by hand.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { openStore } from "../../src/store/store.js";
import { databaseFile } from "../../src/store/data-dir.js";

/** The compiled migrations and the code that runs them, hashed: what a migrated store depends on. */
function migrationsHash(): string {
  const storeDir = fileURLToPath(new URL("../../src/store/", import.meta.url));
  const files = [join(storeDir, "migrations.js"), join(storeDir, "store.js"), ...readdirSync(join(storeDir, "migrations")).filter((f) => f.endsWith(".js") && !f.endsWith(".test.js")).sort().map((f) => join(storeDir, "migrations", f))];
  const hash = createHash("sha256");
  for (const file of files) hash.update(file.slice(storeDir.length)).update(readFileSync(file));
  return hash.digest("hex").slice(0, 16);
}

let sqlite: Promise<string> | null = null;

/** The path of a migrated, closed SQLite database file to copy. */
export function sqliteTemplate(): Promise<string> {
  sqlite ??= (async () => {
    const dir = join(tmpdir(), `posthorn-test-template-${migrationsHash()}`);
    if (existsSync(databaseFile(dir))) return databaseFile(dir);
    const build = mkdtempSync(join(tmpdir(), "posthorn-test-template-build-"));
    const store = openStore({ dataDir: build, databaseUrl: null });
    await store.migrate();
    await store.close();
    try {
      renameSync(build, dir);
    } catch (err) {
      // Another test file put its copy in place first: the same migrations, so use that one.
      if (!existsSync(databaseFile(dir))) throw err;
      rmSync(build, { recursive: true, force: true });
    }
    return databaseFile(dir);
  })();
  return sqlite;
}

/**
 * Puts a copy of the migrated SQLite template in `dataDir` (empty), so that a store or server
 * opening it finds every migration applied, as it would after its own first start.
 */
export async function seedSqliteDataDir(dataDir: string): Promise<void> {
  const template = await sqliteTemplate();
  copyFileSync(template, databaseFile(dataDir));
  if (existsSync(`${template}-wal`)) copyFileSync(`${template}-wal`, `${databaseFile(dataDir)}-wal`);
}

const postgres = new Map<string, Promise<string>>();
/** Any number: the advisory lock under which test files build the PostgreSQL template. */
const TEMPLATE_LOCK = 2_026_120_608;

/** The name of a migrated template database on the server of `serverUrl` (built when missing). */
export function postgresTemplate(serverUrl: string): Promise<string> {
  let template = postgres.get(serverUrl);
  if (!template) {
    template = buildPostgresTemplate(serverUrl);
    postgres.set(serverUrl, template);
  }
  return template;
}

async function buildPostgresTemplate(serverUrl: string): Promise<string> {
  const name = `posthorn_tpl_${migrationsHash()}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query("select pg_advisory_lock($1)", [TEMPLATE_LOCK]);
    const exists = await admin.query("select 1 from pg_database where datname = $1", [name]);
    if (exists.rowCount === 0) {
      const building = `${name}_build`;
      await admin.query(`drop database if exists ${building} with (force)`);
      await admin.query(`create database ${building}`);
      const url = new URL(serverUrl);
      url.pathname = `/${building}`;
      const store = openStore({ dataDir: "", databaseUrl: url.toString() });
      await store.migrate();
      await store.close();
      // The pool's connections may take a moment to leave the server; a rename needs none left.
      for (let attempt = 0; ; attempt += 1) {
        try {
          await admin.query(`alter database ${building} rename to ${name}`);
          break;
        } catch (err) {
          if (attempt >= 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      // No connections: CREATE DATABASE ... TEMPLATE fails while anyone is connected to the template.
      await admin.query(`alter database ${name} with is_template true allow_connections false`);
    }
  } finally {
    await admin.query("select pg_advisory_unlock($1)", [TEMPLATE_LOCK]).catch(() => undefined);
    await admin.end();
  }
  return name;
}
