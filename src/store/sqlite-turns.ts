// The turns of SQLite's one connection, first come first served. Kysely's SQLite driver hands the
// connection over with a mutex whose waiters all wake at each release, and all but one go back to
// waiting: n queries waiting cost n wake-ups per query, n² in all. 2,000 person lookups started
// at once took 20 s instead of 0.4 s (a journeys test), and a burst of concurrent requests on a
// busy server would pay the same. This queue in front of the driver's mutex wakes only the next
// waiter, so that mutex never has more than one.
import type { DatabaseConnection, Driver, SqliteDialectConfig } from "kysely";
import { SqliteDialect, SqliteDriver } from "./kysely.js";

/** A lock granted in the order asked; a release wakes one waiter. */
export class FifoLock {
  private readonly waiters: Array<() => void> = [];
  private head = 0;
  private held = false;

  acquire(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    if (this.head < this.waiters.length) {
      const next = this.waiters[this.head]!;
      this.waiters[this.head++] = undefined as never;
      // Compacted now and then rather than shifted each time (a shift moves every waiter).
      if (this.head > 1_024 && this.head * 2 > this.waiters.length) {
        this.waiters.splice(0, this.head);
        this.head = 0;
      }
      next();
      return;
    }
    this.held = false;
  }

  /** How many wait (for tests). */
  get waiting(): number {
    return this.waiters.length - this.head;
  }
}

class QueuedSqliteDriver extends SqliteDriver {
  private readonly turns = new FifoLock();

  override async acquireConnection(): Promise<DatabaseConnection> {
    await this.turns.acquire();
    try {
      return await super.acquireConnection();
    } catch (err) {
      this.turns.release();
      throw err;
    }
  }

  override async releaseConnection(): Promise<void> {
    try {
      await super.releaseConnection();
    } finally {
      this.turns.release();
    }
  }
}

/** Kysely's SQLite dialect with the connection's turns queued (see above). */
export class QueuedSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }

  override createDriver(): Driver {
    return new QueuedSqliteDriver(this.settings);
  }
}
