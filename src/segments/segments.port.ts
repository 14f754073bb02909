// What the segments domain offers the edges (Track API v1's manual segment calls, the Customer.io
// App API) and, later, journeys. Membership of data-driven segments is kept by an outbox consumer
// from the people domain's events (person.identified, person.event, …) and by timers for
// time-windowed conditions; entering and leaving are the events segment.entered / segment.left.
import type { Page, PersonIdentifier } from "../people/people.port.js";

export type SegmentKind = "data" | "manual";

export interface Segment {
  segmentId: string;
  workspaceId: string;
  name: string;
  description: string;
  kind: SegmentKind;
  /** The conditions of a data-driven segment (segment-definition.ts); null for a manual one. */
  conditions: unknown | null;
  /** "file" when loaded from the segments folder (changed there, not through the API). */
  origin: "api" | "file";
  createdAt: number;
  updatedAt: number;
}

export interface SegmentMembership {
  segmentId: string;
  personId: string;
  enteredAt: number;
}

export interface SegmentChange {
  segmentId: string;
  personId: string;
  entered: boolean;
  at: number;
}

export interface SegmentsService {
  list(workspaceId: string): Promise<Segment[]>;
  get(workspaceId: string, segmentId: string): Promise<Segment | null>;
  /** Creates a segment; a data-driven one is filled from the people already known, in the background. */
  create(workspaceId: string, input: { name: string; description?: string; conditions?: unknown | null }): Promise<Segment>;
  update(workspaceId: string, segmentId: string, input: { name?: string; description?: string; conditions?: unknown | null }): Promise<Segment>;
  delete(workspaceId: string, segmentId: string): Promise<void>;
  size(workspaceId: string, segmentId: string): Promise<number>;
  members(workspaceId: string, segmentId: string, options: { limit: number; cursor: string | null }): Promise<Page<SegmentMembership>>;
  /** The segments a person is in now. */
  segmentsOf(workspaceId: string, personId: string): Promise<SegmentMembership[]>;
  /** A person's entries and exits, newest first. */
  history(workspaceId: string, personId: string, options: { limit: number }): Promise<SegmentChange[]>;
  /** Manual segments only (Track API v1 add_customers/remove_customers, up to 1,000 people); people not found are skipped. */
  addPeople(workspaceId: string, segmentId: string, people: PersonIdentifier[]): Promise<void>;
  removePeople(workspaceId: string, segmentId: string, people: PersonIdentifier[]): Promise<void>;
}
