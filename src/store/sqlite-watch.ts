// What an in-memory copy of table data needs to stay true on SQLite (the people lookup cache,
// src/people/person-lookup-cache.ts): every row change this connection makes, as it is made;
// whether any other connection has committed since it last looked; when a write transaction
// begins, is about to commit and has ended; and a read it can make at those moments. PostgreSQL
// has no such copies: several processes write there, and none could see the others' changes.
//
// Row changes come from TEMP triggers calling a JavaScript function: they exist on this
// connection only, so another process's connection to the same file (a CLI command) neither has
// them nor needs the function, and they see every write path, raw SQL and cascades included.
import type SQLite from "better-sqlite3";

export interface SqliteWatch {
  /**
   * Calls `listener` with the values of `columns` of each row this connection inserts, updates
   * (the old row, then the new) or deletes in `table`, from inside the statement, whether or not
   * its transaction then commits. Must be called outside a transaction: a trigger created in one
   * would go with its rollback.
   */
  rows(table: string, columns: readonly string[], listener: (values: unknown[]) => void): void;
  /** Changes whenever another connection has committed to the database since it was last read (PRAGMA data_version). */
  dataVersion(): number;
  /** Calls `listener` each time this connection begins a write transaction (store.write, writeGrouped). */
  onBegin(listener: () => void): void;
  /** Calls `listener` inside each write transaction just before its COMMIT, when every savepoint has been released or rolled back. */
  onCommitting(listener: () => void): void;
  /** Calls `listener` after each write transaction has committed (true) or rolled back (false). */
  onEnded(listener: (committed: boolean) => void): void;
  /**
   * Calls `listener` when one call of a shared group commit has been rolled back to its savepoint
   * (store.ts, writeGrouped): the transaction goes on, and may commit, without that call's writes.
   */
  onSavepointRolledBack(listener: () => void): void;
  /**
   * A read of one value, run on this thread at once: for the moments above, where an awaited query
   * could run after another transaction had begun. The statement is prepared here, once.
   */
  value(sql: string): () => unknown;
}

let watches = 0;

/** What the store calls at each write transaction's edges. */
export interface SqliteWatchEdges {
  began(): void;
  committing(): void;
  ended(committed: boolean): void;
  savepointRolledBack(): void;
}

export function sqliteWatch(database: SQLite.Database): SqliteWatch & SqliteWatchEdges {
  const beginListeners: Array<() => void> = [];
  const committingListeners: Array<() => void> = [];
  const endedListeners: Array<(committed: boolean) => void> = [];
  const savepointListeners: Array<() => void> = [];
  const version = database.prepare("pragma data_version").pluck();
  return {
    rows(table, columns, listener) {
      if (database.inTransaction) throw new Error("sqliteWatch.rows: called inside a transaction");
      const name = `posthorn_watch_${++watches}`;
      database.function(name, { varargs: true, deterministic: false }, (...values: unknown[]) => {
        listener(values);
        return null;
      });
      const of = (row: "new" | "old") => columns.map((c) => `${row}."${c}"`).join(", ");
      database.exec(
        `create temp trigger ${name}_insert after insert on main."${table}" begin select ${name}(${of("new")}); end;
         create temp trigger ${name}_update after update on main."${table}" begin select ${name}(${of("old")}); select ${name}(${of("new")}); end;
         create temp trigger ${name}_delete after delete on main."${table}" begin select ${name}(${of("old")}); end;`,
      );
    },
    dataVersion: () => version.get() as number,
    onBegin(listener) {
      beginListeners.push(listener);
    },
    onCommitting(listener) {
      committingListeners.push(listener);
    },
    onEnded(listener) {
      endedListeners.push(listener);
    },
    onSavepointRolledBack(listener) {
      savepointListeners.push(listener);
    },
    value(sql) {
      const statement = database.prepare(sql).pluck();
      return () => statement.get();
    },
    began() {
      for (const listener of beginListeners) listener();
    },
    committing() {
      for (const listener of committingListeners) listener();
    },
    ended(committed) {
      for (const listener of endedListeners) listener(committed);
    },
    savepointRolledBack() {
      for (const listener of savepointListeners) listener();
    },
  };
}
