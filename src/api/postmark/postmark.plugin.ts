// The Postmark-compatible API: body parsing and authentication shared by its routes.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { WorkspacesService, Workspace } from "../../workspaces/workspaces.service.js";
import type { AcceptService } from "../../messages/accept/accept.service.js";
import type { MessagesService } from "../../messages/messages.service.js";
import type { InboundService } from "../../inbound/inbound.service.js";
import { TokenInvalid } from "../../workspaces/workspaces.errors.js";
import { installJsonParsers } from "./json-body.js";
import { emailRoutes } from "./email.routes.js";
import { outboundMessagesRoutes } from "./outbound-messages.routes.js";
import { inboundMessagesRoutes } from "./inbound.routes.js";
import { inboundRulesRoutes } from "./inbound-rules.routes.js";
import { serverRoutes } from "./server.routes.js";

export interface PostmarkApiDeps {
  workspaces: WorkspacesService;
  accept: AcceptService;
  messages: MessagesService;
  /** Inbound messages, inbound rules and the workspace's inbound settings (GET/PUT /server). */
  inbound: InboundService;
}

/** Postmark's test token: requests using it are validated but nothing is accepted. */
export const TEST_TOKEN = "POSTMARK_API_TEST";

declare module "fastify" {
  interface FastifyRequest {
    /** The authenticated workspace; null when the request used the test token. */
    workspace: Workspace | null;
  }
}

export async function postmarkPlugin(app: FastifyInstance, deps: PostmarkApiDeps): Promise<void> {
  app.decorateRequest("workspace", null);

  installJsonParsers(app);

  app.addHook("preHandler", async (request) => {
    if (request.url === "/healthz" || request.url === "/readyz") return;
    request.workspace = await authenticate(request, deps.workspaces);
  });

  await app.register(emailRoutes, deps);
  await app.register(outboundMessagesRoutes, deps);
  await app.register(inboundMessagesRoutes, deps);
  await app.register(inboundRulesRoutes, deps);
  await app.register(serverRoutes, deps);
}

async function authenticate(request: FastifyRequest, workspaces: WorkspacesService): Promise<Workspace | null> {
  const header = request.headers["x-postmark-server-token"];
  const token = (Array.isArray(header) ? header[0] : header)?.trim();
  if (request.headers["x-postmark-account-token"] && token) {
    throw TokenInvalid("Please do not include Account API Token for Server API Token calls.");
  }
  if (!token) throw TokenInvalid("Request does not contain a valid Server token.");
  if (token === TEST_TOKEN) return null;
  const workspace = await workspaces.authenticateServerToken(token);
  if (!workspace) throw TokenInvalid("Request does not contain a valid Server token.");
  return workspace;
}
