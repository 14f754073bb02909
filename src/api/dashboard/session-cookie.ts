// The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends
// it), Secure when the dashboard is served over TLS, and scoped to the whole host because the
// dashboard's pages (/) and its API (/api/app/) both need it.
import type { FastifyReply, FastifyRequest } from "fastify";

export const SESSION_COOKIE = "posthorn_session";

export function sessionToken(request: FastifyRequest): string | null {
  const header = request.headers.cookie;
  if (typeof header !== "string" || header.length > 8_192) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string, maxAgeSeconds: number): void {
  reply.header("set-cookie", `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure(request) ? "; Secure" : ""}`);
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.header("set-cookie", `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure(request) ? "; Secure" : ""}`);
}

function secure(request: FastifyRequest): boolean {
  return request.protocol === "https";
}
