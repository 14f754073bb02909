// The App API's segment calls: list and define segments (a `conditions` member makes a
// data-driven one: Posthorn's extension; without it a manual one, as Customer.io creates), their
// size, and their members, paged by an opaque `start` cursor.
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import type { Person } from "../../people/people.port.js";
import type { Segment } from "../../segments/segments.port.js";
import { SegmentNotFound } from "../../segments/segments.errors.js";
import { MAX_PAGE } from "../../segments/segments.service.js";
import type { AppApiDeps } from "./app-api.plugin.js";
import { appWorkspace } from "./app-api.plugin.js";
import { AppRequestInvalid } from "./app-api.errors.js";
import { identifiersJson, segmentJson } from "./app-api.mapper.js";
import { isObject, limitParam, segmentIdParam, startParam } from "./app-api.params.js";

const DEFAULT_MEMBERS_PAGE = 1_000;

export function segmentsRoutes(deps: AppApiDeps): FastifyPluginAsync {
  const { segments, people } = deps;
  const shown = async (segment: Segment) => segmentJson(segment, await segments.filled(segment.workspaceId, segment.segmentId));
  const found = async (workspaceId: string, segmentId: string): Promise<Segment> => {
    const segment = await segments.get(workspaceId, segmentId);
    if (!segment) throw SegmentNotFound(`There is no segment ${segmentId}.`);
    return segment;
  };

  return async (app: FastifyInstance) => {
    app.get("/segments", async (request) => {
      const list = await segments.list(appWorkspace(request).id);
      return { segments: await Promise.all(list.map(shown)) };
    });

    app.post("/segments", async (request) => {
      const input = segmentInput(request.body, true);
      const segment = await segments.create(appWorkspace(request).id, { name: input.name!, description: input.description, conditions: input.conditions });
      return { segment: await shown(segment) };
    });

    app.get("/segments/:id", async (request) => ({ segment: await shown(await found(appWorkspace(request).id, segmentIdParam(request))) }));

    app.put("/segments/:id", async (request) => {
      const segment = await segments.update(appWorkspace(request).id, segmentIdParam(request), segmentInput(request.body, false));
      return { segment: await shown(segment) };
    });

    app.delete("/segments/:id", async (request, reply) => {
      await segments.delete(appWorkspace(request).id, segmentIdParam(request));
      return reply.code(204).send();
    });

    app.get("/segments/:id/customer_count", async (request) => ({ count: await segments.size(appWorkspace(request).id, segmentIdParam(request)) }));

    app.get("/segments/:id/membership", async (request) => {
      const workspaceId = appWorkspace(request).id;
      const page = await segments.members(workspaceId, segmentIdParam(request), { limit: limitParam(request, DEFAULT_MEMBERS_PAGE, MAX_PAGE), cursor: startParam(request) });
      const members: Person[] = [];
      for (const member of page.items) {
        const person = await people.get(workspaceId, member.personId);
        if (person) members.push(person);
      }
      const identifiers = members.map(identifiersJson);
      // ids: the id of each member, "" for one known by email only (as Customer.io's docs say).
      return { identifiers, ids: identifiers.map((i) => i.id ?? ""), next: page.next ?? "" };
    });
  };
}

/** The `segment` object of a create or update. */
function segmentInput(body: unknown, creating: boolean): { name?: string; description?: string; conditions?: unknown } {
  if (!isObject(body) || !isObject(body.segment)) throw AppRequestInvalid('The body must be {"segment": {"name": …, "description": …}}.', { field: "segment" });
  const { name, description, conditions, ...rest } = body.segment;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw AppRequestInvalid(`segment.${unknown[0]} is not a segment field (name, description, conditions).`, { field: `segment.${unknown[0]}` });
  if (creating && name === undefined) throw AppRequestInvalid("segment.name is required.", { field: "segment.name" });
  if (name !== undefined && typeof name !== "string") throw AppRequestInvalid("segment.name must be a string.", { field: "segment.name" });
  if (description !== undefined && typeof description !== "string") throw AppRequestInvalid("segment.description must be a string.", { field: "segment.description" });
  return { name, description, conditions };
}
