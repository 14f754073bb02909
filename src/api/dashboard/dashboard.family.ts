// The dashboard's API under /api/app/ (issue 13): what the web dashboard calls, with a session
// cookie instead of a token. Every call but sign-in needs a session, checked in onRequest (before
// a byte of the body is read), so that a request without one costs a cookie lookup; every change
// (anything but GET and HEAD) also needs the session's CSRF token in X-CSRF-Token and, when the
// browser sends an Origin, this host's own. Errors are `{"error": {"code", "message"}}`
// (dashboard.edge-errors.ts). The routes themselves are in the *.routes.ts files beside this one.
import { timingSafeEqual } from "node:crypto";
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { isPosthornError } from "../../shared/errors.js";
import type { SignedIn, UsersService } from "../../users/users.service.js";
import { CsrfFailed, NotPermitted, SessionRequired } from "../../users/users.errors.js";
import type { ApiFamily } from "../http.server.js";
import { DashboardNotFound, DashboardRequestInvalid, toDashboardError } from "./dashboard.edge-errors.js";
import { sessionToken } from "./session-cookie.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The signed-in session of a dashboard API call (null only on the sign-in call). */
    dashboardSession: SignedIn | null;
  }
}

export interface DashboardDeps {
  users: UsersService;
  /** The dashboard's calls, each a plugin registered under /api/app. */
  routes: FastifyPluginAsync[];
}

/** The one call that needs no session. */
const SIGN_IN = "/api/app/session";
/** Bodies of dashboard calls are small forms and documents. */
export const DASHBOARD_BODY_LIMIT = 256 * 1024;

export function dashboardFamily(deps: DashboardDeps): ApiFamily {
  return {
    name: "dashboard",
    prefixes: ["/api/app/"],
    refuseUnroutable: async (request, status, message) => {
      const session = await sessionOf(request, deps.users);
      if (!session) return toDashboardError(SessionRequired());
      return { status, body: { error: { code: status === 404 ? "DASHBOARD_NOT_FOUND" : "DASHBOARD_REQUEST_INVALID", message } } };
    },
    plugin: async (root: FastifyInstance) => {
      await root.register(
        async (app) => {
          app.decorateRequest("dashboardSession", null);
          app.setErrorHandler(answerError);
          app.addHook("onRequest", async (request) => {
            const signingIn = request.method === "POST" && pathOf(request.url) === SIGN_IN;
            if (!signingIn) {
              const session = await sessionOf(request, deps.users);
              if (!session) throw SessionRequired();
              request.dashboardSession = session;
            }
            if (changes(request)) checkOrigin(request);
            if (changes(request) && !signingIn) checkCsrf(request, request.dashboardSession!);
          });
          for (const routes of deps.routes) await app.register(routes);
          app.setNotFoundHandler(async (request) => {
            throw DashboardNotFound(`There is no dashboard API call ${request.method} ${pathOf(request.url)}.`);
          });
        },
        { prefix: "/api/app" },
      );
    },
  };
}

/** The session of a call that passed the onRequest hook. */
export function sessionOfRequest(request: FastifyRequest): SignedIn {
  if (!request.dashboardSession) throw SessionRequired();
  return request.dashboardSession;
}

/** Refuses a viewer's change, and any call about a workspace the session is not granted. */
export function requireWorkspace(request: FastifyRequest, workspaceId: string, access: "read" | "change"): SignedIn {
  const session = sessionOfRequest(request);
  if (!session.workspaceIds.includes(workspaceId)) throw NotPermitted("The session is not granted that workspace.");
  if (access === "change" && session.user.role !== "admin") throw NotPermitted("Viewers cannot change anything.");
  return session;
}

async function sessionOf(request: FastifyRequest, users: UsersService): Promise<SignedIn | null> {
  const token = sessionToken(request);
  return token === null ? null : users.session(token);
}

function changes(request: FastifyRequest): boolean {
  return request.method !== "GET" && request.method !== "HEAD";
}

/** A browser names the page's origin on every change; another site's page cannot name ours. */
function checkOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const host = request.headers.host;
  let ours = false;
  try {
    ours = host !== undefined && new URL(origin).host === host;
  } catch {
    ours = false;
  }
  if (!ours) throw CsrfFailed("The request came from another site's page.");
}

function checkCsrf(request: FastifyRequest, session: SignedIn): void {
  const sent = request.headers["x-csrf-token"];
  const a = Buffer.from(typeof sent === "string" ? sent : "");
  const b = Buffer.from(session.csrfToken);
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw CsrfFailed();
}

function answerError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // A refusal sent before the body was read closes the connection rather than read the rest.
  if (!request.raw.complete) reply.header("connection", "close");
  if (isPosthornError(err)) {
    const { status, body } = toDashboardError(err);
    if (err.code === "SIGN_IN_THROTTLED") reply.header("retry-after", String(err.details.retryAfterSeconds ?? 900));
    return reply.code(status).send(body);
  }
  const status = err.statusCode;
  if (status === 413) return reply.code(413).send({ error: { code: "DASHBOARD_REQUEST_INVALID", message: "The request body is too large." } });
  if (status !== undefined && status >= 400 && status < 500) return reply.code(status).send(toDashboardError(DashboardRequestInvalid(err.message)).body);
  request.log.error({ event: "http.request.failed", err, url: request.url }, "dashboard request failed");
  return reply.code(500).send({ error: { code: "INTERNAL", message: "Internal server error." } });
}

function pathOf(url: string): string {
  return url.split("?")[0]!.toLowerCase();
}
