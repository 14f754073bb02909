// Prepared statements kept by SQL text. Kysely's SQLite driver prepares every statement anew on
// each query, and preparing cost more than executing for our short statements (13% of the
// request path in the profile). The same text always yields an equivalent statement and
// better-sqlite3 statements are reusable, so they are kept in a small LRU. Safe because a
// statement is never iterated while being reused.
import type SQLite from "better-sqlite3";

/** Most distinct SQL texts kept prepared; multi-row INSERTs of different sizes are distinct texts. */
const STATEMENT_CACHE_SIZE = 500;

export function statementCache(db: SQLite.Database): (text: string) => SQLite.Statement {
  const statements = new Map<string, SQLite.Statement>();
  return (text) => {
    let statement = statements.get(text);
    if (statement) {
      statements.delete(text);
    } else {
      statement = db.prepare(text);
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
    }
    statements.set(text, statement);
    return statement;
  };
}
