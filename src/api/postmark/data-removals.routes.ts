// Postmark's data removal calls (account token): POST /data-removals asks for an address to be
// erased from every workspace, GET /data-removals/{id} tells whether it is done. The erasure runs
// in the worker role (src/data-removals/).
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { DataRemoval, DataRemovalsService } from "../../data-removals/data-removals.service.js";
import { DataRemovalNotFound } from "../../data-removals/data-removals.errors.js";
import { InvalidRequest } from "./postmark.edge-errors.js";

export interface DataRemovalsRoutesDeps {
  dataRemovals: DataRemovalsService;
}

const STATUS: Record<DataRemoval["state"], string> = { pending: "Pending", done: "Done" };

/** The plugin for accountPlugin's `routes` (HttpServerDeps.accountRoutes). */
export function dataRemovalsRoutes(deps: DataRemovalsRoutesDeps): (app: FastifyInstance) => Promise<void> {
  return async (app) => {
    app.post("/data-removals", async (request) => {
      const body = request.body;
      if (body === null || typeof body !== "object" || Array.isArray(body)) throw InvalidRequest("The request body must be a JSON object.");
      const input = body as Record<string, unknown>;
      const removal = await deps.dataRemovals.request({ requestedBy: input.RequestedBy, requestedFor: input.RequestedFor, notify: input.NotifyWhenCompleted });
      return toDataRemoval(removal);
    });

    app.get("/data-removals/:id", async (request) => toDataRemoval(await deps.dataRemovals.status(removalId(request))));
  };
}

function toDataRemoval(removal: DataRemoval) {
  return { ID: removal.id, Status: STATUS[removal.state] };
}

function removalId(request: FastifyRequest): number {
  const { id } = request.params as { id: string };
  if (!/^\d{1,15}$/.test(id) || Number(id) < 1) throw DataRemovalNotFound(`No data removal request with ID '${id}'.`);
  return Number(id);
}
