// The rows a freshly migrated database holds (single-row state tables that migrations fill:
// backfill marks, revision counters), found by migrating a scratch SQLite database rather than
// listed by hand: import treats a target holding exactly these as empty, and replaces them.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqlite } from "../store.js";
import { describeTables } from "./tables.js";
import { encodeRow } from "./import.js";
import { rawSqlite } from "./raw-db.js";

export async function seededRows(): Promise<Map<string, string[]>> {
  const dir = mkdtempSync(join(tmpdir(), "posthorn-seeded-"));
  try {
    const file = join(dir, "fresh.db");
    const store = openSqlite(file);
    try {
      await store.migrate();
    } finally {
      await store.close();
    }
    const db = rawSqlite(file, { mustExist: true });
    try {
      const seeded = new Map<string, string[]>();
      for (const table of await describeTables(db)) {
        const lines: string[] = [];
        for await (const page of db.pages(`select ${table.columns.map((c) => `"${c.name}"`).join(", ")} from "${table.name}"`, 1000)) {
          for (const raw of page) lines.push(encodeRow({ name: table.name, columns: table.columns, rows: 0, sequence: null }, raw));
        }
        if (lines.length > 0) seeded.set(table.name, lines);
      }
      return seeded;
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
