// What the people domain offers the edges (Track API v1 and v2, the Segment-spec pipeline API, the
// Customer.io App API) and the other domains (segments, later journeys). This file is the
// contract between them: records in Posthorn's words, operations that every door translates its
// input into, and the reads. The implementation (people.service.ts) applies a request's
// operations in one durable group commit shared with concurrent requests (store.writeGrouped),
// and answers only after that commit, so a 2xx means the data is on disk.
//
// Limits (identifier 150 bytes, attribute name 150 and value 1,000 bytes, 300 attributes, event
// name 100 bytes, event data 100,000 bytes) are checked here, for every door alike; a door that
// has tighter limits of its own (the Segment spec's 32 KB per event) checks those at its edge.

/** How a caller names a person. `cio_id` is Posthorn's own id for the person (Person.personId). */
export type IdentifierKind = "id" | "email" | "cio_id" | "anonymous_id" | "phone";

export interface PersonIdentifier {
  kind: IdentifierKind;
  value: string;
}

export interface Device {
  deviceId: string;
  platform: string;
  attributes: Record<string, unknown>;
  lastUsedAt: number | null;
}

export interface Person {
  /** Posthorn's id for the person (shown as cio_id); never changes, never reused. */
  personId: string;
  workspaceId: string;
  /** The customer's own id for the person, if known. */
  id: string | null;
  email: string | null;
  anonymousIds: string[];
  /** Attributes as last identified (JSON values), without the reserved keys handled below. */
  attributes: Record<string, unknown>;
  unsubscribed: boolean;
  suppressed: boolean;
  /** Topic preferences: topic_<n> → subscribed. */
  topics: Record<string, boolean>;
  devices: Device[];
  createdAt: number;
  updatedAt: number;
}

export type EventKind = "event" | "page" | "screen";

/** An event as a door received it. */
export interface EventInput {
  name: string;
  type: EventKind;
  /** The sender's de-duplication key (Customer.io `id`, Segment `messageId`); repeats within the dedupe window are ignored. */
  dedupeKey: string | null;
  /** When it happened, as sent (ms since the epoch); null: when received. */
  timestamp: number | null;
  data: Record<string, unknown>;
}

/** An event as stored. */
export interface TrackedEvent {
  eventRowId: number;
  personId: string | null;
  anonymousId: string | null;
  name: string;
  type: EventKind;
  dedupeKey: string | null;
  data: Record<string, unknown>;
  /** As sent (or received, when none was sent). */
  timestamp: number;
  receivedAt: number;
}

export interface ObjectRef {
  typeId: string;
  objectId: string;
}

/**
 * One change a door asks for. A request (one identify, one v2 batch, one Segment batch) becomes a
 * list of these, applied in order.
 */
export type PersonOperation =
  | {
      op: "identify";
      who: PersonIdentifier;
      /** Attributes to set (null: remove). Reserved keys already taken out by the door: */
      attributes: Record<string, unknown>;
      /** Also known as (an identify that carries both an id and an email, or an anonymous id to merge). */
      alsoKnownAs?: PersonIdentifier[];
      /** `_update`: change an existing person only, never create one. */
      updateOnly?: boolean;
      /** `created_at` (ms), when given. */
      createdAt?: number | null;
      unsubscribed?: boolean;
      /** Topic preferences to set (topic_<n> → subscribed). */
      topics?: Record<string, boolean>;
    }
  | { op: "delete"; who: PersonIdentifier }
  | { op: "suppress"; who: PersonIdentifier }
  | { op: "unsuppress"; who: PersonIdentifier }
  /** who may be an anonymous_id: the event waits, unattached, until that id is identified. */
  | { op: "track"; who: PersonIdentifier; event: EventInput }
  | { op: "add_device"; who: PersonIdentifier; device: { deviceId: string; platform: string; lastUsedAt: number | null; attributes: Record<string, unknown> } }
  | { op: "delete_device"; who: PersonIdentifier; deviceId: string }
  /** The secondary is merged into the primary and deleted. */
  | { op: "merge"; primary: PersonIdentifier; secondary: PersonIdentifier }
  | { op: "identify_object"; object: ObjectRef; attributes: Record<string, unknown> }
  | { op: "delete_object"; object: ObjectRef }
  | { op: "relate"; who: PersonIdentifier; object: ObjectRef; attributes: Record<string, unknown> }
  | { op: "unrelate"; who: PersonIdentifier; object: ObjectRef };

/** The outcome of one operation: applied, or refused with a coded error (PeopleErrors) naming the field. */
export type OperationResult = { ok: true; personId: string | null } | { ok: false; code: string; field: string | null; message: string };

/** One line of a person's timeline kept by this domain (segment changes come from the segments domain). */
export interface ActivityItem {
  kind: "event" | "attribute_change";
  at: number;
  detail: Record<string, unknown>;
}

export interface Page<T> {
  items: T[];
  /** Opaque; null on the last page. */
  next: string | null;
}

export interface PeopleIngest {
  /**
   * Applies the operations in order in one durable (group) commit. With `atomic`, the first
   * refused operation refuses them all (Track v1 calls, which are one operation each, and v2
   * /entity); without it each operation stands alone (v2 /batch and Segment /batch answer for the
   * whole batch but skip what is bad).
   */
  apply(workspaceId: string, operations: PersonOperation[], options?: { atomic?: boolean }): Promise<OperationResult[]>;
  /** POST /unsubscribe/{delivery_id}: the person the delivery went to is unsubscribed; false when there is no such delivery. */
  unsubscribeByDelivery(deliveryId: string): Promise<boolean>;
}

export interface PeopleReader {
  find(workspaceId: string, who: PersonIdentifier): Promise<Person | null>;
  get(workspaceId: string, personId: string): Promise<Person | null>;
  /** Many people at once (three reads for the lot, not three per person); those not found are absent. */
  getMany(workspaceId: string, personIds: string[]): Promise<Map<string, Person>>;
  /** A person's events, newest first, optionally only these names and since a time. */
  events(workspaceId: string, personId: string, options: { names?: string[]; since?: number; limit: number }): Promise<TrackedEvent[]>;
  /** Attribute changes and events on one timeline, newest first. */
  activity(workspaceId: string, personId: string, options: { limit: number; cursor: string | null }): Promise<Page<ActivityItem>>;
  /** People whose attribute `field` matches (eq: equal; exists: present), paged by personId. */
  search(workspaceId: string, filter: PeopleFilter, options: { limit: number; cursor: string | null }): Promise<Page<Person>>;
}

export type PeopleFilter =
  | { and: PeopleFilter[] }
  | { or: PeopleFilter[] }
  | { not: PeopleFilter }
  | { attribute: { field: string; operator: "eq" | "exists"; value?: unknown } };
