// The Postmark account API (X-Postmark-Account-Token): calls that span workspaces, such as
// sending domains. Its routes live beside this file and are registered here.
import type { FastifyInstance } from "fastify";
import type { WorkspacesService } from "../../workspaces/workspaces.service.js";
import { authenticateAccount } from "./authentication.js";

export interface AccountApiDeps {
  workspaces: WorkspacesService;
}

/** Routes that require an account token; each family registers itself with this hook applied. */
export async function accountPlugin(app: FastifyInstance, deps: AccountApiDeps & { routes: Array<(app: FastifyInstance) => Promise<void>> }): Promise<void> {
  // Credentials before the body: onRequest runs before a byte of it is read.
  app.addHook("onRequest", async (request) => {
    await authenticateAccount(request, deps.workspaces);
  });
  for (const routes of deps.routes) await app.register(routes);
}
