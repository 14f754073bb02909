// An export's file: the CSV written from its chunks at download time. Rows are stored as
// [fixed column values, {attribute: value}] because a customers export's attribute columns (every
// attribute seen) are known only once the last person is read; the header is written from the
// final list, and each row's attributes are laid out under it. Chunks are read one at a time, so a
// download holds one chunk in memory whatever the file's size.
import { csvLine } from "./csv.js";
import type { ExportKind } from "./exports.types.js";

/** The columns every customers export has, before the attribute columns (sorted by name). */
export const CUSTOMER_COLUMNS = ["id", "email", "cio_id", "created_at"] as const;
/** The columns every deliveries export has, before the attributes it asked for (in its order). Times are unix seconds. */
export const DELIVERY_COLUMNS = [
  "delivery_id",
  "customer_id",
  "cio_id",
  "email",
  "recipient",
  "subject",
  "newsletter_id",
  "created_at",
  "state",
  "skip_reason",
  "delivered_at",
  "opened_at",
  "clicked_at",
  "bounced_at",
  "unsubscribed_at",
] as const;

export type StoredRow = [fixed: unknown[], attributes: Record<string, unknown>];

export function fixedColumns(kind: ExportKind): readonly string[] {
  return kind === "customers" ? CUSTOMER_COLUMNS : DELIVERY_COLUMNS;
}

/** The header: the fixed columns, then the attribute columns (one named like a fixed column is written `attribute:<name>`). */
export function header(kind: ExportKind, attributes: readonly string[]): string[] {
  const fixed = fixedColumns(kind);
  return [...fixed, ...attributes.map((a) => (fixed.includes(a) ? `attribute:${a}` : a))];
}

export async function* csvLines(kind: ExportKind, attributes: readonly string[], chunks: number, readChunk: (seq: number) => Promise<string | null>): AsyncGenerator<string> {
  yield csvLine(header(kind, attributes));
  for (let seq = 0; seq < chunks; seq++) {
    const json = await readChunk(seq);
    if (json === null) throw new Error(`export chunk ${seq} is missing`);
    let out = "";
    for (const [fixed, attrs] of JSON.parse(json) as StoredRow[]) out += csvLine([...fixed, ...attributes.map((a) => attrs[a])]);
    yield out;
  }
}
