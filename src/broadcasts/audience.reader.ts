// Reads a broadcast's audience — a recipient filter tree — one page at a time, in person-id order,
// so that a page's cursor, committed with the work done for it, says exactly where to go on after
// a crash. Attribute tests alone are the people domain's search (it pages by person id); a tree
// that requires a segment (the segment itself, or an `and` holding one) pages that segment's
// members (also by person id) and tests the rest of the tree on each. A segment that is only
// optional (under `or` or `not`) would mean reading every person for every such broadcast, so
// those trees are refused when the broadcast is defined (pageable() says why).
import type { Page, PeopleFilter, PeopleReader, Person } from "../people/people.port.js";
import { matches } from "../people/people.reads.js";
import type { SegmentsService } from "../segments/segments.port.js";
import type { RecipientFilter } from "./broadcasts.types.js";

export interface AudienceReaderDeps {
  people: PeopleReader;
  segments: Pick<SegmentsService, "members" | "segmentsOf">;
}

type Source = { kind: "search"; filter: PeopleFilter } | { kind: "segment"; segmentId: string };

/** Null when the tree can be paged, else why not. */
export function pageable(filter: RecipientFilter): string | null {
  return sourceOf(filter) ? null : "a segment condition must be required (the whole filter, or a member of its top-level `and`); under `or` or `not` it would mean reading every person";
}

/** Segment ids the tree names (checked to exist when a broadcast is defined). */
export function segmentIds(filter: RecipientFilter): string[] {
  if ("and" in filter) return filter.and.flatMap(segmentIds);
  if ("or" in filter) return filter.or.flatMap(segmentIds);
  if ("not" in filter) return segmentIds(filter.not);
  if ("segment" in filter) return [filter.segment.id];
  return [];
}

function sourceOf(filter: RecipientFilter): Source | null {
  if (segmentIds(filter).length === 0) return { kind: "search", filter: filter as PeopleFilter };
  if ("segment" in filter) return { kind: "segment", segmentId: filter.segment.id };
  if ("and" in filter) {
    const required = filter.and.find((f): f is { segment: { id: string } } => "segment" in f);
    if (required) return { kind: "segment", segmentId: required.segment.id };
  }
  return null;
}

export class AudienceReader {
  constructor(private readonly deps: AudienceReaderDeps) {}

  /** One page of people in the audience (possibly fewer than `limit`, even none, with a next page). */
  async page(workspaceId: string, filter: RecipientFilter, cursor: string | null, limit: number): Promise<Page<Person>> {
    const source = sourceOf(filter);
    if (!source) throw new Error(`audience filter cannot be paged: ${pageable(filter)}`);
    if (source.kind === "search") return this.deps.people.search(workspaceId, source.filter, { limit, cursor });
    const members = await this.deps.segments.members(workspaceId, source.segmentId, { limit, cursor });
    const people: Person[] = [];
    const onlySegment = "segment" in filter;
    for (const member of members.items) {
      const person = await this.deps.people.get(workspaceId, member.personId);
      if (!person) continue;
      if (onlySegment || (await this.test(filter, person))) people.push(person);
    }
    return { items: people, next: members.next };
  }

  private async test(filter: RecipientFilter, person: Person): Promise<boolean> {
    let memberOf: Set<string> | null = null;
    const inSegment = async (id: string) => {
      memberOf ??= new Set((await this.deps.segments.segmentsOf(person.workspaceId, person.personId)).map((m) => m.segmentId));
      return memberOf.has(id);
    };
    const walk = async (f: RecipientFilter): Promise<boolean> => {
      if ("and" in f) {
        for (const child of f.and) if (!(await walk(child))) return false;
        return true;
      }
      if ("or" in f) {
        for (const child of f.or) if (await walk(child)) return true;
        return false;
      }
      if ("not" in f) return !(await walk(f.not));
      if ("segment" in f) return inSegment(f.segment.id);
      return matches(f, person);
    };
    return walk(filter);
  }
}
