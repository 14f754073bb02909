// Postmark's Servers API (account token): the workspaces of the installation as Server objects.
// A server's ID is the number postmarkServerId() derives from the workspace's UUID, the one every
// other response names (ServerID, AssociatedServerId); /servers/{id} finds the workspace whose
// number it is. POST /servers answers the new workspace's first server token once, in ApiTokens:
// tokens are stored hashed, so GET never shows any.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Workspace, WorkspacesService } from "../../workspaces/workspaces.service.js";
import type { InboundService } from "../../inbound/inbound.service.js";
import { WorkspaceDeletionDisabled, WorkspaceNotFound } from "../../workspaces/workspaces.errors.js";
import { InvalidRequest } from "./postmark.edge-errors.js";
import { pageParams, stringParam, type Query } from "./query-params.js";
import { parseServerChange, postmarkServerId } from "./server.mapper.js";
import { applyServerChange, serverOf } from "./server.routes.js";
import { prepareServerHooks } from "./server-hooks.js";
import type { WebhooksService } from "../../webhooks/webhooks.service.js";

export interface ServersRoutesDeps {
  workspaces: WorkspacesService;
  inbound: InboundService;
  /** The legacy hook URLs of a Server are webhooks of its outbound stream. */
  webhooks: WebhooksService;
  /** POSTHORN_API_SERVER_DELETION: whether DELETE /servers/{id} may delete (422 / 604 otherwise). */
  deletionAllowed: boolean;
}

/** Longest name filter read; workspace names are at most 64 characters. */
const MAX_NAME_FILTER = 64;

/** The plugin for accountPlugin's `routes` (HttpServerDeps.accountRoutes). */
export function serversRoutes(deps: ServersRoutesDeps): (app: FastifyInstance) => Promise<void> {
  const { workspaces } = deps;
  return async (app) => {
    app.get("/servers", async (request) => {
      const q = request.query as Query;
      // Servers are few; no count + offset window applies, only count's 500.
      const page = pageParams(q, Number.MAX_SAFE_INTEGER);
      const name = stringParam(q, "name")?.slice(0, MAX_NAME_FILTER);
      const found = await workspaces.page({ ...page, name });
      return { TotalCount: found.total, Servers: await Promise.all(found.workspaces.map((w) => serverOf(deps, w))) };
    });

    app.get("/servers/:id", async (request) => serverOf(deps, await workspaceOf(deps, request)));

    app.post("/servers", async (request) => {
      const change = parseServerChange(request.body);
      const { name, sandbox, ...settings } = change.workspace;
      if (name === undefined) throw InvalidRequest("'Name' is required.");
      // Postmark creates Live servers unless DeliveryType says Sandbox.
      const { workspace, serverToken } = await workspaces.create(name, { sandbox: sandbox === true, settings });
      try {
        const applyHooks = prepareServerHooks(deps.webhooks, workspace.id, request.body as Record<string, unknown>);
        await deps.inbound.updateSettings(workspace.id, change.inbound);
        await applyHooks();
      } catch (err) {
        // A refused inbound setting or hook refuses the whole request: nothing is left behind.
        await workspaces.delete(workspace.id);
        throw err;
      }
      return serverOf(deps, workspace, [serverToken]);
    });

    app.put("/servers/:id", async (request) => {
      const workspace = await workspaceOf(deps, request);
      await applyServerChange(deps, workspace.id, parseServerChange(request.body), request.body as Record<string, unknown>);
      return serverOf(deps, (await workspaces.findById(workspace.id)) ?? workspace);
    });

    app.delete("/servers/:id", async (request) => {
      if (!deps.deletionAllowed) {
        throw WorkspaceDeletionDisabled("Deleting servers through the API is turned off on this installation; the operator turns it on with POSTHORN_API_SERVER_DELETION=true.");
      }
      const workspace = await workspaceOf(deps, request);
      await workspaces.delete(workspace.id);
      return { ErrorCode: 0, Message: `Server ${workspace.name} removed.` };
    });
  };
}

/**
 * The workspace a server ID names. The number is derived, not stored, so the workspaces are
 * scanned: an installation has few (tens to hundreds), and this is the account API, not a send path.
 */
async function workspaceOf(deps: ServersRoutesDeps, request: FastifyRequest): Promise<Workspace> {
  const { id } = request.params as { id: string };
  const number = /^\d{1,10}$/.test(id) ? Number(id) : NaN;
  const found = Number.isNaN(number) ? undefined : (await deps.workspaces.list()).find((w) => postmarkServerId(w.id) === number);
  if (!found) throw WorkspaceNotFound(`No server with ID '${id}'.`);
  return found;
}
