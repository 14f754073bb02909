// The data of a shared row of the event log (events.repository.ts): the events of a run, each
// with its id, in one JSON text.
//
// The first form was the list of [id, data] of each event. A batch's tracked events all have the
// same fields, so that list spelled every field name once per event, and the row was about half
// of what a batched ingest commit wrote: a run with the row's data left out ingested 15–20% more
// events a second (bench:track, api role alone; docs/benchmarks.md). The second form names the
// fields once and gives each event's values in that order. A field with the same value in every
// event (its type, an anonymous id that is null, often its name) is given once, in the header; a
// field whose values are all integers (timestamps, the tracked events' own row ids) is given as
// the difference from the event before, 0 or 1 in a batch, and so are the ids. For a batch of 100
// tracked events it is two fifths the size of the first form.
//
//   [2, [field, …], [mode, …], [id − previous id, value, …], …]
//   mode: 0 the values as they are, 1 differences, [v] v for every event
//
// Readers understand both forms: rows written before stay as they were. A run whose events do not
// all have the same fields in the same order, that holds a value an object's JSON leaves out but a
// list's turns into null (undefined, a function), or that has a field named __proto__ (which an
// assignment would not make a field), is written in the first form: what a reader gets back is
// always what was appended, field for field.
import type { RecordedEvent } from "./event-map.js";

/** Marks the second form: the first form's first element is an [id, data] pair, never a number. */
const FIELDS_ONCE = 2;
/** A column's values one by one, as differences from the event before, or one value for all. */
const AS_IS = 0;
const DELTA = 1;
type Mode = typeof AS_IS | typeof DELTA | [unknown];

/** The JSON of a shared row's data for events appended together (at least one). */
export function encodeSharedRow(events: readonly RecordedEvent[]): string {
  const datas = events.map((e) => e.data as unknown);
  const first = datas[0];
  const fields = first !== null && typeof first === "object" && !Array.isArray(first) ? Object.keys(first) : null;
  if (fields === null || fields.includes("__proto__") || !datas.every((d) => sameFields(d, fields))) return listForm(events);
  const rows = datas.map((d) => fields.map((f) => (d as Record<string, unknown>)[f]));
  const modes = fields.map((_, j) => modeOf(rows, j));
  const encoded: unknown[] = [FIELDS_ONCE, fields, modes];
  let previousId = 0;
  const previous: number[] = fields.map(() => 0);
  for (let i = 0; i < rows.length; i++) {
    const values = rows[i]!;
    const out: unknown[] = [events[i]!.id - previousId];
    previousId = events[i]!.id;
    for (let j = 0; j < values.length; j++) {
      const mode = modes[j];
      const v = values[j];
      if (mode === AS_IS) {
        out.push(v);
      } else if (mode === DELTA) {
        out.push((v as number) - previous[j]!);
        previous[j] = v as number;
      }
    }
    encoded.push(out);
  }
  return JSON.stringify(encoded);
}

/** The [id, data] of each event of a shared row's parsed data, in either form. */
export function decodeSharedRow(data: unknown[]): Array<[number, unknown]> {
  if (data[0] !== FIELDS_ONCE) return data as Array<[number, unknown]>;
  const fields = data[1] as string[];
  const modes = data[2] as Mode[];
  const previous: number[] = fields.map(() => 0);
  const events: Array<[number, unknown]> = [];
  let id = 0;
  for (let i = 3; i < data.length; i++) {
    const values = data[i] as unknown[];
    id += values[0] as number;
    const event: Record<string, unknown> = {};
    let at = 1;
    for (let j = 0; j < fields.length; j++) {
      const mode = modes[j]!;
      let v: unknown;
      if (mode === AS_IS) v = values[at++];
      else if (mode === DELTA) v = previous[j] = previous[j]! + (values[at++] as number);
      else v = mode[0];
      event[fields[j]!] = v;
    }
    events.push([id, event]);
  }
  return events;
}

function listForm(events: readonly RecordedEvent[]): string {
  return JSON.stringify(events.map((e) => [e.id, e.data]));
}

/** Whether `data` is a plain object with exactly `fields`, in that order, none of them a value a list would turn into null. */
function sameFields(data: unknown, fields: string[]): boolean {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return false;
  let j = 0;
  for (const key in data) {
    if (!Object.hasOwn(data, key)) continue;
    const value = (data as Record<string, unknown>)[key];
    if (fields[j] !== key || value === undefined || typeof value === "function" || typeof value === "symbol") return false;
    j += 1;
  }
  return j === fields.length;
}

/**
 * How column `j` is stored: the same string, number, boolean or null in every event, once (an
 * object is never shared: each event read gets its own, as from the first form); integers
 * throughout, as differences, when every difference is an integer JSON keeps exactly (one of two
 * safe integers can pass 2^53); else as it is.
 */
function modeOf(rows: unknown[][], j: number): Mode {
  const first = rows[0]![j];
  if ((first === null || typeof first !== "object") && rows.every((values) => values[j] === first)) return [first];
  let previous = 0;
  for (const values of rows) {
    const v = values[j];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || !Number.isSafeInteger(v - previous)) return AS_IS;
    previous = v;
  }
  return DELTA;
}
