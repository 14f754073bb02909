// Who a Postmark API request is: a workspace (X-Postmark-Server-Token), the account
// (X-Postmark-Account-Token), or Postmark's test token. Run as onRequest hooks, before the body is
// read: a request without valid credentials is refused for the cost of one header and one hashed
// lookup, whatever it sends after its headers.
import type { FastifyRequest } from "fastify";
import type { Workspace, WorkspacesService } from "../../workspaces/workspaces.service.js";
import { TokenInvalid } from "../../workspaces/workspaces.errors.js";

/** Postmark's test token: requests using it are validated but nothing is accepted. */
export const TEST_TOKEN = "POSTMARK_API_TEST";

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value)?.trim() || undefined;
}

/** The workspace a server token names; null for the test token. Throws TOKEN_INVALID otherwise. */
export async function authenticateServer(request: FastifyRequest, workspaces: WorkspacesService): Promise<Workspace | null> {
  const token = header(request, "x-postmark-server-token");
  if (header(request, "x-postmark-account-token") && token) {
    throw TokenInvalid("Please do not include Account API Token for Server API Token calls.");
  }
  if (!token) throw TokenInvalid("Request does not contain a valid Server token.");
  if (token === TEST_TOKEN) return null;
  const workspace = await workspaces.authenticateServerToken(token);
  if (!workspace) throw TokenInvalid("Request does not contain a valid Server token.");
  return workspace;
}

/** Throws TOKEN_INVALID unless the request carries a valid account token (and no server token). */
export async function authenticateAccount(request: FastifyRequest, workspaces: WorkspacesService): Promise<void> {
  const token = header(request, "x-postmark-account-token");
  if (header(request, "x-postmark-server-token") && token) {
    throw TokenInvalid("Please do not include Server API Token for Account API Token calls.");
  }
  if (!token || !(await workspaces.authenticateAccountToken(token))) {
    throw TokenInvalid("Request does not contain a valid Account token.");
  }
}

/** Which token a request to a path Posthorn does not serve is judged by: the one it carries. */
export function presentedFamily(request: FastifyRequest): "server" | "account" {
  return header(request, "x-postmark-account-token") && !header(request, "x-postmark-server-token") ? "account" : "server";
}
