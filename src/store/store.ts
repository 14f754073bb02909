// The database connection: SQLite (embedded default) or PostgreSQL (DATABASE_URL), one Kysely
// query layer over both. Repositories take the `Db` they should run on, so the same method works
// inside or outside a transaction.
import { mkdirSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { join, resolve } from "node:path";
import SQLite from "better-sqlite3";
import pg from "pg";
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type SqliteDatabase } from "kysely";
import type { Database } from "./schema.js";
import { migrationProvider } from "./migrations.js";

export type Dialect = "sqlite" | "postgres";
export type Db = Kysely<Database>;

export interface Store {
  readonly dialect: Dialect;
  readonly db: Db;
  /** A write transaction; on SQLite it takes the write lock at BEGIN (IMMEDIATE) so it never fails half-way on lock upgrade. */
  write<T>(fn: (trx: Db) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` in a transaction shared with other calls made in the same turn of the event loop,
   * so that N concurrent acceptances cost one commit (one fsync) instead of N. Each call is
   * isolated by a savepoint: one failing call rolls back only its own writes. The promise
   * settles after the shared commit is durable.
   */
  writeGrouped<T>(fn: (trx: Db) => Promise<T>): Promise<T>;
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreOptions {
  dataDir: string;
  databaseUrl: string | null;
  /** Size of the PostgreSQL pool. */
  poolSize?: number;
}

// BIGINT (int8) arrives from pg as a string to protect values above 2^53; our BIGINTs are
// millisecond timestamps and row ids, far below that, so numbers are safe and simpler.
pg.types.setTypeParser(20, (v) => Number(v));

export function openStore(options: StoreOptions): Store {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.poolSize ?? 10);
  mkdirSync(options.dataDir, { recursive: true });
  return openSqlite(join(resolve(options.dataDir), "posthorn.db"));
}

export function openSqlite(file: string): Store {
  const database = new SQLite(file);
  database.pragma("journal_mode = WAL");
  // FULL: every commit is fsynced before it returns, so an acceptance answered 200 survives a
  // power cut. NORMAL would be faster but may lose the last commits in WAL mode.
  database.pragma("synchronous = FULL");
  database.pragma("busy_timeout = 10000");
  database.pragma("foreign_keys = ON");
  // Checkpoints (copying the WAL into the database file, with an fsync) run in a worker thread;
  // done here, on the committing connection, they stalled the event loop for ~15% of the
  // acceptance path. This connection still checkpoints by itself if the WAL grows past ~64 MB,
  // so a stuck worker cannot let it grow without bound, and the file is truncated back after.
  database.pragma("wal_autocheckpoint = 16000");
  database.pragma("journal_size_limit = 67108864");
  const checkpointer = new Worker(new URL("./sqlite-checkpoint.worker.js", import.meta.url), {
    workerData: { file, intervalMs: CHECKPOINT_INTERVAL_MS },
  });
  checkpointer.unref();
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
  const write = async <T>(fn: (trx: Db) => Promise<T>): Promise<T> =>
    db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (err) {
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw err;
      }
    });
  const stopCheckpointer = () =>
    new Promise<void>((resolve) => {
      checkpointer.once("message", () => resolve());
      checkpointer.once("exit", () => resolve());
      checkpointer.postMessage("stop");
    }).then(() => checkpointer.terminate().then(() => undefined));
  return makeStore("sqlite", db, write, stopCheckpointer);
}

const CHECKPOINT_INTERVAL_MS = 200;

/** Most distinct SQL texts kept prepared; multi-row INSERTs of different sizes are distinct texts. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely's SQLite driver prepares every statement anew on each query; preparing cost more than
 * executing for our short statements (13% of the request path in the profile). The same SQL text
 * always yields an equivalent statement, and better-sqlite3 statements are reusable, so they are
 * kept in a small LRU. Safe because we never stream (iterate) a statement while reusing it.
 */
function withStatementCache(database: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => database.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (statement) {
        cache.delete(text);
      } else {
        statement = database.prepare(text);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      cache.set(text, statement);
      return statement;
    },
  };
}

export function openPostgres(url: string, poolSize: number): Store {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle pooled connection that the server closes (restart, failover, admin) emits 'error' on
  // the pool; unhandled, that would crash the process. The pool discards such a client and the
  // next query opens a new one; queries in flight get their own errors.
  pool.on("error", () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const write = <T>(fn: (trx: Db) => Promise<T>): Promise<T> => db.transaction().execute(fn);
  return makeStore("postgres", db, write);
}

interface Pending {
  fn: (trx: Db) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

function makeStore(dialect: Dialect, db: Db, write: Store["write"], beforeClose: () => Promise<void> = async () => undefined): Store {
  let queue: Pending[] = [];
  let scheduled = false;
  // One group at a time: while a group commits, new calls gather for the next one.
  let running: Promise<void> = Promise.resolve();

  const flush = async () => {
    const group = queue;
    queue = [];
    scheduled = false;
    const outcomes: Array<{ ok: boolean; value: unknown }> = [];
    try {
      await write(async (trx) => {
        for (const [i, item] of group.entries()) {
          await sql.raw(`savepoint g${i}`).execute(trx);
          try {
            const value = await item.fn(trx);
            await sql.raw(`release savepoint g${i}`).execute(trx);
            outcomes.push({ ok: true, value });
          } catch (err) {
            await sql.raw(`rollback to savepoint g${i}`).execute(trx);
            await sql.raw(`release savepoint g${i}`).execute(trx);
            outcomes.push({ ok: false, value: err });
          }
        }
      });
    } catch (err) {
      for (const item of group) item.reject(err);
      return;
    }
    group.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.value);
    });
  };

  const writeGrouped = <T>(fn: (trx: Db) => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!scheduled) {
        scheduled = true;
        running = running.then(() => new Promise<void>((r) => setImmediate(r))).then(flush);
      }
    });

  return {
    dialect,
    db,
    write,
    writeGrouped,
    async migrate() {
      const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
      const { error, results } = await migrator.migrateToLatest();
      if (error) {
        const failed = results?.find((r) => r.status === "Error");
        throw new Error(`migration ${failed?.migrationName ?? "?"} failed: ${(error as Error).message ?? String(error)}`);
      }
    },
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await running;
      await beforeClose();
      await db.destroy();
    },
  };
}
