// People, their events, segment memberships and message statuses held in memory: the world the
// simulator of `posthorn journeys test` runs journeys in, and the one the interpreter's unit tests
// use. It lends the interpreter the same JourneyEnvironment the worker's runtime builds from the
// database, so the same decisions are made against either.
import type { Person, TrackedEvent, EventKind } from "../people/people.port.js";
import type { JourneyEnvironment } from "./journey-interpreter.port.js";
import type { MessageStatus } from "./journey.model.js";

export class JourneyWorld {
  private readonly people = new Map<string, Person>();
  private readonly events = new Map<string, TrackedEvent[]>();
  private readonly segments = new Map<string, Set<string>>();
  private readonly statuses = new Map<string, MessageStatus[]>();
  private nextEventRowId = 1;

  /** The person with this id, made when first named (the simulator's people are named by their id). */
  person(personId: string, at: number): Person {
    let person = this.people.get(personId);
    if (!person) {
      person = { personId, workspaceId: "simulation", id: personId, email: null, anonymousIds: [], attributes: {}, unsubscribed: false, suppressed: false, topics: {}, devices: [], createdAt: at, updatedAt: at };
      this.people.set(personId, person);
    }
    return person;
  }

  everyone(): Person[] {
    return [...this.people.values()];
  }

  identify(personId: string, attributes: Record<string, unknown>, at: number): Person {
    const person = this.person(personId, at);
    for (const [k, v] of Object.entries(attributes)) {
      if (k === "email") person.email = v === null ? null : String(v);
      else if (k === "unsubscribed") person.unsubscribed = v === true;
      else if (v === null) delete person.attributes[k];
      else person.attributes[k] = v;
    }
    person.updatedAt = at;
    return person;
  }

  track(personId: string, name: string, data: Record<string, unknown>, at: number, type: EventKind = "event"): TrackedEvent {
    this.person(personId, at);
    const event: TrackedEvent = { eventRowId: this.nextEventRowId++, personId, anonymousId: null, name, type, dedupeKey: null, data, timestamp: at, receivedAt: at };
    const list = this.events.get(personId) ?? [];
    list.push(event);
    this.events.set(personId, list);
    return event;
  }

  setSegment(personId: string, segmentId: string, member: boolean): void {
    const set = this.segments.get(segmentId) ?? new Set<string>();
    if (member) set.add(personId);
    else set.delete(personId);
    this.segments.set(segmentId, set);
  }

  /** A status the message of `stepId` reached (per person: one run of a journey at a time in a simulation). */
  addStatus(personId: string, stepId: string, status: MessageStatus): void {
    const key = `${personId}\u0000${stepId}`;
    const list = this.statuses.get(key) ?? [];
    if (!list.includes(status)) list.push(status);
    this.statuses.set(key, list);
  }

  /** `sent`: whether the run sent a message at the step (the simulator knows; by default, when a status was given). */
  env(personId: string, now: number, sent?: (stepId: string) => boolean): JourneyEnvironment {
    const statusesOf = (stepId: string) => this.statuses.get(`${personId}\u0000${stepId}`);
    return {
      now,
      person: async () => this.people.get(personId) ?? null,
      inSegment: async (segmentId) => this.segments.get(segmentId)?.has(personId) ?? false,
      events: async (name, since, limit) =>
        (this.events.get(personId) ?? [])
          .filter((e) => e.name === name && e.timestamp >= since)
          .sort((a, b) => b.timestamp - a.timestamp || b.eventRowId - a.eventRowId)
          .slice(0, limit),
      messageStatus: async (stepId) => {
        const given = statusesOf(stepId);
        if (!(sent ? sent(stepId) : given !== undefined)) return null;
        return ["sent", ...(given ?? []).filter((s) => s !== "sent")];
      },
    };
  }
}
