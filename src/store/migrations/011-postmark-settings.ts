// The settings the rest of Postmark's API reads and writes, added in one step so that the features
// built on them (tracking, webhooks, streams, the account API's servers) share one definition:
// - workspaces: the server fields of Postmark's GET/PUT /server and /servers/{id} that are settings
//   (colour, SMTP switch, raw inbound, spam threshold, tracking defaults, webhook options);
// - streams: description, update and archive times, and how unsubscribes are handled (Postmark's
//   UnsubscribeHandlingType: broadcast streams must have one, so existing ones get ours).
// Values are in Posthorn's words: track_links as none / html-and-text / html-only / text-only,
// unsubscribe_handling as none / posthorn / custom.
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";
import { columnTypes } from "./column-types.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function postmarkSettings(dialect: Dialect): Migration {
  const t = columnTypes(dialect);
  return {
    async up(db: Db) {
      const workspaceColumns: Array<[name: string, type: "text" | "integer", fallback: string | number]> = [
        ["color", "text", "purple"],
        ["smtp_enabled", "integer", 1],
        ["raw_email_enabled", "integer", 0],
        ["inbound_spam_threshold", "integer", 0],
        ["track_opens", "integer", 0],
        ["track_links", "text", "none"],
        ["post_first_open_only", "integer", 0],
        ["include_bounce_content_in_hook", "integer", 0],
        ["smtp_error_hooks", "integer", 0],
      ];
      for (const [name, type, fallback] of workspaceColumns) {
        await db.schema.alterTable("workspaces").addColumn(name, type, (c) => c.notNull().defaultTo(fallback)).execute();
      }
      await db.schema.alterTable("streams").addColumn("description", "text").execute();
      await db.schema.alterTable("streams").addColumn("updated_at", t.bigint).execute();
      await db.schema.alterTable("streams").addColumn("archived_at", t.bigint).execute();
      await db.schema.alterTable("streams").addColumn("unsubscribe_handling", "text", (c) => c.notNull().defaultTo("none")).execute();
      await sql`update streams set unsubscribe_handling = 'posthorn' where type = 'Broadcasts'`.execute(db);
    },
  };
}
