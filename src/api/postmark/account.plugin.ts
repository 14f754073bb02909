// The Postmark account API (X-Postmark-Account-Token): calls that span workspaces, such as
// sending domains. Its routes live beside this file and are registered here.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { WorkspacesService } from "../../workspaces/workspaces.service.js";
import { TokenInvalid } from "../../workspaces/workspaces.errors.js";
import { installJsonParsers } from "./json-body.js";

export interface AccountApiDeps {
  workspaces: WorkspacesService;
}

/** Routes that require an account token; each family registers itself with this hook applied. */
export async function accountPlugin(app: FastifyInstance, deps: AccountApiDeps & { routes: Array<(app: FastifyInstance) => Promise<void>> }): Promise<void> {
  installJsonParsers(app);
  app.addHook("preHandler", async (request) => {
    await authenticateAccount(request, deps.workspaces);
  });
  for (const routes of deps.routes) await app.register(routes);
}

async function authenticateAccount(request: FastifyRequest, workspaces: WorkspacesService): Promise<void> {
  const header = request.headers["x-postmark-account-token"];
  const token = (Array.isArray(header) ? header[0] : header)?.trim();
  if (request.headers["x-postmark-server-token"] && token) {
    throw TokenInvalid("Please do not include Server API Token for Account API Token calls.");
  }
  if (!token || !(await workspaces.authenticateAccountToken(token))) {
    throw TokenInvalid("Request does not contain a valid Account token.");
  }
}
