// The App API's journey calls — Posthorn's extension, since Customer.io has no public API to define
// campaigns: journeys defined (the document as JSON, or YAML text with a YAML content type),
// versioned (PUT makes a new version; runs stay on theirs unless moved), started and stopped,
// their metrics, and where a person is in each journey. A bad document answers 400 with
// errors[{reason, field, message}], the field being the document's path (steps[2].wait_until.timeout).
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from "fastify";
import type { Journey, JourneyVersion } from "../../journeys/journey.model.js";
import type { JourneyMetrics, JourneysService, RunSummary } from "../../journeys/journeys.port.js";
import type { PeopleReader } from "../../people/people.port.js";
import { JourneyNotFound } from "../../journeys/journeys.errors.js";
import { appWorkspace } from "./app-api.plugin.js";
import { AppCustomerNotFound, AppRequestInvalid } from "./app-api.errors.js";
import { isObject, limitParam, personParam, queryParam, startParam } from "./app-api.params.js";

export interface JourneysRoutesDeps {
  journeys: JourneysService;
  people: PeopleReader;
}

/** A journey document: JSON or YAML text, at most this many bytes. */
const MAX_DOCUMENT_BYTES = 512 * 1024;
const YAML_TYPES = ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"];
const STATES = ["draft", "live", "paused", "archived"] as const;
const DEFAULT_RUNS_PAGE = 50;
const MAX_RUNS_PAGE = 100;

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

export function journeysRoutes(deps: JourneysRoutesDeps): FastifyPluginAsync {
  const { journeys, people } = deps;
  const id = (request: FastifyRequest) => (request.params as { id: string }).id;
  const ws = (request: FastifyRequest) => appWorkspace(request).id;

  return async (app: FastifyInstance) => {
    // YAML documents arrive as text; the journeys domain parses them (and JSON) itself.
    app.addContentTypeParser(YAML_TYPES, { parseAs: "string", bodyLimit: MAX_DOCUMENT_BYTES }, (_request, body, done) => done(null, body));

    app.get("/journeys", async (request) => ({ journeys: (await journeys.list(ws(request))).map(journeyJson) }));

    app.post("/journeys", { bodyLimit: MAX_DOCUMENT_BYTES }, async (request) => {
      const state = stateQuery(request);
      const journey = await journeys.create(ws(request), documentOf(request), state === undefined ? {} : { state });
      return { journey: journeyJson(journey) };
    });

    app.get("/journeys/:id", async (request) => ({ journey: journeyJson(await journeyOf(request)) }));

    app.put("/journeys/:id", { bodyLimit: MAX_DOCUMENT_BYTES }, async (request) => ({ journey: journeyJson(await journeys.update(ws(request), id(request), documentOf(request))) }));

    app.delete("/journeys/:id", async (request, reply) => {
      await journeys.delete(ws(request), id(request));
      return reply.code(204).send();
    });

    app.get("/journeys/:id/versions", async (request) => ({ versions: (await journeys.versions(ws(request), id(request))).map(versionJson) }));

    app.post("/journeys/:id/state", async (request) => {
      const body = request.body;
      const state = isObject(body) ? body.state : undefined;
      if (typeof state !== "string" || !(STATES as readonly string[]).includes(state)) throw AppRequestInvalid(`state must be one of ${STATES.join(", ")}.`, { field: "state" });
      return { journey: journeyJson(await journeys.setState(ws(request), id(request), state as Journey["state"])) };
    });

    app.post("/journeys/:id/move_runs", async (request) => {
      const body = request.body ?? {};
      if (!isObject(body)) throw AppRequestInvalid('The body must be {} or {"from_version": n}.', { field: "body" });
      const from = body.from_version;
      if (from !== undefined && from !== null && !(Number.isInteger(from) && (from as number) >= 1)) throw AppRequestInvalid("from_version must be a version number (1 or more).", { field: "from_version" });
      const moved = await journeys.moveRuns(ws(request), id(request), typeof from === "number" ? { fromVersion: from } : {});
      return { moved: moved.moved, stayed: moved.stayed };
    });

    app.get("/journeys/:id/metrics", async (request) => {
      const raw = queryParam(request, "version");
      if (raw !== undefined && raw !== "" && !/^[1-9]\d{0,8}$/.test(raw)) throw AppRequestInvalid("version must be a version number.", { field: "version" });
      const metrics = await journeys.metrics(ws(request), id(request), raw ? { version: Number(raw) } : {});
      return { metrics: metricsJson(metrics) };
    });

    app.get("/customers/:id/journeys", async (request) => {
      const person = await people.find(ws(request), personParam(request));
      if (!person) throw AppCustomerNotFound("There is no such customer.");
      const page = await journeys.runsOf(person.workspaceId, person.personId, { limit: limitParam(request, DEFAULT_RUNS_PAGE, MAX_RUNS_PAGE), cursor: startParam(request) });
      return { runs: page.items.map(runJson), next: page.next ?? "" };
    });
  };

  async function journeyOf(request: FastifyRequest): Promise<Journey> {
    const found = await journeys.get(ws(request), id(request));
    if (!found) throw JourneyNotFound(`There is no journey ${id(request)}.`);
    return found;
  }
}

function stateQuery(request: FastifyRequest): Journey["state"] | undefined {
  const state = queryParam(request, "state");
  if (state === undefined || state === "") return undefined;
  if (!(STATES as readonly string[]).includes(state)) throw AppRequestInvalid(`state must be one of ${STATES.join(", ")}.`, { field: "state" });
  return state as Journey["state"];
}

/** The document: YAML text (a YAML content type) or a JSON object. */
function documentOf(request: FastifyRequest): string | Record<string, unknown> {
  const body = request.body;
  if (typeof body === "string" && body.trim() !== "") return body;
  if (isObject(body)) return body;
  throw AppRequestInvalid("The body must be a journey document: a JSON object, or YAML text with Content-Type application/yaml.", { field: "body" });
}

export function journeyJson(journey: Journey): Record<string, unknown> {
  return {
    id: Number(journey.journeyId),
    name: journey.name,
    description: journey.definition.description,
    state: journey.state,
    version: journey.version,
    trigger: journey.definition.trigger.kind,
    origin: journey.origin,
    created_at: seconds(journey.createdAt),
    updated_at: seconds(journey.updatedAt),
    source: journey.source,
  };
}

function versionJson(version: JourneyVersion): Record<string, unknown> {
  return { version: version.version, created_at: seconds(version.createdAt), source: version.source };
}

function metricsJson(m: JourneyMetrics): Record<string, unknown> {
  return {
    journey_id: Number(m.journeyId),
    version: m.version,
    entered: m.entered,
    active: m.active,
    completed: m.completed,
    exited: m.exited,
    converted: m.converted,
    steps: m.steps.map((s) => ({ step: s.stepId, entered: s.entered, completed: s.completed, waiting: s.waiting, failed: s.failed, converted: s.converted, messages: s.messages })),
  };
}

function runJson(run: RunSummary): Record<string, unknown> {
  return {
    id: run.runId,
    journey_id: Number(run.journeyId),
    version: run.version,
    state: run.state,
    step: run.stepId,
    due_at: seconds(run.dueAt),
    end_reason: run.endReason,
    entered_at: seconds(run.enteredAt),
    updated_at: seconds(run.updatedAt),
    path: run.path.map((p) => ({ step: p.stepId, at: seconds(p.at), outcome: p.outcome })),
  };
}
