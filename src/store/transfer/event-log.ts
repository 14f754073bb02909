// The event log and its consumers' cursors, in the one order every target reads: tx 0, ids.
//
// On PostgreSQL each event carries the id of the transaction that wrote it (events.tx) and
// consumers read in (tx, id) order (migration 007); on SQLite tx is always 0 and the order is the
// id's. Transaction ids belong to one PostgreSQL cluster: a fresh cluster hands out ids far below
// an old one's, so events written after an import with the old tx values kept would sort BEFORE
// the imported cursors and never be read; and SQLite compares positions by tx first as well. So
// the exported log holds tx 0 for every event (all of them committed: id order is a valid order
// for them), and each cursor becomes the id position that hands over every event it had not yet
// passed: one below the least id of the events after it in (tx, id) order, or the last id when none
// are. An event that a consumer had passed but whose id lies above one it had not is handed over
// once more (consumers are at-least-once); none is skipped. From SQLite the log is already in
// this form and the rows go as they are.
import type { RawDb } from "./raw-db.js";
import type { RowTransform } from "./export.js";

/** Makes a table's row transform from its columns' names (the order its rows are read in). */
export type TransformFor = (columns: string[]) => RowTransform;

export async function logTransforms(db: RawDb): Promise<Map<string, TransformFor>> {
  const transforms = new Map<string, TransformFor>();
  // Derived data, rebuilt by the target's worker (tables.ts, NOT_MOVED): its backfill starts again.
  transforms.set("message_search_backfill", (columns) => setting(columns, { below: () => null, done: () => 0 }));
  if (db.dialect === "sqlite") return transforms;
  const positions = await cursorPositions(db);
  transforms.set("outbox_cursors", (columns) => {
    const consumerAt = columns.indexOf("consumer");
    return setting(columns, { position_tx: () => 0, position_id: (row) => positions.get(String(row[consumerAt]))! });
  });
  transforms.set("events", (columns) => setting(columns, { tx: () => 0 }));
  return transforms;
}

/** A transform that replaces the named columns' values. */
function setting(columns: string[], values: Record<string, (row: unknown[]) => unknown>): RowTransform {
  const at = Object.entries(values).map(([name, value]) => {
    const i = columns.indexOf(name);
    if (i < 0) throw new Error(`export expects a column ${name} (${columns.join(", ")})`);
    return [i, value] as const;
  });
  return (row) => {
    const copy = [...row];
    for (const [i, value] of at) copy[i] = value(row);
    return copy;
  };
}

/** Each consumer's cursor as an id position (see the top of this file), read in the export's snapshot. */
async function cursorPositions(db: RawDb): Promise<Map<string, number>> {
  const [last] = await db.all("select coalesce(max(id), 0) as id from events");
  const cursors = (await db.all("select consumer, position_tx, position_id from outbox_cursors")) as Array<{ consumer: string; position_tx: string | number; position_id: string | number }>;
  const positions = new Map<string, number>();
  for (const cursor of cursors) {
    const [next] = await db.all("select min(id) as id from events where (tx, id) > (?, ?)", [cursor.position_tx, cursor.position_id]);
    positions.set(cursor.consumer, next?.id === null || next?.id === undefined ? Number(last!.id) : Number(next.id) - 1);
  }
  return positions;
}
