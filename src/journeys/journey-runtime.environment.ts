// The environment a run's decisions read (journey-interpreter.port.ts): the person, their
// segments, their events and the statuses of the messages this run sent, each read at most once
// per advance (a branch after a branch reads the person once).
import type { Person, PeopleReader, TrackedEvent } from "../people/people.port.js";
import type { OutreachLedger } from "../channels/email/outreach.port.js";
import type { MessageStatus } from "./journey.model.js";
import type { JourneyEnvironment } from "./journey-interpreter.port.js";

export interface EnvironmentDeps {
  people: Pick<PeopleReader, "get" | "events">;
  segmentsOf(workspaceId: string, personId: string): Promise<Array<{ segmentId: string }>>;
  ledger: Pick<OutreachLedger, "ofRunStep">;
}

export function runEnvironment(deps: EnvironmentDeps, run: { workspaceId: string; personId: string; runId: string }, now: number): JourneyEnvironment {
  let person: Promise<Person | null> | null = null;
  let segments: Promise<Set<string>> | null = null;
  return {
    now,
    person() {
      person ??= deps.people.get(run.workspaceId, run.personId);
      return person;
    },
    async inSegment(segmentId) {
      segments ??= deps.segmentsOf(run.workspaceId, run.personId).then((list) => new Set(list.map((m) => m.segmentId)));
      return (await segments).has(segmentId);
    },
    async events(name, since, limit): Promise<TrackedEvent[]> {
      return deps.people.events(run.workspaceId, run.personId, { names: [name], since, limit });
    },
    async messageStatus(stepId): Promise<MessageStatus[] | null> {
      const message = await deps.ledger.ofRunStep(run.workspaceId, run.runId, stepId);
      return message === null ? null : message.statuses;
    },
  };
}
