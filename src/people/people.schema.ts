// The people domain's tables, added to the store's Database type (migration 021). JSON is text,
// booleans 0/1 and times integer milliseconds, as everywhere in the store.
import type { Generated, Selectable } from "kysely";

export interface PeopleTable {
  /** Posthorn's id for the person (the Track API's cio_id). */
  person_id: string;
  workspace_id: string;
  /** The person's attributes as a JSON object (identifiers and reserved keys are kept apart). */
  attributes_json: string;
  unsubscribed: number;
  suppressed: number;
  /** Topic preferences as a JSON object: topic_<n> → subscribed. */
  topics_json: string;
  created_at: number;
  updated_at: number;
}

/** How a person is named: (kind, key) is unique per workspace. */
export interface PersonIdentifiersTable {
  workspace_id: string;
  /** id, email, phone or anonymous_id (cio_id is people.person_id itself). */
  kind: string;
  /** The value as looked up: e-mail addresses lower-cased, the others as given. */
  key: string;
  /** The value as last given. */
  value: string;
  person_id: string;
  created_at: number;
}

export interface PersonDevicesTable {
  workspace_id: string;
  /** The device token; one person holds a token at a time (adding it to another person moves it). */
  device_id: string;
  person_id: string;
  platform: string;
  attributes_json: string;
  last_used_at: number | null;
  updated_at: number;
}

/** Each attribute change, kept so that "changed from/to" and "set within T" can be answered. */
export interface PersonAttributeChangesTable {
  id: Generated<number>;
  workspace_id: string;
  person_id: string;
  name: string;
  /** JSON of the old and new values; null: the attribute was absent. */
  from_json: string | null;
  to_json: string | null;
  at: number;
}

/** Events, page and screen views: append-only; on PostgreSQL partitioned by range of `timestamp`. */
export interface PersonEventsTable {
  id: Generated<number>;
  workspace_id: string;
  /** null while only the anonymous id is known. */
  person_id: string | null;
  anonymous_id: string | null;
  name: string;
  type: string;
  dedupe_key: string | null;
  data_json: string;
  /** When it happened, as sent (the time received when none was sent). */
  timestamp: number;
  received_at: number;
}

/** De-duplication keys seen, kept for the dedupe window (pruned after it). */
export interface PersonEventDedupeTable {
  workspace_id: string;
  dedupe_key: string;
  seen_at: number;
}

/** SQLite only: a person's events by time, filled behind ingest up to person_event_index_state.indexed_to. */
export interface PersonEventIndexTable {
  person_id: string;
  timestamp: number;
  event_id: number;
}

export interface PersonEventIndexStateTable {
  id: number;
  indexed_to: number;
}

/** SQLite only: events with ids up to merged_to have their de-duplication keys in person_event_dedupe (no row: not yet set). */
export interface PersonEventKeysStateTable {
  id: number;
  merged_to: number;
}

/** SQLite only: every connection's updates and deletes of people and person_identifiers, counted by triggers (migration 047). */
export interface PersonChangeCountTable {
  id: number;
  changes: number;
}

export interface ObjectsTable {
  workspace_id: string;
  type_id: string;
  object_id: string;
  attributes_json: string;
  created_at: number;
  updated_at: number;
}

export interface RelationshipsTable {
  workspace_id: string;
  person_id: string;
  type_id: string;
  object_id: string;
  attributes_json: string;
  created_at: number;
}

export type PersonRow = Selectable<PeopleTable>;
export type PersonEventRow = Selectable<PersonEventsTable>;

declare module "../store/schema.js" {
  interface Database {
    people: PeopleTable;
    person_identifiers: PersonIdentifiersTable;
    person_devices: PersonDevicesTable;
    person_attribute_changes: PersonAttributeChangesTable;
    person_events: PersonEventsTable;
    person_event_dedupe: PersonEventDedupeTable;
    person_event_index: PersonEventIndexTable;
    person_event_index_state: PersonEventIndexStateTable;
    person_event_keys_state: PersonEventKeysStateTable;
    person_change_count: PersonChangeCountTable;
    objects: ObjectsTable;
    relationships: RelationshipsTable;
  }
}
