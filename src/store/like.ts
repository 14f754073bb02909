/** A user's text for a `%…%` LIKE pattern: Kysely binds the value, so only the wildcards need neutralising (SQLite has no default escape character). */
export function escapeLike(text: string): string {
  return text.replace(/[%_]/g, "");
}
