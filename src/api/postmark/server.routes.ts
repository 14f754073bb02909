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
import { parseServerChange, toServer, type ServerChange } from "./server.mapper.js";
import type { WebhooksService } from "../../webhooks/webhooks.service.js";
import { prepareServerHooks, serverHooks } from "./server-hooks.js";

export { postmarkServerId } from "./server.mapper.js";

export async function serverRoutes(app: FastifyInstance, deps: PostmarkApiDeps): Promise<void> {
  app.get("/server", async (request) => serverOf(deps, await current(deps, requireWorkspace(request))));

  app.put("/server", async (request) => {
    const workspace = await current(deps, requireWorkspace(request));
    const change = parseServerChange(request.body);
    if (change.workspace.sandbox === false && workspace.sandbox) {
      throw InvalidRequest("A server token cannot take its server out of the sandbox; the operator sets DeliveryType Live (posthorn workspace update, or PUT /servers/{id} with an account token).");
    }
    await applyServerChange(deps, workspace.id, change, request.body as Record<string, unknown>);
    return serverOf(deps, await current(deps, workspace));
  });
}

/** The workspace's Server object as stored now. */
export async function serverOf(deps: ServerDeps, workspace: Workspace, apiTokens?: string[]) {
  const [settings, inbound, hooks] = await Promise.all([deps.workspaces.settings(workspace.id), deps.inbound.settings(workspace.id), serverHooks(deps.webhooks, workspace.id)]);
  return toServer({ workspace, settings, inbound, hooks, apiTokens });
}

/** What reading and changing a Server takes: the workspace's settings, its inbound settings, and its legacy hooks (webhooks of its outbound stream). */
export interface ServerDeps {
  workspaces: WorkspacesService;
  inbound: InboundService;
  webhooks: WebhooksService;
}

/**
 * Applies a Server change: the legacy hook fields and the workspace's values are checked first
 * (hook URLs, name, colour, threshold), then the inbound settings are checked and saved, then the
 * workspace's and the hooks; a refused request changes nothing.
 */
export async function applyServerChange(deps: ServerDeps, workspaceId: string, change: ServerChange, input: Record<string, unknown>): Promise<void> {
  // PostFirstOpenOnly and IncludeBounceContentInHook are server settings: a hook made or changed
  // without them follows the stored value, so the Server and its hooks never disagree.
  const stored = await deps.workspaces.settings(workspaceId);
  const applyHooks = prepareServerHooks(deps.webhooks, workspaceId, {
    ...input,
    PostFirstOpenOnly: input.PostFirstOpenOnly ?? change.workspace.postFirstOpenOnly ?? stored.postFirstOpenOnly,
    IncludeBounceContentInHook: input.IncludeBounceContentInHook ?? change.workspace.includeBounceContentInHook ?? stored.includeBounceContentInHook,
  });
  await deps.workspaces.checkUpdate(workspaceId, change.workspace);
  await deps.inbound.updateSettings(workspaceId, change.inbound);
  await deps.workspaces.update(workspaceId, change.workspace);
  await applyHooks();
}

/** The workspace as stored now (the token cache may be a few seconds old, e.g. after a sandbox switch). */
async function current(deps: PostmarkApiDeps, workspace: Workspace): Promise<Workspace> {
  return (await deps.workspaces.findById(workspace.id)) ?? workspace;
}
