// The HTTP edge: one Fastify instance carrying each API family as a plugin. Paths and query keys
// match case-insensitively and trailing slashes are ignored, because the official Postmark
// clients spell paths and keys differently from Postmark's own docs (reference §1.1).
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { parse as parseQuery } from "node:querystring";
import type { Logger } from "../shared/logger.js";
import { isPosthornError } from "../shared/errors.js";
import type { PostmarkApiDeps } from "./postmark/postmark.plugin.js";
import { postmarkPlugin } from "./postmark/postmark.plugin.js";
import { toPostmarkError } from "./postmark/postmark.errors.js";
import { accountPlugin } from "./postmark/account.plugin.js";

/** Postmark accepts up to 50 MB per batch call. */
const BODY_LIMIT_BYTES = 50 * 1024 * 1024;

export interface HttpServerDeps extends PostmarkApiDeps {
  /** Route families of the account API (X-Postmark-Account-Token), e.g. sending domains. */
  accountRoutes?: Array<(app: FastifyInstance) => Promise<void>>;
  logger: Logger;
  /** Whether the process is ready to serve (database reachable, roles started). */
  readiness: () => Promise<{ ready: boolean; detail: Record<string, unknown> }>;
}

export function buildHttpServer(deps: HttpServerDeps): FastifyInstance {
  const app = Fastify({
    // Per-request logs (info) would cost more than the requests at thousands per second; the
    // HTTP edge logs warnings and errors only.
    loggerInstance: deps.logger.child({ component: "http" }, { level: "warn" }) as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: {
      caseSensitive: false,
      ignoreTrailingSlash: true,
      querystringParser: (text: string) => lowerCaseKeys(parseQuery(text)),
    },
    // Keep idle keep-alive sockets a while: API clients reuse connections heavily.
    keepAliveTimeout: 65_000,
  });

  app.setErrorHandler((err, request, reply) => {
    if (isPosthornError(err)) {
      const { status, body } = toPostmarkError(err);
      return reply.code(status).send(body);
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 413) return reply.code(413).send({ ErrorCode: 300, Message: "The request is too large." });
    if (status && status >= 400 && status < 500) return reply.code(status).send({ ErrorCode: 300, Message: err instanceof Error ? err.message : "Bad request." });
    request.log.error({ err, url: request.url }, "request failed");
    return reply.code(500).send({ ErrorCode: 0, Message: "Internal server error." });
  });

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const { ready, detail } = await deps.readiness();
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not ready", ...detail });
  });

  app.register(postmarkPlugin, deps);
  if (deps.accountRoutes?.length) app.register(accountPlugin, { workspaces: deps.workspaces, routes: deps.accountRoutes });
  return app;
}

function lowerCaseKeys(query: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(query)) out[key.toLowerCase()] = value;
  return out;
}
