// The dashboard's people calls (issue 13): search, a person's record with their segments and runs,
// and their one timeline (people-timeline.ts). Viewers read everything here; nothing changes.
import type { FastifyInstance } from "fastify";
import type { PeopleService } from "../../people/people.service.js";
import type { Person } from "../../people/people.port.js";
import type { SegmentsService } from "../../segments/segments.service.js";
import { PEOPLE_NOT_FOUND } from "../../people/people.errors.js";
import { requireWorkspace } from "./dashboard.family.js";
import { readInput } from "./dashboard.input.js";
import { PeopleQuery, PersonParams, TimelineQuery, type PeopleAnswer, type PersonAnswer, type PersonSummary, type TimelineAnswer } from "./people.contract.js";
import { personTimeline, type TimelineDeps } from "./people-timeline.js";

const WorkspaceParams = PersonParams.pick({ workspaceId: true });

export interface PeopleRoutesDeps extends TimelineDeps {
  people: Pick<PeopleService, "searchIdentifiers" | "searchText" | "get" | "activityUpTo">;
  segments: TimelineDeps["segments"] & Pick<SegmentsService, "segmentsOf">;
}

export function peopleRoutes(deps: PeopleRoutesDeps) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get("/workspaces/:workspaceId/people", async (request): Promise<PeopleAnswer> => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "address");
      requireWorkspace(request, workspaceId, "read");
      const query = readInput(PeopleQuery, request.query, "query");
      const paging = { limit: query.limit, cursor: query.cursor ?? null };
      const page = query.in === "attributes" ? await deps.people.searchText(workspaceId, query.q, paging) : await deps.people.searchIdentifiers(workspaceId, query.q, paging);
      return { people: page.items.map(summary), next: page.next };
    });

    app.get("/workspaces/:workspaceId/people/:personId", async (request): Promise<PersonAnswer> => {
      const { workspaceId, personId } = readInput(PersonParams, request.params, "address");
      requireWorkspace(request, workspaceId, "read");
      const person = await deps.people.get(workspaceId, personId);
      if (!person) throw PEOPLE_NOT_FOUND(`There is no person ${personId} in this workspace.`);
      const [memberships, segments, runs, journeys] = await Promise.all([
        deps.segments.segmentsOf(workspaceId, personId),
        deps.segments.list(workspaceId),
        deps.journeys.runsOf(workspaceId, personId, { limit: 100, cursor: null }),
        deps.journeys.list(workspaceId),
      ]);
      const segmentName = new Map(segments.map((s) => [s.segmentId, s.name]));
      const journeyName = new Map(journeys.map((j) => [j.journeyId, j.name]));
      return {
        person: { ...summary(person), anonymousIds: person.anonymousIds, attributes: person.attributes, topics: person.topics, devices: person.devices },
        segments: memberships.map((m) => ({ segmentId: m.segmentId, name: segmentName.get(m.segmentId) ?? `segment ${m.segmentId}`, enteredAt: m.enteredAt })),
        runs: runs.items.map((r) => ({ runId: r.runId, journeyId: r.journeyId, journeyName: journeyName.get(r.journeyId) ?? `journey ${r.journeyId}`, version: r.version, state: r.state, stepId: r.stepId, enteredAt: r.enteredAt })),
      };
    });

    app.get("/workspaces/:workspaceId/people/:personId/timeline", async (request): Promise<TimelineAnswer> => {
      const { workspaceId, personId } = readInput(PersonParams, request.params, "address");
      requireWorkspace(request, workspaceId, "read");
      const query = readInput(TimelineQuery, request.query, "query");
      if (!(await deps.people.get(workspaceId, personId))) throw PEOPLE_NOT_FOUND(`There is no person ${personId} in this workspace.`);
      return personTimeline(deps, workspaceId, personId, { before: query.before ?? null, limit: query.limit });
    });
  };
}

function summary(person: Person): PersonSummary {
  return { personId: person.personId, id: person.id, email: person.email, unsubscribed: person.unsubscribed, suppressed: person.suppressed, createdAt: person.createdAt, updatedAt: person.updatedAt };
}
