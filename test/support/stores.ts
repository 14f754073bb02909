// Stores to run a test against: SQLite always; PostgreSQL too when TEST_DATABASE_URL is set. Each
// PostgreSQL store gets a fresh database, created here and dropped on close, so test files can
// run in parallel against one server.
//
// A fresh store is a copy of a migrated template (migrated-templates.ts) rather than an empty
// database migrated again: the suite opens a few hundred stores, and running every migration
// took ~0.6 s a store on SQLite and ~3 s on PostgreSQL (a third of the suite's time went to
// it). A store opened `upTo` a migration is still migrated step by step.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { randomHex } from "../../src/shared/ids.js";
import { openStore, type Store } from "../../src/store/store.js";
import { postgresTemplate, seedSqliteDataDir } from "./migrated-templates.js";

export interface StoreTarget {
  name: "sqlite" | "postgres";
  /** Opens a new, migrated (up to `upTo`, or wholly), empty store; closing it removes its data. */
  open(upTo?: string): Promise<Store>;
}

export function storeTargets(): StoreTarget[] {
  const targets: StoreTarget[] = [{ name: "sqlite", open: openTempSqlite }];
  if (process.env.TEST_DATABASE_URL) targets.push({ name: "postgres", open: (upTo) => openTempPostgres(process.env.TEST_DATABASE_URL!, upTo) });
  return targets;
}

export async function openTempSqlite(upTo?: string): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), "posthorn-test-"));
  if (upTo === undefined) await seedSqliteDataDir(dir);
  const store = openStore({ dataDir: dir, databaseUrl: null });
  await store.migrate(upTo);
  const close = store.close.bind(store);
  return Object.assign(store, {
    close: async () => {
      await close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

/**
 * Creates a fresh database on the server of `serverUrl` and returns its URL: empty, or with
 * `migrated` a copy of the migrated template (what a server or store would make of an empty one).
 *
 * Its commits do not wait for PostgreSQL's WAL to reach the disk (synchronous_commit off for the
 * database) unless `durable`: the suite kills Posthorn's processes, never the PostgreSQL server,
 * so every test sees the same (a commit is as atomic and as visible), and the flushes were ~9%
 * of the time of the files that use PostgreSQL most. Benchmarks pass `durable`, so their figures
 * are what a server configured as shipped gives.
 */
export async function createTempDatabase(serverUrl: string, options: { migrated?: boolean; durable?: boolean } = {}): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `posthorn_t_${randomHex(6)}`;
  const template = options.migrated ? await postgresTemplate(serverUrl) : null;
  const space = testTablespace();
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}${template ? ` template ${template}` : ""}${space && !options.durable ? ` tablespace ${space}` : ""}`);
  if (!options.durable) await admin.query(`alter database ${name} set synchronous_commit = off`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/**
 * The tablespace test databases go in (TEST_DATABASE_TABLESPACE), or null for the server's default.
 * CI makes one on /dev/shm when it runs as root beside the server (.ci/run): a test database is a
 * copy of a template of ~660 files, the suite makes and drops ~140 of them, and on ext4 making
 * files while others are being deleted cost PostgreSQL's backends ~120 s of CPU a run in the
 * kernel's inode allocator (measured with perf: find_inode_bit and recently_deleted under
 * CREATE DATABASE). Nothing lasting lives there: each database is dropped when its test ends, and
 * benchmarks (`durable`) stay on the server's own disk.
 */
function testTablespace(): string | null {
  const space = process.env.TEST_DATABASE_TABLESPACE;
  if (!space) return null;
  if (!/^[a-z_][a-z0-9_]*$/.test(space)) throw new Error(`TEST_DATABASE_TABLESPACE must be a plain lower-case identifier, not ${JSON.stringify(space)}`);
  return space;
}

async function openTempPostgres(serverUrl: string, upTo?: string): Promise<Store> {
  const { url, drop } = await createTempDatabase(serverUrl, { migrated: upTo === undefined });
  const store = openStore({ dataDir: "", databaseUrl: url });
  await store.migrate(upTo);
  const close = store.close.bind(store);
  return Object.assign(store, {
    close: async () => {
      await close();
      await drop();
    },
  });
}

export interface ServerDatabase {
  name: "sqlite" | "postgres";
  /** A fresh database for a test server: the environment that points the server at it, and how to drop it. */
  open(): Promise<{ env: Record<string, string>; drop: () => Promise<void> }>;
}

/** Databases for end-to-end tests that start a server: SQLite always, PostgreSQL when TEST_DATABASE_URL is set. */
export function serverDatabases(): ServerDatabase[] {
  const targets: ServerDatabase[] = [{ name: "sqlite", open: async () => ({ env: {}, drop: async () => undefined }) }];
  if (process.env.TEST_DATABASE_URL) {
    targets.push({
      name: "postgres",
      open: async () => {
        const db = await createTempDatabase(process.env.TEST_DATABASE_URL!, { migrated: true });
        return { env: { DATABASE_URL: db.url }, drop: db.drop };
      },
    });
  }
  return targets;
}
