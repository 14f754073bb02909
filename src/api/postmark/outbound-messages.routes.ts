// GET /messages/outbound, /messages/outbound/{id}/details and /dump: searching accepted mail and
// reading its event history, through the messages service and the mappers in message.mapper.ts.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { InvalidRequest } from "./postmark.edge-errors.js";
import type { PostmarkApiDeps } from "./postmark.plugin.js";
import { dateParam, pageParams, requireWorkspace, stringParam } from "./query-params.js";
import { bodyRemoved, toOutboundDetails, toOutboundMessage } from "./message.mapper.js";
import { stateOfStatus } from "./postmark-words.js";

export async function outboundMessagesRoutes(app: FastifyInstance, deps: PostmarkApiDeps): Promise<void> {
  app.get("/messages/outbound", async (request) => {
    const workspace = requireWorkspace(request);
    const q = request.query as Record<string, unknown>;
    const { count, offset } = pageParams(q);
    const status = stringParam(q, "status");
    const state = status === undefined ? undefined : stateOfStatus(status);
    if (status !== undefined && !state) throw InvalidRequest("'status' must be queued, sent or processed.");
    const { total, records } = await deps.messages.search({
      workspaceId: workspace.id,
      count,
      offset,
      recipient: stringParam(q, "recipient"),
      fromEmail: stringParam(q, "fromemail"),
      tag: stringParam(q, "tag"),
      state,
      stream: stringParam(q, "messagestream"),
      subject: stringParam(q, "subject"),
      fromDate: dateParam(q, "fromdate", false),
      toDate: dateParam(q, "todate", true),
    });
    return { TotalCount: total, Messages: records.map(toOutboundMessage) };
  });

  app.get("/messages/outbound/:id/details", async (request) => {
    const workspace = requireWorkspace(request);
    return toOutboundDetails(await deps.messages.details(workspace.id, idOf(request)));
  });

  app.get("/messages/outbound/:id/dump", async (request) => {
    const workspace = requireWorkspace(request);
    const { mime, bodyRemovedAt } = await deps.messages.source(workspace.id, idOf(request));
    return { Body: mime.toString("utf8"), ...bodyRemoved(bodyRemovedAt) };
  });
}

function idOf(request: FastifyRequest): string {
  return (request.params as { id: string }).id;
}
