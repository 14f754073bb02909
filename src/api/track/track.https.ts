// A second listener for the HTTP edge: the same Fastify instance (its routing function, so every
// hook, limit and family applies alike) behind an HTTPS server with the Track API's certificate
// (track-certificate.ts), and the same request timeouts as the plain listener.
import { createServer, type Server } from "node:https";
import type { FastifyInstance } from "fastify";
import type { HttpLimits } from "../http.server.js";
import type { Tracing } from "../../observability/tracing.js";

export interface HttpsListener {
  port: number;
  /** Stops accepting connections and waits for the requests in flight. */
  close(): Promise<void>;
}

const KEEP_ALIVE_MS = 65_000;

/** Listens on `port` (0: a free one); call after `app.listen()` or `app.ready()`. */
export async function listenHttps(
  app: FastifyInstance,
  options: { port: number; host: string; cert: string; key: string; limits: HttpLimits; tracing?: Pick<Tracing, "http"> },
): Promise<HttpsListener> {
  const { limits } = options;
  const server: Server = createServer(
    {
      cert: options.cert,
      key: options.key,
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: KEEP_ALIVE_MS,
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(limits.requestTimeoutMs / 4))),
    },
    // Traced as the plain listener's requests are (http.server.ts), when tracing is on.
    options.tracing ? options.tracing.http(app.routing) : app.routing,
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        // close() also ends idle keep-alive connections (Node 19+); busy ones end after their request.
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
