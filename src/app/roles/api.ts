// The api role: the HTTP edge (Postmark server and account APIs, the app API, health) listening
// on POSTHORN_HTTP_PORT.
import type { Tracing } from "../../observability/tracing.js";
import type { FastifyInstance } from "fastify";
import type { Config } from "../../config/config.schema.js";
import type { Logger } from "../../shared/logger.js";
import type { Store } from "../../store/store.js";
import { buildHttpServer } from "../../api/http.server.js";
import { domainsRoutes } from "../../api/postmark/domains.routes.js";
import { serversRoutes } from "../../api/postmark/servers.routes.js";
import { dataRemovalsRoutes } from "../../api/postmark/data-removals.routes.js";
import { queueRoutes } from "../../api/app/queue.routes.js";
import { dashboardFamily } from "../../api/dashboard/dashboard.family.js";
import { webFilesRoutes } from "../../api/dashboard/web-files.js";
import { dashboardRoutes } from "../dashboard-routes.js";
import { sendersRoutes } from "../../api/postmark/senders.routes.js";
import { senderConfirmationRoutes } from "../../api/postmark/sender-confirmation.routes.js";
import { templatesPushRoutes } from "../../api/postmark/templates-push.routes.js";
import { v1Family } from "../../api/v1.family.js";
import { pipelineRoutes } from "../../api/pipeline/pipeline.routes.js";
import { trackFamily } from "../../api/track/track.family.js";
import { loadTrackCertificate } from "../../api/track/track-certificate.js";
import { listenHttps, type HttpsListener } from "../../api/track/track.https.js";
import { appApiRoutes } from "../../api/cio-app/app-api.plugin.js";
import { exportFilesRoutes } from "../../api/cio-app/exports.routes.js";
import type { Container } from "../container.js";
import type { Metrics } from "../../observability/metrics.js";
import type { ReadinessAnswer } from "../../observability/readiness.js";
import { metricsRoutes } from "../../api/metrics.routes.js";

export interface ApiRole {
  /** The API's base URL, with a host a local client can reach. */
  url: string;
  /** The same API over HTTPS (POSTHORN_TRACK_HTTPS_PORT), for customerio-node; null when off. */
  httpsUrl: string | null;
  /** The HTTPS listener's certificate: its SHA-256 fingerprint and where it is kept; null when off. */
  httpsCertificate: { fingerprint256: string; path: string } | null;
  /** Stops accepting requests and lets those in flight finish. */
  stop(): Promise<void>;
}

export interface ApiRoleDeps extends Pick<Container, "workspaces" | "accept" | "messages" | "activity" | "inbound" | "queue" | "domains" | "streams" | "suppressions" | "bounces" | "senders" | "templates" | "dataRemovals" | "tracking" | "webhooks" | "bulk" | "stats" | "segments" | "people" | "clock" | "transactional" | "messageLimits" | "broadcasts" | "outreachLedger" | "journeys" | "broadcastTriggers" | "users" | "exports"> {
  config: Config;
  logger: Logger;
  store: Store;
  /** Counts requests; served on this port as /metrics only with POSTHORN_METRICS_TOKEN and no metrics listener. */
  metrics: Metrics;
  /** /readyz's answer (src/app/observability.ts). */
  readiness: () => Promise<ReadinessAnswer>;
  /** Traces, when on: each request in a span named by its route. */
  tracing?: Tracing;
}

export async function startApiRole(deps: ApiRoleDeps): Promise<ApiRole> {
  const { config } = deps;
  // /metrics on this public port only for a scraper with the token, and never when the operator gave it a port of its own.
  const metricsOnApiPort = config.metrics.listen === null && config.metrics.token !== null ? [metricsRoutes({ metrics: deps.metrics, token: config.metrics.token })] : [];
  const http: FastifyInstance = buildHttpServer({
    logger: deps.logger,
    trustRequestId: config.http.trustRequestId,
    ...(deps.tracing ? { tracing: deps.tracing } : {}),
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
    // Export download links carry their own signature instead of a key (src/exports/download-links.ts);
    // the web dashboard's files hold no data (its calls need a session).
    publicRoutes: [senderConfirmationRoutes({ senders: deps.senders }), exportFilesRoutes({ exports: deps.exports }), webFilesRoutes(), ...metricsOnApiPort],
    // Behavioral data (issue 11): the Track API under /api/v1 and /api/v2, the Segment-spec
    // pipeline API and Customer.io's App API under /v1.
    families: [
      v1Family({
        workspaces: deps.workspaces,
        pipeline: [pipelineRoutes({ workspaces: deps.workspaces, people: deps.people, clock: deps.clock })],
        app: [
          appApiRoutes({
            workspaces: deps.workspaces,
            segments: deps.segments,
            people: deps.people,
            transactional: deps.transactional,
            messageLimits: deps.messageLimits,
            outreach: deps.outreachLedger,
            broadcasts: deps.broadcasts,
            journeys: deps.journeys,
            triggers: deps.broadcastTriggers,
            exports: deps.exports,
          }),
        ],
      }),
      trackFamily({ workspaces: deps.workspaces, people: deps.people, segments: deps.segments }),
      // The web dashboard's API (issue 13), with a session cookie.
      dashboardFamily({ users: deps.users, routes: dashboardRoutes(deps) }),
    ],
    tracking: deps.tracking,
    readTime: { seconds: config.tracking.readSeconds, holdMax: config.tracking.readHoldMax },
    webhooks: deps.webhooks,
    bulk: deps.bulk,
    stats: deps.stats,
    limits: { requestTimeoutMs: config.http.requestTimeoutMs, bodyBudgetBytes: config.http.bodyBudgetBytes },
    readiness: deps.readiness,
    metrics: deps.metrics,
  });
  await http.listen({ port: config.http.port, host: config.http.host });
  const address = http.server.address();
  const port = typeof address === "object" && address ? address.port : config.http.port;
  const host = config.http.host === "0.0.0.0" || config.http.host === "::" ? "127.0.0.1" : config.http.host;
  const hostInUrl = host.includes(":") ? `[${host}]` : host;
  const url = `http://${hostInUrl}:${port}`;
  deps.tracking.useListenerUrl(url);
  // The Track API's HTTPS listener (track.config.ts): the same app behind a second server.
  let https: HttpsListener | null = null;
  let certificate: ApiRole["httpsCertificate"] = null;
  if (config.trackApi.httpsPort !== null) {
    try {
      const loaded = loadTrackCertificate({ configured: config.trackApi.tls, dataDir: config.dataDir, hostname: config.hostname });
      certificate = { fingerprint256: loaded.fingerprint256, path: loaded.certPath };
      https = await listenHttps(http, { port: config.trackApi.httpsPort, host: config.http.host, cert: loaded.cert, key: loaded.key, limits: { requestTimeoutMs: config.http.requestTimeoutMs, bodyBudgetBytes: config.http.bodyBudgetBytes }, ...(deps.tracing ? { tracing: deps.tracing } : {}) });
    } catch (err) {
      await http.close();
      throw err;
    }
  }
  return {
    url,
    httpsUrl: https ? `https://${hostInUrl}:${https.port}` : null,
    httpsCertificate: certificate,
    stop: async () => {
      await https?.close();
      await http.close();
    },
  };
}
