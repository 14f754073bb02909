// Counts the SQL statements a PostgreSQL process sends, and the time each kind waits for its
// answer, for profiling a benchmark phase (BENCH_SQL_PROFILE=1 in bench/journeys.ts). It wraps
// pg's Client.prototype.query, under Kysely's PostgresDriver, so every statement of every pooled
// connection is seen, transactions' BEGIN/COMMIT and savepoints included. Statements are grouped
// by their text with literals and IN/VALUES lists folded, so a statement batched over 500 rows
// and over 3 rows count as one kind. The time is wall time from send to answer: statements of
// several connections overlap, so the sum can exceed the phase's duration.
// pg_stat_statements would see the server's side, but it needs shared_preload_libraries and a
// server restart, which a shared server cannot have.
import pg from "pg";

interface Kind {
  count: number;
  ms: number;
}

const kinds = new Map<string, Kind>();
let installed = false;

/** Statement text with parameters, numbers and repeated tuples folded to one shape. */
export function shapeOf(text: string): string {
  return text
    .replace(/\$\d+/g, "?")
    .replace(/\b\d+\b/g, "N")
    .replace(/\((\s*\?\s*,?)+\)/g, "(?…)")
    .replace(/(\(\?…\)\s*,\s*)+\(\?…\)/g, "(?…)…")
    .replace(/savepoint \w+/gi, "savepoint gN")
    .replace(/\s+/g, " ")
    .trim();
}

export function installSqlCounter(): void {
  if (installed) return;
  installed = true;
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]): unknown {
    const first = args[0];
    const text = typeof first === "string" ? first : typeof first === "object" && first !== null && "text" in first ? String((first as { text: unknown }).text) : "";
    const started = performance.now();
    const result = original.apply(this, args);
    const done = () => {
      const shape = shapeOf(text);
      const kind = kinds.get(shape) ?? { count: 0, ms: 0 };
      kind.count += 1;
      kind.ms += performance.now() - started;
      kinds.set(shape, kind);
    };
    if (result && typeof (result as Promise<unknown>).then === "function") (result as Promise<unknown>).then(done, done);
    return result;
  };
}

export function resetSqlCounts(): void {
  kinds.clear();
}

/** The statements since the last reset, most time first, per `unit` (e.g. per step execution). */
export function sqlCountReport(unit: number, unitName: string): string {
  const rows = [...kinds].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((n, [, k]) => n + k.count, 0);
  const totalMs = rows.reduce((n, [, k]) => n + k.ms, 0);
  const lines = [`statements: ${total} (${(total / unit).toFixed(3)} per ${unitName}), wait ${totalMs.toFixed(0)} ms summed over connections`, "count\tper unit\tms\tms/stmt\tstatement"];
  for (const [shape, k] of rows.slice(0, 40)) lines.push(`${k.count}\t${(k.count / unit).toFixed(3)}\t${k.ms.toFixed(0)}\t${(k.ms / k.count).toFixed(2)}\t${shape.slice(0, 220)}`);
  return lines.join("\n");
}
