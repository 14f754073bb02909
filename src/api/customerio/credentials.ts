// Credentials as Customer.io's and Segment's clients present them: HTTP Basic (Track API: site id
// and API key; Segment spec: the write key as username and an empty password) and Bearer (App
// API). Parsed from the header only, before any body is read.
import type { FastifyRequest } from "fastify";

/** The Basic username and password, or null when the header is absent or not Basic. */
export function basicCredentials(request: FastifyRequest): { username: string; password: string } | null {
  const header = request.headers.authorization;
  if (typeof header !== "string" || !/^basic /i.test(header)) return null;
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return { username: decoded, password: "" };
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The Bearer token, or null. */
export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== "string" || !/^bearer /i.test(header)) return null;
  return header.slice(7).trim() || null;
}
