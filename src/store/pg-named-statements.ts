// Named (prepared) statements on PostgreSQL. Kysely sends every query as an unnamed statement, so
// the server parses, analyses and plans its text at every execution. Posthorn runs a few hundred
// distinct texts over and over; naming each text once lets every connection parse it once and run
// it many times. `npm run bench:pg-statements` (the MTA's cycle for one delivery): 1,145 µs of the
// server's CPU a cycle unnamed, 430 µs named (docs/benchmarks.md).
//
// What a named statement changes, and why it is safe here:
// - After five runs the server may keep one generic plan for all parameter values. A generic plan
//   cannot use a partial index whose condition a parameter decides; the queries that rely on one
//   already spell its condition literally, because SQLite's cached statements have the same limit
//   (deliveries.repository.ts PENDING_LITERALLY, activity.repository.ts OUTCOME_CONDITION), and
//   the server keeps planning per run when the generic plan's estimate is worse.
// - A statement prepared before another process's migration added a column to a table it reads
//   with `select *` fails once with "cached plan must not change result type". The text is then
//   given a new name, so every connection prepares it afresh, and a statement outside a
//   transaction is run again at once (it changed nothing); inside one, the transaction fails as it
//   would on any conflict.
// - Only texts with parameters are named (a text without any is a migration's script, BEGIN or
//   COMMIT, run by the simple protocol that allows several statements in one text), at most
//   MOST_PARAMETERS of them (a multi-row INSERT's text differs with its row count: naming each would
//   fill the server's memory with statements run once), and at most MOST_NAMED texts a process.
// - PgBouncer in transaction mode shares server connections between clients: it needs
//   max_prepared_statements (PgBouncer 1.21 and later), or POSTHORN_DATABASE_NAMED_STATEMENTS=false.
import type pgModule from "pg";

/** Parameters of the longest text named; longer ones (multi-row INSERTs, long IN lists) run unnamed. */
const MOST_PARAMETERS = 64;
/** Texts named in one process at most: each is prepared once per connection that runs it. */
const MOST_NAMED = 1_000;

const names = new Map<string, string>();
let issued = 0;

/** The name of a text, or null when it runs unnamed. */
function nameOf(text: string, parameters: number): string | null {
  if (parameters === 0 || parameters > MOST_PARAMETERS) return null;
  const known = names.get(text);
  if (known !== undefined) return known;
  if (names.size >= MOST_NAMED) return null;
  const name = `posthorn_${++issued}`;
  names.set(text, name);
  return name;
}

/** The server refused to run a prepared statement whose result's columns changed since it was prepared. */
function isStalePlan(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === "0A000" && typeof e.message === "string" && e.message.includes("cached plan must not change result type");
}

type QueryResult = pgModule.QueryResult;

/** node-postgres's Client with Kysely's queries (text and values) sent as named statements. */
export function namingClient(pg: typeof pgModule): typeof pgModule.Client {
  class NamingClient extends pg.Client {
    // Kysely calls query(text, values) and awaits the promise; every other form (a Cursor, a
    // config object, a callback) is passed through as it came.
    override query(...args: unknown[]): never {
      const [text, values] = args;
      const named = args.length === 2 && typeof text === "string" && Array.isArray(values) ? nameOf(text, values.length) : null;
      if (named === null) return (super.query as (...a: unknown[]) => never)(...args);
      const run = (super.query as (config: pgModule.QueryConfig) => Promise<QueryResult>).bind(this);
      return run({ name: named, text: text as string, values: values as unknown[] }).catch((err: unknown) => {
        if (!isStalePlan(err)) throw err;
        if (names.get(text as string) === named) names.delete(text as string);
        // Outside a transaction the failed statement did nothing: run it as it is now.
        if (this.getTransactionStatus() === "I") return run({ text: text as string, values: values as unknown[] });
        throw err;
      }) as never;
    }
  }
  return NamingClient;
}
