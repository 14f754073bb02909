// Messages in Posthorn's words (DESIGN.md § Words) instead of Postmark's: addresses as
// {address, name} (From included, which was a formatted header string), the message's state as
// queued / finished / sandboxed (was "Queued" / "Sent" / "Processed"), and link tracking as
// none / html-and-text / html-only / text-only. Postmark's shapes are made by the mappers in
// src/api/postmark/ from these records.
import addressparser, { type Address as ParsedAddress } from "nodemailer/lib/addressparser/index.js";
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

const CHUNK = 500;

export function messageWords(_dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      // JSON.stringify escapes every quote inside a value, so '"Email":' can only be a key.
      for (const column of ["to_json", "cc_json", "bcc_json"]) {
        await sql`update messages set ${sql.ref(column)} = replace(replace(${sql.ref(column)}, '"Email":', '"address":'), '"Name":', '"name":')`.execute(db);
      }
      await db.schema.alterTable("messages").renameColumn("status", "state").execute();
      await sql`update messages set state = case state when 'Queued' then 'queued' when 'Sent' then 'finished' when 'Processed' then 'sandboxed' else state end`.execute(db);
      await sql`update messages set track_links = case track_links when 'None' then 'none' when 'HtmlAndText' then 'html-and-text' when 'HtmlOnly' then 'html-only' when 'TextOnly' then 'text-only' else track_links end`.execute(db);

      await db.schema.alterTable("messages").addColumn("from_json", "text", (c) => c.notNull().defaultTo('{"address":"","name":""}')).execute();
      let after = "";
      for (;;) {
        const rows = (await db.selectFrom("messages").select(["id", "from_header"]).where("id", ">", after).orderBy("id").limit(CHUNK).execute()) as Array<{ id: string; from_header: string }>;
        if (rows.length === 0) break;
        after = rows[rows.length - 1]!.id;
        for (const row of rows) {
          await db.updateTable("messages").set({ from_json: JSON.stringify(fromHeader(row.from_header)) }).where("id", "=", row.id).execute();
        }
      }
      await db.schema.alterTable("messages").dropColumn("from_header").execute();
    },
  };
}

/** The mailbox of a stored From header ("Name <a@b>", "a@b", or text without an address). */
function fromHeader(text: string): { address: string; name: string } {
  const parsed = (addressparser(text, { flatten: true }) as ParsedAddress[]).find((a) => a.address);
  return parsed ? { address: parsed.address!, name: parsed.name ?? "" } : { address: "", name: text };
}
