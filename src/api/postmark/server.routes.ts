// GET /server and PUT /server: the token's workspace as Postmark's Server object (server.mapper.ts),
// every setting of it stored. A server token may put its workspace into the sandbox but not take
// it out: going Live is the operator's call (the CLI, or an account token's PUT /servers/{id}).
import type { FastifyInstance } from "fastify";
import type { Workspace } from "../../workspaces/workspaces.service.js";
import type { InboundService } from "../../inbound/inbound.service.js";
import type { WorkspacesService } from "../../workspaces/workspaces.service.js";
import { InvalidRequest } from "./postmark.edge-errors.js";
import type { PostmarkApiDeps } from "./postmark.plugin.js";
import { requireWorkspace } from "./query-params.js";
import { NO_LEGACY_HOOKS, parseServerChange, toServer, type ServerChange } from "./server.mapper.js";

export { postmarkServerId } from "./server.mapper.js";

export async function serverRoutes(app: FastifyInstance, deps: PostmarkApiDeps): Promise<void> {
  app.get("/server", async (request) => serverOf(deps, await current(deps, requireWorkspace(request))));

  app.put("/server", async (request) => {
    const workspace = await current(deps, requireWorkspace(request));
    const change = parseServerChange(request.body, NO_LEGACY_HOOKS);
    if (change.workspace.sandbox === false && workspace.sandbox) {
      throw InvalidRequest("A server token cannot take its server out of the sandbox; the operator sets DeliveryType Live (posthorn workspace update, or PUT /servers/{id} with an account token).");
    }
    await applyServerChange(deps, workspace.id, change);
    return serverOf(deps, await current(deps, workspace));
  });
}

/** The workspace's Server object as stored now. */
export async function serverOf(deps: { workspaces: WorkspacesService; inbound: InboundService }, workspace: Workspace, apiTokens?: string[]) {
  const [settings, inbound] = await Promise.all([deps.workspaces.settings(workspace.id), deps.inbound.settings(workspace.id)]);
  return toServer({ workspace, settings, inbound, hooks: NO_LEGACY_HOOKS, apiTokens });
}

/**
 * Applies a Server change: the workspace's values are checked first (name, colour, threshold),
 * then the inbound settings are checked and saved, then the workspace's; a refused request
 * changes nothing.
 */
export async function applyServerChange(deps: { workspaces: WorkspacesService; inbound: InboundService }, workspaceId: string, change: ServerChange): Promise<void> {
  await deps.workspaces.checkUpdate(workspaceId, change.workspace);
  await deps.inbound.updateSettings(workspaceId, change.inbound);
  await deps.workspaces.update(workspaceId, change.workspace);
}

/** The workspace as stored now (the token cache may be a few seconds old, e.g. after a sandbox switch). */
async function current(deps: PostmarkApiDeps, workspace: Workspace): Promise<Workspace> {
  return (await deps.workspaces.findById(workspace.id)) ?? workspace;
}
