// Request helpers shared by the Postmark server-API routes: the authenticated workspace, query
// parameters (keys arrive lower-cased, see http.server.ts) and Postmark's paging limits.
import type { FastifyRequest } from "fastify";
import type { Workspace } from "../../workspaces/workspaces.service.js";
import { TokenInvalid } from "../../workspaces/workspaces.errors.js";
import { InvalidRequest } from "./postmark.edge-errors.js";

/** Postmark's paging limits: at most 500 records per call and, for message and bounce searches, count + offset ≤ 10,000. */
export const MAX_COUNT = 500;
export const MAX_WINDOW = 10_000;

export type Query = Record<string, unknown>;

/** The request's workspace; the test token only validates sends and owns no data to read or change. */
export function requireWorkspace(request: FastifyRequest): Workspace {
  if (!request.workspace) throw TokenInvalid("Request does not contain a valid Server token.");
  return request.workspace;
}

function first(q: Query, key: string): unknown {
  const value = q[key];
  return Array.isArray(value) ? value[0] : value;
}

/** A non-empty string parameter (the first, when repeated), or undefined. */
export function stringParam(q: Query, key: string): string | undefined {
  const value = first(q, key);
  return typeof value === "string" && value !== "" ? value : undefined;
}

export function intParam(q: Query, key: string, fallback: number): number {
  const value = stringParam(q, key);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw InvalidRequest(`'${key}' must be a whole number.`);
  return Number(value);
}

/** Accepts Postmark's date forms (YYYY-MM-DD, or a full ISO timestamp); a bare date as end of range includes that whole day. */
export function dateParam(q: Query, key: string, endOfDay: boolean): number | undefined {
  const value = stringParam(q, key);
  if (value === undefined) return undefined;
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const ms = Date.parse(dateOnly ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms)) throw InvalidRequest(`'${key}' is not a date.`);
  return dateOnly && endOfDay ? ms + 86_400_000 - 1 : ms;
}

/**
 * `count` (default 100, as the official client always sends) and `offset` (default 0), within
 * Postmark's limits: 1 ≤ count ≤ 500 and, where a window applies, count + offset ≤ window.
 */
export function pageParams(q: Query, window: number = MAX_WINDOW): { count: number; offset: number } {
  const count = intParam(q, "count", 100);
  const offset = intParam(q, "offset", 0);
  if (count < 1 || count > MAX_COUNT) throw InvalidRequest(`'count' must be between 1 and ${MAX_COUNT}.`);
  if (count + offset > window) throw InvalidRequest(`'count' plus 'offset' must not exceed ${window}.`);
  return { count, offset };
}
