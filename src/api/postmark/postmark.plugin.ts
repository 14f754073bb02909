// The Postmark-compatible server API (X-Postmark-Server-Token): authentication shared by its routes.
import type { FastifyInstance } from "fastify";
import type { WorkspacesService, Workspace } from "../../workspaces/workspaces.service.js";
import type { AcceptService } from "../../messages/accept/accept.service.js";
import type { MessagesService } from "../../messages/messages.service.js";
import type { InboundService } from "../../inbound/inbound.service.js";
import type { TemplatesService } from "../../templates/templates.service.js";
import { authenticateServer } from "./authentication.js";
import { limitTestTokenBodies } from "./request-limits.js";
import { emailRoutes } from "./email.routes.js";
import { outboundMessagesRoutes } from "./outbound-messages.routes.js";
import { inboundMessagesRoutes } from "./inbound.routes.js";
import { inboundRulesRoutes } from "./inbound-rules.routes.js";
import { serverRoutes } from "./server.routes.js";
import type { StreamsService } from "../../workspaces/streams.service.js";
import type { SuppressionsService } from "../../suppressions/suppressions.service.js";
import type { BouncesService } from "../../bounces/bounces.service.js";
import { messageStreamsRoutes } from "./message-streams.routes.js";
import { suppressionsRoutes } from "./suppressions.routes.js";
import { bouncesRoutes } from "./bounces.routes.js";
import { templatesRoutes } from "./templates.routes.js";
import { templatedEmailRoutes } from "./templated-email.routes.js";
import type { TrackingService } from "../../tracking/tracking.service.js";
import { opensClicksRoutes } from "./opens-clicks.routes.js";
import type { WebhooksService } from "../../webhooks/webhooks.service.js";
import { webhooksRoutes } from "./webhooks.routes.js";
import { bulkRoutes } from "./bulk.routes.js";
import type { BulkService } from "../../bulk/bulk.service.js";
import { statsRoutes } from "./stats.routes.js";
import type { StatsService } from "../../stats/stats.service.js";

export interface PostmarkApiDeps {
  workspaces: WorkspacesService;
  accept: AcceptService;
  messages: MessagesService;
  /** Inbound messages, inbound rules and the workspace's inbound settings (GET/PUT /server). */
  inbound: InboundService;
  /** Message streams (the Message Streams API). */
  streams: StreamsService;
  /** Suppressions per stream (the Suppressions API). */
  suppressions: SuppressionsService;
  /** Bounce records and delivery statistics (the Bounces API). */
  bounces: BouncesService;
  /** Templates and layouts, and sending with them. */
  templates: TemplatesService;
  /** Opens and clicks (GET /messages/outbound/opens, /clicks); also served by the tracking edge. */
  tracking?: TrackingService;
  /** Outbound webhooks (/webhooks, and the legacy hook URLs of GET/PUT /server). */
  webhooks: WebhooksService;
  /** Bulk sends (POST /email/bulk). */
  bulk: BulkService;
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
  await app.register(messageStreamsRoutes, deps);
  await app.register(suppressionsRoutes, deps);
  await app.register(bouncesRoutes, deps);
  await app.register(templatesRoutes, deps);
  await app.register(templatedEmailRoutes, deps);
  if (deps.tracking) await app.register(opensClicksRoutes, { tracking: deps.tracking });
  await app.register(webhooksRoutes, deps);
  await app.register(bulkRoutes, deps);
  await app.register(statsRoutes, deps);
}
