// Substring search with LIKE over a user's text. The text is bound as a value (never SQL), but
// LIKE gives `%` and `_` meanings of their own: they are escaped, so that `order_123` finds
// "order_123" and `_` finds only subjects with an underscore. SQLite has no default escape
// character and PostgreSQL's is the backslash; naming it in the ESCAPE clause makes both agree.
import type { RawBuilder } from "kysely";
import { sql } from "./kysely.js";

/** The text with LIKE's wildcards and the escape character itself escaped by a backslash. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, "\\$&");
}

/** `column LIKE '%text%'`, matching the text literally. */
export function containsText(column: string, text: string): RawBuilder<boolean> {
  return sql<boolean>`${sql.ref(column)} like ${`%${escapeLike(text)}%`} escape '\\'`;
}
