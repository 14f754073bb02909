// The HTTP edge: one Fastify instance carrying each API family as a plugin. Paths and query keys
// match case-insensitively and trailing slashes are ignored, because the official Postmark
// clients spell paths and keys differently from Postmark's own docs (reference §1.1).
//
// What every request meets before a route sees it, in order: Node's request timeout (the whole
// request within POSTHORN_HTTP_REQUEST_TIMEOUT), authentication (onRequest, before the body is
// read; also for paths that are no API call, so that only a client with credentials learns which
// exist), the body budget and the route's body limit, then JSON parsing with a nesting bound.
// Every refusal, down to a malformed request line, is a Postmark error body.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from "fastify";
import { parse as parseQuery } from "node:querystring";
import type { Logger } from "../shared/logger.js";
import { isPosthornError } from "../shared/errors.js";
import type { PostmarkApiDeps } from "./postmark/postmark.plugin.js";
import { postmarkPlugin } from "./postmark/postmark.plugin.js";
import { toPostmarkError } from "./postmark/postmark.errors.js";
import { accountPlugin } from "./postmark/account.plugin.js";
import { installJsonParsers } from "./postmark/json-body.js";
import { authenticateAccount, authenticateServer, presentedFamily } from "./postmark/authentication.js";
import { NoSuchCall, TooBusy } from "./postmark/postmark.edge-errors.js";
import { DEFAULT_BODY_BYTES } from "./postmark/request-limits.js";
import { BodyBudget } from "./request-bodies.js";
import { REQUEST_ID_HEADER, requestIdGenerator } from "./request-id.js";
import { lazySchemaCompilers } from "./schema-compilers.js";
// Open pixels, tracked links and unsubscribe links (/t/…), served without Postmark's authentication.
import { trackingPlugin } from "./tracking/tracking.plugin.js";
import type { Metrics } from "../observability/metrics.js";
import type { ReadinessAnswer } from "../observability/readiness.js";
import type { Tracing } from "../observability/tracing.js";

export interface HttpLimits {
  /** Headers and body within this, or 408 and the connection closed. */
  requestTimeoutMs: number;
  /** Bytes of bodies held at once (request-bodies.ts). */
  bodyBudgetBytes: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = { requestTimeoutMs: 60_000, bodyBudgetBytes: 128 * 1024 * 1024 };

export interface HttpServerDeps extends PostmarkApiDeps {
  /** How open pixels measure read time (src/api/tracking/read-timer.ts); absent: not measured. */
  readTime?: { seconds: number; holdMax: number };
  /** Route families of the account API (X-Postmark-Account-Token), e.g. sending domains. */
  accountRoutes?: Array<(app: FastifyInstance) => Promise<void>>;
  /** Pages that need no token (e.g. sender-signature confirmation links); each answers its own errors. */
  publicRoutes?: Array<(app: FastifyInstance) => Promise<void>>;
  /**
   * API families with their own credentials and error form (the Track API, the Segment-spec
   * pipeline API, Customer.io's App API): each plugin serves the paths under its prefixes and
   * answers the unknown ones itself (its own setNotFoundHandler), after its own authentication.
   */
  families?: ApiFamily[];
  logger: Logger;
  /** Whether the process is ready to serve (database reachable, roles started, not behind): src/observability/readiness.ts. */
  readiness: () => Promise<Pick<ReadinessAnswer, "ready"> & { body: unknown }>;
  /** Counts every answered request by route pattern (src/observability/metrics.ts); absent: not counted. */
  metrics?: Metrics;
  limits?: HttpLimits;
  /** Whether an incoming X-Request-Id (from a proxy in front) names the request (src/api/request-id.ts). */
  trustRequestId?: boolean;
  /** Traces (src/observability/tracing.ts): each request in a span named by its route pattern; absent: no span, no wrapper. */
  tracing?: Pick<Tracing, "http" | "route">;
}

export interface ApiFamily {
  name: string;
  /** Lower-case path prefixes, ending in "/" ("/api/v1/"); Postmark's calls have none of them. */
  prefixes: string[];
  plugin: FastifyPluginAsync;
  /**
   * A request under its prefixes that the router cannot read (a path segment over
   * MAX_PATH_SEGMENT, bad escapes): the family authenticates it and answers `status`/`message` in
   * its own form. Without it, such requests are answered in Postmark's form.
   */
  refuseUnroutable?(request: FastifyRequest, status: number, message: string): Promise<{ status: number; body: unknown }>;
}

/**
 * The longest path segment routed. Customer.io identifiers in paths may be 150 bytes, which
 * percent-encoded UTF-8 makes up to 450 characters; longer segments are refused with 414.
 */
export const MAX_PATH_SEGMENT = 512;

/** Keep idle keep-alive sockets a while: API clients reuse connections heavily. */
const KEEP_ALIVE_MS = 65_000;

export function buildHttpServer(deps: HttpServerDeps): FastifyInstance {
  const limits = deps.limits ?? DEFAULT_HTTP_LIMITS;
  const app = Fastify({
    // Per-request logs (info) would cost more than the requests at thousands per second; the
    // HTTP edge logs warnings and errors only.
    loggerInstance: deps.logger.child({ component: "http" }, { level: "warn" }) as FastifyBaseLogger,
    bodyLimit: DEFAULT_BODY_BYTES,
    // No route declares a JSON schema: Ajv and fast-json-stringify load only if one ever does.
    schemaController: { compilersFactory: lazySchemaCompilers() },
    // Every line logged while a request is handled carries its id, also answered as X-Request-Id.
    genReqId: requestIdGenerator(deps.trustRequestId ?? false),
    logController: new LogController({ requestIdLogLabel: "requestId" }),
    routerOptions: {
      maxParamLength: MAX_PATH_SEGMENT,
      caseSensitive: false,
      ignoreTrailingSlash: true,
      querystringParser: (text: string) => lowerCaseKeys(parseQuery(text)),
    },
    keepAliveTimeout: KEEP_ALIVE_MS,
    // Node enforces the request timeout only when it checks its connections; it checks often
    // enough here that a short configured timeout holds.
    serverFactory: (handler) =>
      createServer(
        {
          requestTimeout: limits.requestTimeoutMs,
          headersTimeout: limits.requestTimeoutMs,
          keepAliveTimeout: KEEP_ALIVE_MS,
          connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(limits.requestTimeoutMs / 4))),
        },
        deps.tracing ? deps.tracing.http(handler as (req: IncomingMessage, res: ServerResponse) => void) : (handler as (req: IncomingMessage, res: ServerResponse) => void),
      ),
    clientErrorHandler: answerClientError,
    // A path the router cannot read (bad escapes, a segment over 100 characters): refused after
    // authentication, like any other path that is no call.
    frameworkErrors: (err, request, untyped) => {
      const reply = untyped as FastifyReply;
      const [status, message] =
        err.code === "FST_ERR_MAX_PARAM_LENGTH" ? [414, `A path segment is longer than ${MAX_PATH_SEGMENT} characters.`] : [400, "The path is not a valid URL."];
      // Under a family's prefix, the family judges the credentials and words the refusal.
      const family = familyOf(request.url);
      if (family?.refuseUnroutable) {
        family.refuseUnroutable(request, status, message).then(
          (answer) => reply.code(answer.status).send(answer.body),
          () => reply.code(500).send({ meta: { error: "Internal server error." } }),
        );
        return;
      }
      authenticatePresented(request, deps).then(
        () => reply.code(status).send({ ErrorCode: 0, Message: message }),
        (refused: unknown) => {
          const { status: refusedStatus, body } = isPosthornError(refused) ? toPostmarkError(refused) : { status: 500, body: { ErrorCode: 0, Message: "Internal server error." } };
          reply.code(refusedStatus).send(body);
        },
      );
    },
  });

  app.setErrorHandler((err, request, reply) => {
    // A refusal sent before the body was read (credentials, limits) closes the connection rather
    // than read what the client still sends.
    if (!request.raw.complete) reply.header("connection", "close");
    if (isPosthornError(err)) {
      const { status, body } = toPostmarkError(err);
      return reply.code(status).send(body);
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 413) return reply.code(413).send({ ErrorCode: 300, Message: "The request is too large." });
    if (status && status >= 400 && status < 500) return reply.code(status).send({ ErrorCode: 300, Message: err instanceof Error ? err.message : "Bad request." });
    request.log.error({ event: "http.request.failed", err, url: request.url }, "request failed");
    return reply.code(500).send({ ErrorCode: 0, Message: "Internal server error." });
  });

  installJsonParsers(app);

  // First of the hooks, so that a refused request (authentication, limits) is answered with it too.
  const tracing = deps.tracing;
  app.addHook("onRequest", (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    // The pattern (/messages/outbound/:id/details), never the URL, whose paths carry ids and tokens.
    if (tracing) tracing.route(request.method, request.routeOptions.url);
    done();
  });

  // A path that is no route: authenticated as the call would be, then refused in Postmark's form,
  // all before its body is read.
  const families = deps.families ?? [];
  const familyOf = (url: string) => {
    const path = pathOf(url) + "/";
    return families.find((f) => f.prefixes.some((p) => path.startsWith(p)));
  };
  const claimed = (url: string) => familyOf(url) !== undefined;
  app.addHook("onRequest", async (request) => {
    if (!request.is404 || claimed(request.url)) return;
    await refuseUnknownCall(request, deps);
  });
  app.setNotFoundHandler(async (request) => refuseUnknownCall(request, deps));

  const budget = new BodyBudget(limits.bodyBudgetBytes, () => TooBusy("Too many large requests are being received at once; retry shortly."));
  app.addHook("preParsing", async (request, reply, payload) => budget.admit(request, reply, payload));

  // The route's pattern, never the raw URL: ids in paths would make a series per message.
  const metrics = deps.metrics;
  if (metrics) app.addHook("onResponse", async (request, reply) => metrics.httpRequest(request.routeOptions.url ?? null, request.method, reply.statusCode, reply.elapsedTime / 1000));

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const { ready, body } = await deps.readiness();
    return reply.code(ready ? 200 : 503).send(body);
  });

  app.register(postmarkPlugin, deps);
  for (const routes of deps.publicRoutes ?? []) app.register(routes);
  if (deps.accountRoutes?.length) app.register(accountPlugin, { workspaces: deps.workspaces, routes: deps.accountRoutes });
  if (deps.tracking) app.register(trackingPlugin, { tracking: deps.tracking, readTime: deps.readTime ?? { seconds: 0, holdMax: 1 } });
  for (const family of families) app.register(family.plugin);
  return app;
}

/**
 * A request that names no call: authenticated first like any other (an unauthenticated client
 * learns nothing about which calls exist), then refused as Postmark's form of a 404. Every call of
 * Postmark's server and account APIs is served (test/postmark-coverage.test.ts).
 */
async function refuseUnknownCall(request: FastifyRequest, deps: HttpServerDeps): Promise<never> {
  await authenticatePresented(request, deps);
  throw NoSuchCall(`There is no API call ${request.method} ${pathOf(request.url)}.`);
}

type TokenFamily = "server" | "account";

/** The lower-cased path of a request URL, without its query string or a trailing slash. */
function pathOf(url: string): string {
  const query = url.indexOf("?");
  let path = (query < 0 ? url : url.slice(0, query)).toLowerCase();
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  return path;
}

/** Authenticates a request by the token family the call needs, or else the one it presents. */
async function authenticatePresented(request: FastifyRequest, deps: HttpServerDeps, family: TokenFamily = presentedFamily(request)): Promise<void> {
  if (family === "account") await authenticateAccount(request, deps.workspaces);
  else await authenticateServer(request, deps.workspaces);
}

/** Requests Node's parser refuses before Fastify sees them: a Postmark error body, then close. */
function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, message] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "Request Timeout", "The request did not arrive within the time allowed."]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large", "The request line and headers are too large."]
        : [400, "Bad Request", "The request is not valid HTTP."];
  const body = JSON.stringify({ ErrorCode: 0, Message: message });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function lowerCaseKeys(query: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(query)) out[key.toLowerCase()] = value;
  return out;
}
