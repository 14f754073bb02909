// Records in our words → the App API's wire shapes. Customer.io's segment ids are integers and
// its times unix seconds; `conditions` is Posthorn's extension (the definition of a data-driven
// segment), absent for manual ones.
import type { Person, ActivityItem } from "../../people/people.port.js";
import type { Segment, SegmentChange } from "../../segments/segments.port.js";

type Json = Record<string, unknown>;

const seconds = (ms: number) => Math.floor(ms / 1000);

export function segmentJson(segment: Segment, filled: boolean): Json {
  return {
    id: Number(segment.segmentId),
    deduplicate_id: `${segment.segmentId}:${seconds(segment.updatedAt)}`,
    name: segment.name,
    description: segment.description,
    // "building" while the people known when it was defined are still being evaluated.
    state: filled ? "finished" : "building",
    progress: null,
    type: segment.kind === "manual" ? "manual" : "dynamic",
    tags: null,
    origin: segment.origin,
    created_at: seconds(segment.createdAt),
    updated_at: seconds(segment.updatedAt),
    ...(segment.conditions !== null ? { conditions: segment.conditions } : {}),
  };
}

/** A person as the membership and search calls name them. */
export function identifiersJson(person: Person): { id: string | null; email: string | null; cio_id: string } {
  return { id: person.id, email: person.email, cio_id: person.personId };
}

export function attributesJson(person: Person): Json {
  return {
    customer: {
      id: person.id,
      identifiers: identifiersJson(person),
      attributes: { ...person.attributes, ...(person.id !== null ? { id: person.id } : {}), ...(person.email !== null ? { email: person.email } : {}), cio_id: person.personId, created_at: seconds(person.createdAt) },
      timestamps: { cio_id: seconds(person.createdAt), created_at: seconds(person.createdAt), updated_at: seconds(person.updatedAt) },
      unsubscribed: person.unsubscribed,
      suppressed: person.suppressed,
      topics: person.topics,
      devices: person.devices.map((d) => ({ id: d.deviceId, platform: d.platform, last_used: d.lastUsedAt === null ? null : seconds(d.lastUsedAt), attributes: d.attributes })),
    },
  };
}

/** One line of the activities call: the people domain's events and attribute changes, and segment changes. */
export function activityJson(person: Person, item: ActivityItem | SegmentChange): Json {
  const base = { customer_id: person.id, customer_identifiers: identifiersJson(person) };
  if ("segmentId" in item) {
    return { ...base, type: item.entered ? "entered_segment" : "exited_segment", timestamp: seconds(item.at), data: { segment_id: Number(item.segmentId) } };
  }
  return { ...base, type: item.kind, timestamp: seconds(item.at), data: item.detail };
}
