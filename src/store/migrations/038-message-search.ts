// The activity list's full-text search (issue 13): an index over each message's subject and
// To/Cc/Bcc addresses, kept OFF the accept transaction. The worker fills it from the event log
// (message.accepted, a second or less behind) and walks the messages that existed before it ran
// (the backfill, in batches, newest first), src/messages/activity/search-indexer.ts. Nothing is
// backfilled here: the table may hold tens of millions of messages.
//
// SQLite: an FTS5 table over an ordinary table of documents (FTS5's "external content"), kept in
// step by triggers on that table. The document's integer key orders like the list (acceptance
// time in ms * 1024 + a slot), so FTS5 answers a word newest first by its own rowid order and a
// page stops reading once full, however common the word. The tokenizer is unicode61 without
// diacritic folding, so that both stores split and fold alike (docs/dashboard/activity.md).
// PostgreSQL: the same documents with a stored tsvector generated from them, a GIN index on it
// and a B-tree in the list's order; the planner walks whichever suits the word (rare: GIN; common:
// the B-tree newest first, checking each row).
//
// Data removal finds these tables as it finds every other (src/data-removals/erasure.repository.ts):
// rows of an erased message go by their message_id; an address in the text of a message kept for
// its other recipients is rewritten in `body`, and the index follows (the SQLite triggers; the
// generated column). A message deleted any other way (retention) takes its document with it: a
// trigger on SQLite, a cascading foreign key on PostgreSQL. Neither fires on an insert into messages.
import type { Kysely, Migration } from "kysely";
import { sql } from "../kysely.js";
import type { Dialect } from "../store.js";

type Db = Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- migrations describe tables that the typed schema may no longer match

export function messageSearch(dialect: Dialect): Migration {
  return {
    async up(db: Db) {
      if (dialect === "postgres") {
        await sql`create table message_search (
          message_id text primary key references messages (id) on delete cascade,
          workspace_id text not null,
          created_at bigint not null,
          body text not null,
          -- ASCII punctuation becomes a space, as SQLite's unicode61 splits on it: "bob@acme.com"
          -- is three words there and here (PostgreSQL's parser alone would keep it one "email" word).
          doc tsvector generated always as (to_tsvector('simple'::regconfig, regexp_replace(body, '[[:space:]!-/:-@[-\`{-~]+', ' ', 'g'))) stored
        )`.execute(db);
        await sql`create index message_search_doc on message_search using gin (doc)`.execute(db);
        await sql`create index message_search_list on message_search (workspace_id, created_at, message_id)`.execute(db);
      } else {
        await sql`create table message_search_docs (
          id integer primary key,
          message_id text not null unique,
          workspace_id text not null,
          created_at integer not null,
          ws text not null,
          body text not null
        )`.execute(db);
        await sql`create virtual table message_search using fts5(ws, body, content='message_search_docs', content_rowid='id', tokenize='unicode61 remove_diacritics 0')`.execute(db);
        await sql`create trigger message_search_docs_added after insert on message_search_docs begin
          insert into message_search (rowid, ws, body) values (new.id, new.ws, new.body);
        end`.execute(db);
        await sql`create trigger message_search_docs_removed after delete on message_search_docs begin
          insert into message_search (message_search, rowid, ws, body) values ('delete', old.id, old.ws, old.body);
        end`.execute(db);
        await sql`create trigger message_search_docs_changed after update on message_search_docs begin
          insert into message_search (message_search, rowid, ws, body) values ('delete', old.id, old.ws, old.body);
          insert into message_search (rowid, ws, body) values (new.id, new.ws, new.body);
        end`.execute(db);
        await sql`create trigger message_search_message_deleted after delete on messages begin
          delete from message_search_docs where message_id = old.id;
        end`.execute(db);
      }
      // The backfill's progress: every message with an id below `below` is indexed; done when it
      // reached the oldest. One row.
      await sql`create table message_search_backfill (id integer primary key, below text, done integer not null)`.execute(db);
      await sql`insert into message_search_backfill (id, below, done) values (1, null, 0)`.execute(db);
    },
  };
}
