// What a failed statement's error says, for the two databases: better-sqlite3 and node-postgres
// spell the same condition differently (SQLite's extended result code, PostgreSQL's SQLSTATE).

function codeOf(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

/** A unique constraint refused the row. */
export function isUniqueViolation(err: unknown): boolean {
  const code = codeOf(err);
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "23505";
}

/**
 * PostgreSQL aborted the transaction because of another one (a deadlock, 40P01, or a
 * serialization failure, 40001), not because of anything in it: the same transaction run again
 * may well commit. SQLite has one writer at a time and no such outcome.
 */
export function isLockConflict(err: unknown): boolean {
  const code = codeOf(err);
  return code === "40P01" || code === "40001";
}
