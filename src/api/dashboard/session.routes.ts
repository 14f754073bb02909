// Sign-in, the current session, sign-out, and the workspaces the session may see.
import type { FastifyInstance } from "fastify";
import type { UsersService } from "../../users/users.service.js";
import { SESSION_IDLE_MS } from "../../users/users.service.js";
import type { Workspace } from "../../workspaces/workspaces.service.js";
import { readInput } from "./dashboard.input.js";
import { SignInBody, type SessionAnswer, type WorkspaceSummary } from "./session.contract.js";
import { DASHBOARD_BODY_LIMIT, sessionOfRequest } from "./dashboard.family.js";
import { clearSessionCookie, sessionToken, setSessionCookie } from "./session-cookie.js";

export interface SessionRoutesDeps {
  users: UsersService;
  workspaces: { findById(id: string): Promise<Workspace | null> };
}

export function sessionRoutes(deps: SessionRoutesDeps) {
  const workspacesOf = async (ids: string[]): Promise<WorkspaceSummary[]> =>
    (await Promise.all(ids.map((id) => deps.workspaces.findById(id))))
      .filter((w): w is Workspace => w !== null)
      .map((w) => ({ id: w.id, name: w.name, sandbox: w.sandbox }))
      .sort((a, b) => a.name.localeCompare(b.name));

  return async function routes(app: FastifyInstance): Promise<void> {
    app.post("/session", { bodyLimit: 4_096 }, async (request, reply) => {
      const body = readInput(SignInBody, request.body, "sign-in (send {\"email\", \"password\"} as JSON)");
      const { token, session } = await deps.users.signIn({ email: body.email, password: body.password, clientAddress: request.ip });
      setSessionCookie(request, reply, token, Math.floor(SESSION_IDLE_MS / 1000));
      const answer: SessionAnswer = { user: session.user, csrfToken: session.csrfToken, expiresAt: session.expiresAt, workspaces: await workspacesOf(session.workspaceIds) };
      return answer;
    });

    app.get("/session", async (request) => {
      const session = sessionOfRequest(request);
      const answer: SessionAnswer = { user: session.user, csrfToken: session.csrfToken, expiresAt: session.expiresAt, workspaces: await workspacesOf(session.workspaceIds) };
      return answer;
    });

    app.delete("/session", { bodyLimit: DASHBOARD_BODY_LIMIT }, async (request, reply) => {
      const token = sessionToken(request);
      if (token !== null) await deps.users.signOut(token);
      clearSessionCookie(request, reply);
      return reply.code(204).send();
    });

    app.get("/workspaces", async (request) => ({ workspaces: await workspacesOf(sessionOfRequest(request).workspaceIds) }));
  };
}
