// Customer.io's App API (Bearer app key), as routes under /v1 beside the Segment-spec pipeline API
// (v1.family.ts). Its own encapsulated plugin: the key is checked in onRequest, before any body is
// read, and every refusal has Customer.io's form ({"meta":{"error"}}, and errors[] with the field
// on a 400) through the Customer.io error table. Every call answers for the key's workspace only.
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from "fastify";
import { isPosthornError } from "../../shared/errors.js";
import type { WorkspacesService, Workspace } from "../../workspaces/workspaces.service.js";
import type { PeopleReader } from "../../people/people.port.js";
import type { SegmentsService } from "../../segments/segments.service.js";
import { bearerToken } from "../customerio/credentials.js";
import { toCustomerIoError } from "../customerio/customerio.errors.js";
import { AppKeyInvalid } from "./app-api.errors.js";
import { segmentsRoutes } from "./segments.routes.js";
import { customersRoutes } from "./customers.routes.js";
import { sendRoutes } from "./send.routes.js";
import { messageLimitsRoutes } from "./message-limits.routes.js";
import type { TransactionalMessagesService } from "../../channels/email/transactional-messages.service.js";
import type { MessageLimitsSettings } from "../../channels/email/outreach.port.js";
import type { OutreachLedger } from "../../channels/email/outreach.port.js";
import type { BroadcastsService } from "../../broadcasts/broadcasts.service.js";
import { broadcastsRoutes } from "./broadcasts.routes.js";
import type { JourneysService } from "../../journeys/journeys.port.js";
import type { BroadcastTriggersService } from "../../broadcasts/broadcast-triggers.service.js";
import { journeysRoutes } from "./journeys.routes.js";
import { campaignTriggersRoutes } from "./campaign-triggers.routes.js";
import type { ExportsService } from "../../exports/exports.service.js";
import { exportsRoutes } from "./exports.routes.js";

export interface AppApiDeps {
  workspaces: WorkspacesService;
  segments: SegmentsService;
  people: PeopleReader;
  transactional: TransactionalMessagesService;
  messageLimits: MessageLimitsSettings;
  /** Messages sent to people (GET /v1/customers/{id}/messages). */
  outreach: OutreachLedger;
  broadcasts: BroadcastsService;
  journeys: JourneysService;
  triggers: BroadcastTriggersService;
  /** Customers and deliveries exports (built by the worker role). */
  exports: ExportsService;
}

const workspaceOf = new WeakMap<FastifyRequest, Workspace>();

/** The workspace of the request's app key (set by the onRequest check, so always there in a route). */
export function appWorkspace(request: FastifyRequest): Workspace {
  const workspace = workspaceOf.get(request);
  if (!workspace) throw AppKeyInvalid("Unauthorized request: the App API key is not valid.");
  return workspace;
}

export function appApiRoutes(deps: AppApiDeps): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    app.addHook("onRequest", async (request) => {
      const key = bearerToken(request);
      const workspace = key === null ? null : await deps.workspaces.authenticateAppKey(key);
      if (!workspace) throw AppKeyInvalid("Unauthorized request: the App API key is not valid.");
      workspaceOf.set(request, workspace);
    });
    app.setErrorHandler((err, request, reply) => {
      if (!request.raw.complete) reply.header("connection", "close");
      if (isPosthornError(err)) {
        const { status, body } = toCustomerIoError(err);
        return reply.code(status).send(body);
      }
      const status = (err as { statusCode?: number }).statusCode;
      if (status && status >= 400 && status < 500) return reply.code(status).send({ meta: { error: err instanceof Error ? err.message : "Bad request." } });
      request.log.error({ event: "http.request.failed", err, url: request.url }, "App API request failed");
      return reply.code(500).send({ meta: { error: "Internal server error." } });
    });
    await app.register(segmentsRoutes(deps));
    await app.register(customersRoutes(deps));
    await app.register(sendRoutes(deps));
    await app.register(messageLimitsRoutes(deps));
    await app.register(broadcastsRoutes(deps));
    await app.register(journeysRoutes(deps));
    await app.register(campaignTriggersRoutes(deps));
    await app.register(exportsRoutes(deps));
  };
}
