// The api role: the HTTP edge (Postmark server and account APIs, the app API, health) listening
// on POSTHORN_HTTP_PORT.
import type { FastifyInstance } from "fastify";
import type { Config } from "../../config/config.schema.js";
import type { Logger } from "../../shared/logger.js";
import type { Store } from "../../store/store.js";
import { buildHttpServer } from "../../api/http.server.js";
import { domainsRoutes } from "../../api/postmark/domains.routes.js";
import { serversRoutes } from "../../api/postmark/servers.routes.js";
import { dataRemovalsRoutes } from "../../api/postmark/data-removals.routes.js";
import { queueRoutes } from "../../api/app/queue.routes.js";
import { sendersRoutes } from "../../api/postmark/senders.routes.js";
import { senderConfirmationRoutes } from "../../api/postmark/sender-confirmation.routes.js";
import { templatesPushRoutes } from "../../api/postmark/templates-push.routes.js";
import { v1Family } from "../../api/v1.family.js";
import { pipelineRoutes } from "../../api/pipeline/pipeline.routes.js";
import type { Container } from "../container.js";

export interface ApiRole {
  /** The API's base URL, with a host a local client can reach. */
  url: string;
  /** Stops accepting requests and lets those in flight finish. */
  stop(): Promise<void>;
}

export interface ApiRoleDeps extends Pick<Container, "workspaces" | "accept" | "messages" | "inbound" | "queue" | "domains" | "streams" | "suppressions" | "bounces" | "senders" | "templates" | "dataRemovals" | "tracking" | "webhooks" | "bulk" | "stats" | "people" | "clock"> {
  config: Config;
  logger: Logger;
  store: Store;
  /** Whether every role of the process has started (readiness). */
  started: () => boolean;
}

export async function startApiRole(deps: ApiRoleDeps): Promise<ApiRole> {
  const { config, store } = deps;
  const http: FastifyInstance = buildHttpServer({
    logger: deps.logger,
    workspaces: deps.workspaces,
    accept: deps.accept,
    messages: deps.messages,
    inbound: deps.inbound,
    streams: deps.streams,
    suppressions: deps.suppressions,
    bounces: deps.bounces,
    templates: deps.templates,
    accountRoutes: [
      queueRoutes(deps.queue),
      domainsRoutes({ domains: deps.domains }),
      sendersRoutes({ senders: deps.senders }),
      templatesPushRoutes({ templates: deps.templates, workspaces: deps.workspaces }),
      serversRoutes({ workspaces: deps.workspaces, inbound: deps.inbound, webhooks: deps.webhooks, deletionAllowed: config.http.serverDeletion }),
      dataRemovalsRoutes({ dataRemovals: deps.dataRemovals }),
    ],
    publicRoutes: [senderConfirmationRoutes({ senders: deps.senders })],
    // Behavioral data (issue 11): the Track API under /api/v1 and /api/v2, the Segment-spec
    // pipeline API and Customer.io's App API under /v1.
    families: [
      v1Family({
        workspaces: deps.workspaces,
        pipeline: [pipelineRoutes({ workspaces: deps.workspaces, people: deps.people, clock: deps.clock })],
        app: [],
      }),
    ],
    tracking: deps.tracking,
    webhooks: deps.webhooks,
    bulk: deps.bulk,
    stats: deps.stats,
    limits: { requestTimeoutMs: config.http.requestTimeoutMs, bodyBudgetBytes: config.http.bodyBudgetBytes },
    readiness: async () => {
      try {
        await store.ping();
        return { ready: deps.started(), detail: { database: "ok", roles: config.roles } };
      } catch (err) {
        return { ready: false, detail: { database: (err as Error).message, roles: config.roles } };
      }
    },
  });
  await http.listen({ port: config.http.port, host: config.http.host });
  const address = http.server.address();
  const port = typeof address === "object" && address ? address.port : config.http.port;
  const host = config.http.host === "0.0.0.0" || config.http.host === "::" ? "127.0.0.1" : config.http.host;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  deps.tracking.useListenerUrl(url);
  return { url, stop: () => http.close() };
}
