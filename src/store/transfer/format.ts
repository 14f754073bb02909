// The export file: gzip'd JSON lines, readable with zcat and jq, the same whichever store wrote it.
//
//   {"header": {format, formatVersion, createdAt, source, migrations, keyCheck, tables: [{name, columns, rows, sequence}]}}
//   {"table": "workspaces"}
//   ["ws_1", "acme", 1733400000000, …]         one line per row, values in the header's column order
//   {"end": "workspaces", "rows": 1, "checksum": "…"}
//   …every table, in dependency order…
//   {"footer": {"tables": 60, "rows": 12345, "sha256": "…"}}   sha256 of every line above it
//
// Values are written by column type, so that both dialects read the same thing back: integers as
// JSON numbers (exact up to 2^53; our 64-bit integers are millisecond times, ids and counters far
// below that, and a larger one is refused rather than rounded), text as JSON strings, blobs (a
// message's MIME) as base64 strings, NULL as null. The table checksum does not depend on row order:
// the sum modulo 2^64 of each row line's SHA-256 (its first 8 bytes), so the target can be summed
// in whatever order it returns its rows.
import { createHash } from "node:crypto";
import type { Column, ColumnType } from "./tables.js";
import type { Dialect } from "../store.js";

export const FORMAT = "posthorn-export";
export const FORMAT_VERSION = 1;

export interface TableHeader {
  name: string;
  columns: Column[];
  rows: number;
  /** The last value its sequence handed out (0 for none), which may lie above the largest id left in the table. */
  sequence: number | null;
}

export interface Header {
  format: typeof FORMAT;
  formatVersion: number;
  createdAt: string;
  source: Dialect;
  /** Every migration applied to the source, in order: the schema the rows belong to. */
  migrations: string[];
  /** A fingerprint of the encryption key the source used (never the key), or null when it had none. */
  keyCheck: string | null;
  tables: TableHeader[];
}

export interface Footer {
  tables: number;
  rows: number;
  sha256: string;
}

/** A file that is not a whole, readable export: import stops before committing anything. */
export class BadExportFile extends Error {
  override name = "BadExportFile";
}

/** One value from either driver as the file holds it. */
export function encodeValue(value: unknown, type: ColumnType, where: () => string): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case "integer": {
      // pg hands bigint (int8) over as a string; better-sqlite3 as a number.
      const n = typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : typeof value === "bigint" ? Number(value) : value;
      if (typeof n !== "number" || !Number.isSafeInteger(n)) throw new Error(`${where()} holds ${JSON.stringify(String(value))} where an integer of at most 2^53 was expected`);
      return n;
    }
    case "real":
      if (typeof value !== "number") throw new Error(`${where()} holds a ${typeof value} where a number was expected`);
      return value;
    case "text":
      if (typeof value !== "string") throw new Error(`${where()} holds a ${Buffer.isBuffer(value) ? "blob" : typeof value} where text was expected`);
      return value;
    case "blob":
      if (!(value instanceof Uint8Array)) throw new Error(`${where()} holds a ${typeof value} where bytes were expected`);
      return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
    default: {
      const never: never = type;
      throw new Error(`unknown column type ${String(never)}`);
    }
  }
}

/** A file's value as the driver takes it for a column of `type`. */
export function decodeValue(value: unknown, type: ColumnType, where: () => string): unknown {
  if (value === null) return null;
  switch (type) {
    case "integer":
      if (typeof value !== "number" || !Number.isSafeInteger(value)) throw new BadExportFile(`${where()}: ${JSON.stringify(value)} is not an integer`);
      return value;
    case "real":
      if (typeof value !== "number") throw new BadExportFile(`${where()}: ${JSON.stringify(value)} is not a number`);
      return value;
    case "text":
      if (typeof value !== "string") throw new BadExportFile(`${where()}: ${JSON.stringify(value)} is not text`);
      return value;
    case "blob":
      if (typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw new BadExportFile(`${where()}: not base64`);
      return Buffer.from(value, "base64");
    default: {
      const never: never = type;
      throw new Error(`unknown column type ${String(never)}`);
    }
  }
}

const MOD_64 = (1n << 64n) - 1n;

/** A table's order-independent checksum (see the top of this file). */
export class TableChecksum {
  private sum = 0n;
  rows = 0;

  /** Adds one row, given as its line (the JSON array of its encoded values). */
  add(line: string): void {
    const digest = createHash("sha256").update(line).digest();
    this.sum = (this.sum + digest.readBigUInt64BE(0)) & MOD_64;
    this.rows++;
  }

  hex(): string {
    return this.sum.toString(16).padStart(16, "0");
  }
}

/** The fingerprint of an encryption key that the header carries: says whether two keys are the same, reveals nothing of either. */
export function keyCheck(key: Buffer): string {
  return createHash("sha256").update("posthorn export key check\0").update(key).digest("hex").slice(0, 16);
}
