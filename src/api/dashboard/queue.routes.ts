// The dashboard's queue: one workspace's deliveries by state, its most backlogged destinations
// (oldest, next due, last reply) and their waiting deliveries, and "retry now" for a destination
// or one delivery. The same operations as `posthorn queue` and /app/queue (src/mta/queue/
// queue.service.ts), scoped to the workspace: a workspace's admin cannot move another's mail.
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { QueueService } from "../../mta/queue/queue.service.js";
import { readInput } from "./dashboard.input.js";
import { DASHBOARD_BODY_LIMIT, requireWorkspace } from "./dashboard.family.js";
import { DestinationParams, RetryBody, type DestinationAnswer, type QueueAnswer, type RetryAnswer } from "./queue.contract.js";

export interface QueueRoutesDeps {
  queue: Pick<QueueService, "workspaceSummary" | "waitingFor" | "retryNowIn">;
}

const WorkspaceParams = z.object({ workspaceId: z.string().min(1).max(100) });
const DestinationPath = WorkspaceParams.extend(DestinationParams.shape);

export function queueRoutes(deps: QueueRoutesDeps) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get("/workspaces/:workspaceId/queue", async (request) => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "path");
      requireWorkspace(request, workspaceId, "read");
      const answer: QueueAnswer = await deps.queue.workspaceSummary(workspaceId);
      return answer;
    });

    app.get("/workspaces/:workspaceId/queue/destinations/:domain", async (request) => {
      const { workspaceId, domain } = readInput(DestinationPath, request.params, "path");
      requireWorkspace(request, workspaceId, "read");
      const answer: DestinationAnswer = { domain, deliveries: await deps.queue.waitingFor(workspaceId, domain) };
      return answer;
    });

    app.post("/workspaces/:workspaceId/queue/retry", { bodyLimit: DASHBOARD_BODY_LIMIT }, async (request) => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "path");
      requireWorkspace(request, workspaceId, "change");
      const body = readInput(RetryBody, request.body, "retry");
      const answer: RetryAnswer = { retried: await deps.queue.retryNowIn(workspaceId, body) };
      return answer;
    });
  };
}
