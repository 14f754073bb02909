// GET /metrics on the API port, when POSTHORN_METRICS_TOKEN is set and no metrics listener is: a
// public port must not tell the world the workspaces' ids and volumes, so the scrape presents the
// token as a bearer token. A refusal is in Postmark's form, like every answer of this port.
import type { FastifyInstance } from "fastify";
import type { Metrics } from "../observability/metrics.js";
import { presentsToken } from "../observability/metrics.listener.js";

export function metricsRoutes(deps: { metrics: Metrics; token: string }) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get("/metrics", async (request, reply) => {
      if (!presentsToken(request.headers.authorization, deps.token)) {
        return reply.code(401).header("www-authenticate", 'Bearer realm="posthorn metrics"').send({ ErrorCode: 10, Message: "A bearer token (POSTHORN_METRICS_TOKEN) is required for /metrics." });
      }
      const { contentType, text } = await deps.metrics.scrape();
      return reply.type(contentType).send(text);
    });
  };
}
