// Durable commits without blocking the event loop. With synchronous=FULL, SQLite fsyncs the
// write-ahead log inside COMMIT, and better-sqlite3 runs COMMIT on this thread, so every fsync
// froze HTTP and SMTP for its duration (a third of the event loop under single-message load).
// Instead the connection runs with synchronous=NORMAL — COMMIT writes the WAL frames without
// syncing — and a caller that needs durability awaits sync(): an fdatasync of the WAL file on
// libuv's thread pool. Once it resolves, every frame committed before the call is on disk, which
// is what FULL guarantees. Concurrent callers share syncs: while one runs, later callers wait
// for the next, so N commits cost about one fsync (group commit).
//
// Why this is safe: in WAL mode a committed transaction is exactly its frames in the WAL, and
// recovery replays every complete, checksummed commit found there; the WAL is only reset for
// reuse after a checkpoint has copied its frames into the database file and synced that file
// (which SQLite does at NORMAL too), so a frame is never lost between our commit and our sync.
import { open, type FileHandle } from "node:fs/promises";

export class WalSync {
  private handle: Promise<FileHandle> | null = null;
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(private readonly walPath: string) {}

  /** Resolves once everything committed before the call is durable. */
  sync(): Promise<void> {
    if (!this.running) {
      this.running = this.fdatasync().finally(() => (this.running = null));
      return this.running;
    }
    // A sync is under way but may have started before our commit: wait for the one after it.
    this.next ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.sync();
      });
    return this.next;
  }

  async close(): Promise<void> {
    await this.running?.catch(() => undefined);
    await this.next?.catch(() => undefined);
    const handle = await this.handle?.catch(() => null);
    this.handle = null;
    await handle?.close();
  }

  private async fdatasync(): Promise<void> {
    // Opened on first use: the WAL file exists once the first transaction has been written. A
    // failed open is forgotten, so the next sync tries again.
    this.handle ??= open(this.walPath, "r+").catch((err: unknown) => {
      this.handle = null;
      throw err;
    });
    await (await this.handle).datasync();
  }
}
