// The app API's queue calls (account token): the same operations as `posthorn queue`.
import type { FastifyInstance } from "fastify";
import type { QueueService } from "../../mta/queue/queue.service.js";
import { InvalidRequest } from "../postmark/postmark.edge-errors.js";

export function queueRoutes(queue: QueueService) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get("/app/queue", async () => queue.summary());

    app.post("/app/queue/retry", async (request) => {
      const body = (request.body ?? {}) as { domain?: unknown };
      if (body.domain !== undefined && typeof body.domain !== "string") throw InvalidRequest("'domain' must be a string.");
      return { retried: await queue.retryNow({ domain: body.domain }) };
    });

    app.post("/app/queue/purge", async (request) => {
      const body = (request.body ?? {}) as { domain?: unknown; reason?: unknown };
      if (typeof body.domain !== "string") throw InvalidRequest("'domain' is required: the recipient domain to purge.");
      if (body.reason !== undefined && typeof body.reason !== "string") throw InvalidRequest("'reason' must be a string.");
      return { purged: await queue.purge({ domain: body.domain, reason: body.reason }) };
    });
  };
}
