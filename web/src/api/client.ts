// The dashboard's one way to the server: same-origin fetches under /api/app with the session
// cookie, the CSRF token on every change, and refusals turned into ApiError with the server's
// code and message. A 401 anywhere means the session ended: the session provider hears it and
// shows the sign-in page.
import type { DashboardErrorBody } from "@contract/session.contract";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const SIGNED_OUT_EVENT = "posthorn:signed-out";

let csrfToken = "";
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

/** `/api/app` + path + the query's set values. */
export function apiUrl(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  const search = params.toString();
  return `/api/app${path}${search ? `?${search}` : ""}`;
}

/** The API path of a call about one workspace: /workspaces/{id}/… */
export function workspacePath(workspaceId: string, path: string): string {
  return `/workspaces/${encodeURIComponent(workspaceId)}${path}`;
}

export async function apiGet<T>(path: string, query?: Query, init: { signal?: AbortSignal } = {}): Promise<T> {
  return answer<T>(await fetch(apiUrl(path, query), { credentials: "same-origin", headers: { accept: "application/json" }, signal: init.signal ?? null }));
}

export async function apiSend<T>(method: "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json", "x-csrf-token": csrfToken };
  if (body !== undefined) headers["content-type"] = "application/json";
  const init: RequestInit = { method, credentials: "same-origin", headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  return answer<T>(await fetch(apiUrl(path), init));
}

async function answer<T>(res: Response): Promise<T> {
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (res.ok) return parsed as T;
  const error = (parsed as DashboardErrorBody | null)?.error;
  const failure = new ApiError(res.status, error?.code ?? "HTTP_" + res.status, error?.message ?? `The server answered ${res.status}.`);
  if (res.status === 401 && failure.code === "SESSION_REQUIRED") window.dispatchEvent(new Event(SIGNED_OUT_EVENT));
  throw failure;
}
