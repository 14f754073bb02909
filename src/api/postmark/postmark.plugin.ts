// The Postmark-compatible server API (X-Postmark-Server-Token): authentication shared by its routes.
import type { FastifyInstance } from "fastify";
import type { WorkspacesService, Workspace } from "../../workspaces/workspaces.service.js";
import type { AcceptService } from "../../messages/accept/accept.service.js";
import type { MessagesService } from "../../messages/messages.service.js";
import type { InboundService } from "../../inbound/inbound.service.js";
import { authenticateServer } from "./authentication.js";
import { limitTestTokenBodies } from "./request-limits.js";
import { emailRoutes } from "./email.routes.js";
import { outboundMessagesRoutes } from "./outbound-messages.routes.js";
import { inboundMessagesRoutes } from "./inbound.routes.js";
import { inboundRulesRoutes } from "./inbound-rules.routes.js";
import { serverRoutes } from "./server.routes.js";
import { statsRoutes } from "./stats.routes.js";
import type { StatsService } from "../../stats/stats.service.js";

export interface PostmarkApiDeps {
  workspaces: WorkspacesService;
  accept: AcceptService;
  messages: MessagesService;
  /** Inbound messages, inbound rules and the workspace's inbound settings (GET/PUT /server). */
  inbound: InboundService;
  /** Outbound stats from the rollups (GET /stats/outbound…); the calls are not served without it. */
  stats?: StatsService;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The authenticated workspace; null when the request used the test token. */
    workspace: Workspace | null;
  }
}

export async function postmarkPlugin(app: FastifyInstance, deps: PostmarkApiDeps): Promise<void> {
  app.decorateRequest("workspace", null);

  // Credentials before the body: onRequest runs before a byte of it is read.
  app.addHook("onRequest", async (request) => {
    request.workspace = await authenticateServer(request, deps.workspaces);
  });
  limitTestTokenBodies(app);

  await app.register(emailRoutes, deps);
  await app.register(outboundMessagesRoutes, deps);
  await app.register(inboundMessagesRoutes, deps);
  await app.register(inboundRulesRoutes, deps);
  await app.register(serverRoutes, deps);
  await app.register(statsRoutes, deps);
}
