// The database connection: SQLite (embedded default) or PostgreSQL (DATABASE_URL), one Kysely
// query layer over both. Repositories take the `Db` they should run on, so the same method works
// inside or outside a transaction.
import SQLite from "better-sqlite3";
import { Kysely, Migrator, PostgresDialect, sql } from "./kysely.js";
import { namingClient } from "./pg-named-statements.js";
import { QueuedSqliteDialect } from "./sqlite-turns.js";
import { pgDriver } from "./pg-driver.js";
import { statementCache } from "./statement-cache.js";
import { WalSync } from "./wal-sync.js";
import { sqliteWatch, type SqliteWatch } from "./sqlite-watch.js";
import { SqliteCheckpointer } from "./sqlite-checkpointer.js";
import type { Database } from "./schema.js";
import { migrationProvider } from "./migrations.js";
import { databaseFile, ensureDataDir, ensurePrivateFile } from "./data-dir.js";

export type Dialect = "sqlite" | "postgres";
export type Db = Kysely<Database>;

export interface Store {
  readonly dialect: Dialect;
  /** For reads outside a transaction; every write goes through write() or writeGrouped(). */
  readonly db: Db;
  /**
   * A write transaction; on SQLite it takes the write lock at BEGIN (IMMEDIATE) so it never fails
   * half-way on lock upgrade. By default its commit is flushed to disk before it resolves.
   */
  write<T>(fn: (trx: Db) => Promise<T>, options?: WriteOptions): Promise<T>;
  /**
   * Runs `fn` in a transaction shared with other calls made in the same turn of the event loop,
   * so that N concurrent acceptances cost one commit (one fsync) instead of N. Each call is
   * isolated by a savepoint: one failing call rolls back only its own writes. The promise
   * settles after the shared commit is durable. On SQLite one group runs at a time (there is one
   * writer); on PostgreSQL several groups run at once on their own connections
   * (GROUPS_IN_FLIGHT_POSTGRES), as transactions of several processes do.
   */
  writeGrouped<T>(fn: (trx: Db) => Promise<T>): Promise<T>;
  /** SQLite only: row changes, other connections' commits and transaction starts, for in-memory copies of table data (sqlite-watch.ts). */
  readonly sqlite?: SqliteWatch;
  /** Applies the migrations not yet applied: all, or up to and including the one named (tests of a migration). */
  migrate(upTo?: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface WriteOptions {
  /**
   * "relaxed": the commit survives a crash of this process but may be lost if the machine itself
   * fails before the operating system writes it out (SQLite: no WAL fsync awaited; PostgreSQL:
   * synchronous_commit=off). For writes whose loss only means doing work again —
   * queue claims and delivery outcomes, where a lost outcome means one more attempt — never for
   * acceptance, which must be on disk before the client is answered.
   */
  durability?: "full" | "relaxed";
}

export interface StoreOptions {
  dataDir: string;
  databaseUrl: string | null;
  /** Size of the PostgreSQL pool. */
  poolSize?: number;
  /** PostgreSQL: send statements as named ones, prepared once per connection (pg-named-statements.ts). Default true. */
  namedStatements?: boolean;
}

export function openStore(options: StoreOptions): Store {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.poolSize ?? 10, { namedStatements: options.namedStatements ?? true });
  ensureDataDir(options.dataDir);
  return openSqlite(databaseFile(options.dataDir));
}

export function openSqlite(file: string, options: { lockWaitMs?: number } = {}): Store {
  // Owner-only before SQLite sees it: -wal and -shm take this file's mode (data-dir.ts).
  if (file !== ":memory:" && file !== "") ensurePrivateFile(file);
  const database = new SQLite(file);
  database.pragma("journal_mode = WAL");
  // NORMAL: COMMIT does not fsync here; durable writes await WalSync (wal-sync.ts), which
  // fsyncs the WAL off the event loop and gives the guarantee of FULL before they resolve.
  database.pragma("synchronous = NORMAL");
  // Statements other than a write transaction's BEGIN may still wait in SQLite's busy handler, as
  // long as the lock wait; in WAL mode they rarely have to (reads never wait for the writer).
  const lockWaitMs = options.lockWaitMs ?? LOCK_WAIT_MS;
  database.pragma(`busy_timeout = ${lockWaitMs}`);
  database.pragma("foreign_keys = ON");
  // Checkpoints (copying the WAL into the database file, with an fsync) run in a worker thread,
  // started a second after the first write (sqlite-checkpointer.ts); done here, on the committing
  // connection, they stalled the event loop for ~15% of the acceptance path. This connection still checkpoints by itself if the WAL grows past ~64 MB,
  // so a stuck worker cannot let it grow without bound, and the file is truncated back after.
  database.pragma("wal_autocheckpoint = 16000");
  database.pragma("journal_size_limit = 67108864");
  // SQLite statements run synchronously on this thread. A variant with the connection in a
  // worker thread was measured (see docs/benchmarks.md): batches were faster, but single
  // requests and the MTA, which make many small statements, were twice as slow, because every
  // statement became a message between threads.
  const prepare = statementCache(database);
  const db = new Kysely<Database>({ dialect: new QueuedSqliteDialect({ database: { close: () => database.close(), prepare } }) });
  const checkpointer = new SqliteCheckpointer(file, { intervalMs: CHECKPOINT_INTERVAL_MS });
  const wal = new WalSync(`${file}-wal`);
  const watch = sqliteWatch(database);
  const lock = writeLock(database, lockWaitMs);
  const write = async <T>(fn: (trx: Db) => Promise<T>, options: WriteOptions = {}): Promise<T> => {
    let waited: ReturnType<typeof lock.waiting> | null = null;
    for (;;) {
      const outcome = await db.connection().execute(async (conn) => {
        // Another connection holds the write lock: give the connection's turn back, so this
        // process's reads go on meanwhile, and try again after a pause (writeLock, below).
        const busy = lock.tryBegin();
        if (busy !== null) return { busy };
        watch.began();
        try {
          const value = await fn(conn);
          watch.committing();
          await sql`commit`.execute(conn);
          watch.ended(true);
          checkpointer.wrote();
          return { value, busy: null };
        } catch (err) {
          await sql`rollback`.execute(conn).catch(() => undefined);
          watch.ended(false);
          throw err;
        }
      });
      if (outcome.busy === null) {
        // Outside the connection lock: other transactions commit while this one's fsync runs.
        if (options.durability !== "relaxed") await wal.sync();
        return outcome.value;
      }
      await (waited ??= lock.waiting()).pause(outcome.busy);
    }
  };
  const store = makeStore(
    "sqlite",
    db,
    write,
    async () => {
      await wal.close();
      await checkpointer.stop();
    },
    1,
    () => watch.savepointRolledBack(),
  );
  return { ...store, sqlite: watch };
}

const CHECKPOINT_INTERVAL_MS = 200;

/** Longest a write waits for another connection's write lock before it fails with SQLITE_BUSY (tests shorten it). */
const LOCK_WAIT_MS = 10_000;
/** Pauses between tries for the write lock: short at first (most holders are quick), then steady. */
const LOCK_PAUSES_MS = [0, 1, 2, 4, 8];
const LOCK_PAUSE_MOST_MS = 10;

/**
 * BEGIN IMMEDIATE without SQLite's busy handler. When another connection (a CLI command, an
 * import, another process or thread on the same file) holds the write lock, the handler sleeps
 * on the calling thread until the lock is free: this process's event loop stood still for as long
 * as the other transaction lasted, so no request was read, no timeout fired and no read was
 * served meanwhile. Here BEGIN fails at once instead (busy_timeout 0 for that one statement), and
 * the write tries again after a pause on a timer, so everything else goes on while it waits.
 */
function writeLock(database: SQLite.Database, lockWaitMs: number) {
  // PRAGMA busy_timeout takes effect when it is prepared, and SQLite prepares such a statement
  // again at each later run, which is when a kept statement applies it: its first run applies
  // nothing. Each is run once here, after both are prepared (the wait last), so that every run
  // from the first write on applies its setting. database.pragma() would prepare a statement
  // object each time: 6.4 µs a pair against 1.8 (a loop of 100,000), on every write transaction.
  const noWait = database.prepare("pragma busy_timeout = 0");
  const wait = database.prepare(`pragma busy_timeout = ${lockWaitMs}`);
  noWait.run();
  wait.run();
  const begin = database.prepare("begin immediate");
  return {
    /** Begins a write transaction (null), or returns SQLite's error when another connection holds the write lock. */
    tryBegin(): Error | null {
      noWait.run();
      try {
        begin.run();
        return null;
      } catch (err) {
        if ((err as { code?: string }).code === "SQLITE_BUSY") return err as Error;
        throw err;
      } finally {
        wait.run();
      }
    },
    /** The pauses of one write's tries, from its first busy one; after the lock wait it fails as the busy handler did. */
    waiting() {
      const deadline = performance.now() + lockWaitMs;
      let tries = 0;
      return {
        /** Waits before the next try; rejects with `busy` (the last try's error) once the lock wait has passed. */
        pause(busy: Error): Promise<void> {
          if (performance.now() >= deadline) return Promise.reject(busy);
          const ms = LOCK_PAUSES_MS[tries++] ?? LOCK_PAUSE_MOST_MS;
          return new Promise((resolve) => (ms === 0 ? setImmediate(resolve) : setTimeout(resolve, ms)));
        },
      };
    },
  };
}

export function openPostgres(url: string, poolSize: number, options: { namedStatements?: boolean } = {}): Store {
  const pg = pgDriver();
  const pool = new pg.Pool({ connectionString: url, max: poolSize, ...(options.namedStatements !== false ? { Client: namingClient(pg) } : {}) });
  // An idle pooled connection that the server closes (restart, failover, admin) emits 'error' on
  // the pool; unhandled, that would crash the process. The pool discards such a client and the
  // next query opens a new one; queries in flight get their own errors.
  pool.on("error", () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const write = <T>(fn: (trx: Db) => Promise<T>, options: WriteOptions = {}): Promise<T> =>
    db.transaction().execute(async (trx) => {
      if (options.durability === "relaxed") await sql`set local synchronous_commit = off`.execute(trx);
      return fn(trx);
    });
  return makeStore("postgres", db, write, async () => undefined, Math.max(1, Math.min(GROUPS_IN_FLIGHT_POSTGRES, poolSize - 2)));
}

/**
 * Groups committing at once on PostgreSQL. One at a time made every call wait for the round trips
 * of all calls before it (each statement of a group is a round trip to the server), which held a
 * process to a few hundred single-event requests a second however idle the server was; several
 * groups overlap those waits, and the server's WAL writer still shares one flush among the
 * commits that arrive together. Two connections of the pool stay for everything else.
 */
export const GROUPS_IN_FLIGHT_POSTGRES = 4;

interface Pending {
  fn: (trx: Db) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

function makeStore(
  dialect: Dialect,
  db: Db,
  write: Store["write"],
  beforeClose: () => Promise<void> = async () => undefined,
  groupsInFlight = 1,
  savepointRolledBack: () => void = () => undefined,
): Store {
  let queue: Pending[] = [];
  let scheduled = false;
  // At most groupsInFlight groups at a time: while they commit, new calls gather for the next one.
  let inFlight = 0;
  let idle: (() => void) | null = null;

  const flush = async () => {
    const group = queue;
    queue = [];
    scheduled = false;
    const outcomes: Array<{ ok: boolean; value: unknown }> = [];
    try {
      await write(async (trx) => {
        // A lone call needs no savepoint: if it fails, the whole transaction is its own.
        if (group.length === 1) {
          try {
            outcomes.push({ ok: true, value: await group[0]!.fn(trx) });
          } catch (err) {
            outcomes.push({ ok: false, value: err });
            throw err;
          }
          return;
        }
        for (const [i, item] of group.entries()) {
          await sql.raw(`savepoint g${i}`).execute(trx);
          try {
            const value = await item.fn(trx);
            await sql.raw(`release savepoint g${i}`).execute(trx);
            outcomes.push({ ok: true, value });
          } catch (err) {
            await sql.raw(`rollback to savepoint g${i}`).execute(trx);
            await sql.raw(`release savepoint g${i}`).execute(trx);
            savepointRolledBack();
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

  // A group starts a turn of the event loop after its first call, so the calls of that turn join it.
  const schedule = () => {
    if (scheduled || inFlight >= groupsInFlight || queue.length === 0) return;
    scheduled = true;
    inFlight++;
    setImmediate(() => {
      flush().finally(() => {
        inFlight--;
        if (inFlight === 0 && queue.length === 0) idle?.();
        schedule();
      });
    });
  };

  const writeGrouped = <T>(fn: (trx: Db) => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      schedule();
    });

  return {
    dialect,
    db,
    write,
    writeGrouped,
    async migrate(upTo?: string) {
      // Names are ordered by code unit: they are numbered "001-..." with leading zeros, so this is
      // the order localeCompare (Kysely's default) gives, without building an ICU collator (~20 ms
      // of CPU at every start).
      const migrator = new Migrator({ db, provider: migrationProvider(dialect), nameComparator: (a, b) => (a < b ? -1 : a > b ? 1 : 0) });
      const { error, results } = upTo ? await migrator.migrateTo(upTo) : await migrator.migrateToLatest();
      if (error) {
        const failed = results?.find((r) => r.status === "Error");
        throw new Error(`migration ${failed?.migrationName ?? "?"} failed: ${(error as Error).message ?? String(error)}`);
      }
    },
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      if (inFlight > 0 || queue.length > 0) await new Promise<void>((resolve) => (idle = resolve));
      await beforeClose();
      await db.destroy();
    },
  };
}
