// The operator's port (POSTHORN_METRICS_LISTEN): GET /metrics, /readyz and /healthz on an address
// of its own, for a Prometheus and an orchestrator's probes on a private network, and for the
// processes that run no API (mta, worker, smtp). Plain node:http rather than a second Fastify: three
// fixed paths need no router, and this port must keep answering when the API is saturated.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { timingSafeEqual, createHash } from "node:crypto";
import type { Metrics } from "./metrics.js";
import type { ReadinessAnswer } from "./readiness.js";

export interface MetricsListener {
  /** host:port as bound (the port chosen when 0 was asked). */
  address: { host: string; port: number };
  close(): Promise<void>;
}

export interface MetricsEndpoints {
  metrics: Metrics;
  readiness: () => Promise<ReadinessAnswer>;
  /** Required on /metrics as a bearer token, when set. */
  token: string | null;
}

/** Whether an Authorization header carries the token; compared in constant time (of the hashes). */
export function presentsToken(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (!match) return false;
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}

export async function startMetricsListener(listen: { host: string; port: number }, endpoints: MetricsEndpoints): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    answer(req, res, endpoints).catch(() => send(res, 500, "text/plain; charset=utf-8", "internal error\n"));
  });
  // Scrapes come every few seconds: keep their connections briefly, never a slow client long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === "object" && bound ? bound.port : listen.port;
  return {
    address: { host: listen.host, port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

async function answer(req: IncomingMessage, res: ServerResponse, endpoints: MetricsEndpoints): Promise<void> {
  const path = (req.url ?? "/").split("?")[0]!.replace(/\/+$/, "") || "/";
  if (path !== "/metrics" && path !== "/readyz" && path !== "/healthz") return send(res, 404, "text/plain; charset=utf-8", "not found: this port serves /metrics, /readyz and /healthz\n");
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    return send(res, 405, "text/plain; charset=utf-8", `method ${req.method} not allowed: use GET\n`);
  }
  if (path === "/healthz") return send(res, 200, "application/json; charset=utf-8", JSON.stringify({ status: "ok" }));
  if (path === "/readyz") {
    const { ready, body } = await endpoints.readiness();
    return send(res, ready ? 200 : 503, "application/json; charset=utf-8", JSON.stringify(body));
  }
  if (endpoints.token !== null && !presentsToken(req.headers.authorization, endpoints.token)) {
    res.setHeader("www-authenticate", 'Bearer realm="posthorn metrics"');
    return send(res, 401, "text/plain; charset=utf-8", "a bearer token (POSTHORN_METRICS_TOKEN) is required\n");
  }
  const { contentType, text } = await endpoints.metrics.scrape();
  return send(res, 200, contentType, text);
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
  res.end(res.req.method === "HEAD" ? undefined : body);
}
