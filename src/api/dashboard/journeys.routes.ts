// The dashboard's journeys calls (issue 13): the list, a journey with its steps as a tree for the
// graph (journey-outline.ts), per-step counts, versions, one person's runs through it, and, for
// admins, checking a document without saving it, creating a journey, saving a new version and
// changing its state. Documents are JSON or YAML text, parsed and checked by the journeys service,
// whose JOURNEY_DEFINITION_INVALID names the path of the bad field.
import type { FastifyInstance } from "fastify";
import type { JourneysService } from "../../journeys/journeys.service.js";
import type { Journey } from "../../journeys/journey.model.js";
import type { PeopleService } from "../../people/people.service.js";
import type { Person } from "../../people/people.port.js";
import { JourneyNotFound } from "../../journeys/journeys.errors.js";
import { outlineOf, triggerSummary } from "../../journeys/journey-outline.js";
import { isPosthornError } from "../../shared/errors.js";
import { DASHBOARD_BODY_LIMIT, requireWorkspace } from "./dashboard.family.js";
import { readInput } from "./dashboard.input.js";
import {
  CreateBody,
  DocumentBody,
  JourneyParams,
  MetricsQuery,
  PathQuery,
  StateBody,
  type CheckAnswer,
  type JourneyAnswer,
  type JourneySummary,
  type JourneysAnswer,
  type MetricsAnswer,
  type PathAnswer,
  type VersionsAnswer,
} from "./journeys.contract.js";

const WorkspaceParams = JourneyParams.pick({ workspaceId: true });
/** Runs of one person read to find those of one journey: far more than anyone has. */
const RUNS_READ = 1_000;

export interface JourneysRoutesDeps {
  journeys: Pick<JourneysService, "list" | "get" | "metrics" | "versions" | "runsOf" | "check" | "create" | "update" | "setState">;
  people: Pick<PeopleService, "find" | "get">;
}

export function journeysRoutes(deps: JourneysRoutesDeps) {
  const find = async (workspaceId: string, journeyId: string): Promise<Journey> => {
    const journey = await deps.journeys.get(workspaceId, journeyId);
    if (!journey) throw JourneyNotFound(`There is no journey ${journeyId} in this workspace.`);
    return journey;
  };
  /** A person named by the dashboard's box: their id, then email, then cio_id. */
  const findPerson = async (workspaceId: string, text: string): Promise<Person | null> =>
    (await deps.people.find(workspaceId, { kind: "id", value: text })) ?? (text.includes("@") ? await deps.people.find(workspaceId, { kind: "email", value: text }) : null) ?? (await deps.people.get(workspaceId, text));

  return async function routes(app: FastifyInstance): Promise<void> {
    app.get("/workspaces/:workspaceId/journeys", async (request): Promise<JourneysAnswer> => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "address");
      requireWorkspace(request, workspaceId, "read");
      return { journeys: (await deps.journeys.list(workspaceId)).map(summary) };
    });

    app.get("/workspaces/:workspaceId/journeys/:journeyId", async (request): Promise<JourneyAnswer> => {
      const { workspaceId, journeyId } = readInput(JourneyParams, request.params, "address");
      requireWorkspace(request, workspaceId, "read");
      return answer(await find(workspaceId, journeyId));
    });

    app.get("/workspaces/:workspaceId/journeys/:journeyId/metrics", async (request): Promise<MetricsAnswer> => {
      const { workspaceId, journeyId } = readInput(JourneyParams, request.params, "address");
      requireWorkspace(request, workspaceId, "read");
      const query = readInput(MetricsQuery, request.query, "query");
      const m = await deps.journeys.metrics(workspaceId, journeyId, query.version === undefined ? {} : { version: query.version });
      return {
        version: m.version,
        entered: m.entered,
        active: m.active,
        completed: m.completed,
        exited: m.exited,
        converted: m.converted,
        steps: m.steps.map((s) => ({ stepId: s.stepId, entered: s.entered, waiting: s.waiting, completed: s.completed, failed: s.failed, converted: s.converted, exited: s.exited })),
      };
    });

    app.get("/workspaces/:workspaceId/journeys/:journeyId/versions", async (request): Promise<VersionsAnswer> => {
      const { workspaceId, journeyId } = readInput(JourneyParams, request.params, "address");
      requireWorkspace(request, workspaceId, "read");
      const versions = await deps.journeys.versions(workspaceId, journeyId);
      return { versions: versions.map((v) => ({ version: v.version, createdAt: v.createdAt, source: v.source })).sort((a, b) => b.version - a.version) };
    });

    app.get("/workspaces/:workspaceId/journeys/:journeyId/path", async (request): Promise<PathAnswer> => {
      const { workspaceId, journeyId } = readInput(JourneyParams, request.params, "address");
      requireWorkspace(request, workspaceId, "read");
      const query = readInput(PathQuery, request.query, "query");
      await find(workspaceId, journeyId);
      const person = await findPerson(workspaceId, query.person.trim());
      if (!person) return { person: null, runs: [] };
      const runs = await deps.journeys.runsOf(workspaceId, person.personId, { limit: RUNS_READ, cursor: null });
      return {
        person: { personId: person.personId, id: person.id, email: person.email },
        runs: runs.items.filter((r) => r.journeyId === journeyId).map((r) => ({ runId: r.runId, version: r.version, state: r.state, stepId: r.stepId, enteredAt: r.enteredAt, endReason: r.endReason, path: r.path })),
      };
    });

    app.post("/workspaces/:workspaceId/journeys/check", { bodyLimit: DASHBOARD_BODY_LIMIT * 2 }, async (request): Promise<CheckAnswer> => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "address");
      requireWorkspace(request, workspaceId, "change");
      const body = readInput(DocumentBody, request.body, "body");
      try {
        const { definition } = await deps.journeys.check(workspaceId, body.document);
        let steps = 0;
        const count = (list: ReturnType<typeof outlineOf>): void => list.forEach((s) => ((steps += 1), s.lanes.forEach((l) => count(l.steps))));
        count(outlineOf(definition.steps));
        return { ok: true, name: definition.name, steps };
      } catch (err) {
        if (isPosthornError(err) && err.code === "JOURNEY_DEFINITION_INVALID") return { ok: false, field: typeof err.details.field === "string" ? err.details.field : "", message: err.message };
        throw err;
      }
    });

    app.post("/workspaces/:workspaceId/journeys", { bodyLimit: DASHBOARD_BODY_LIMIT * 2 }, async (request): Promise<JourneyAnswer> => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "address");
      requireWorkspace(request, workspaceId, "change");
      const body = readInput(CreateBody, request.body, "body");
      return answer(await deps.journeys.create(workspaceId, body.document, { state: body.state }));
    });

    app.put("/workspaces/:workspaceId/journeys/:journeyId", { bodyLimit: DASHBOARD_BODY_LIMIT * 2 }, async (request): Promise<JourneyAnswer> => {
      const { workspaceId, journeyId } = readInput(JourneyParams, request.params, "address");
      requireWorkspace(request, workspaceId, "change");
      const body = readInput(DocumentBody, request.body, "body");
      return answer(await deps.journeys.update(workspaceId, journeyId, body.document));
    });

    app.put("/workspaces/:workspaceId/journeys/:journeyId/state", async (request): Promise<JourneyAnswer> => {
      const { workspaceId, journeyId } = readInput(JourneyParams, request.params, "address");
      requireWorkspace(request, workspaceId, "change");
      const body = readInput(StateBody, request.body, "body");
      return answer(await deps.journeys.setState(workspaceId, journeyId, body.state));
    });
  };
}

function summary(journey: Journey): JourneySummary {
  return { journeyId: journey.journeyId, name: journey.name, state: journey.state, version: journey.version, trigger: triggerSummary(journey.definition), origin: journey.origin, updatedAt: journey.updatedAt };
}

function answer(journey: Journey): JourneyAnswer {
  return { journey: { ...summary(journey), description: journey.definition.description, source: journey.source, createdAt: journey.createdAt }, steps: outlineOf(journey.definition.steps) };
}
