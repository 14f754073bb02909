// The dashboard's activity list (issue 13) pages newest first by keyset (created_at, id), never by
// OFFSET, and must answer a page in under 200 ms with ten million messages in a workspace. Each
// filter that can be rare gets an index in that same order, so that a page reads about as many
// index entries as it shows: tag and stream on messages; recipient (case-folded, as search
// compares it: messages.repository.ts) and state on deliveries, whose created_at is its message's.
// The state index costs one more index entry to move per delivery outcome; the alternative, a
// summary state on messages, would have to be kept by every outcome writer in the MTA.
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function activity(): Migration {
  return {
    async up(db: Db) {
      await sql`create index messages_activity on messages (workspace_id, created_at, id)`.execute(db);
      // Partial: most mail has no tag, and a tag filter (tag = ?) implies tag is not null, which both
      // databases' planners see; untagged messages then cost this index nothing.
      await sql`create index messages_activity_tag on messages (workspace_id, tag, created_at, id) where tag is not null`.execute(db);
      await sql`create index messages_activity_stream on messages (workspace_id, stream, created_at, id)`.execute(db);
      await sql`create index deliveries_activity_recipient on deliveries (workspace_id, lower(recipient), created_at, message_id)`.execute(db);
      await sql`create index deliveries_activity_state on deliveries (workspace_id, state, created_at, message_id)`.execute(db);
      // The first index covers everything messages_workspace_created did.
      await sql`drop index messages_workspace_created`.execute(db);
    },
  };
}
