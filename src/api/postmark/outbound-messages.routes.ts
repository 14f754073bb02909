// GET /messages/outbound, /messages/outbound/{id}/details and /dump: searching accepted mail and
// reading its event history.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Workspace } from "../../workspaces/workspaces.service.js";
import { MessageNotFound } from "../../messages/accept.errors.js";
import type { MessageSummaryRow } from "../../messages/messages.repository.js";
import type { MessageRow } from "../../store/schema.js";
import { InvalidRequest } from "./postmark.edge-errors.js";
import type { PostmarkApiDeps } from "./postmark.plugin.js";
import { dateParam, pageParams, requireWorkspace, stringParam } from "./query-params.js";

const STATUSES: Record<string, string> = { queued: "Queued", sent: "Sent", processed: "Processed" };

export async function outboundMessagesRoutes(app: FastifyInstance, deps: PostmarkApiDeps): Promise<void> {
  app.get("/messages/outbound", async (request) => {
    const workspace = requireWorkspace(request);
    const q = request.query as Record<string, unknown>;
    const { count, offset } = pageParams(q);
    const status = stringParam(q, "status");
    if (status !== undefined && !STATUSES[status.toLowerCase()]) throw InvalidRequest("'status' must be queued, sent or processed.");
    const { total, rows } = await deps.messages.search(deps.store.db, {
      workspaceId: workspace.id,
      count,
      offset,
      recipient: stringParam(q, "recipient"),
      fromEmail: stringParam(q, "fromemail"),
      tag: stringParam(q, "tag"),
      status: status ? STATUSES[status.toLowerCase()] : undefined,
      stream: stringParam(q, "messagestream"),
      subject: stringParam(q, "subject"),
      fromDate: dateParam(q, "fromdate", false),
      toDate: dateParam(q, "todate", true),
    });
    return { TotalCount: total, Messages: rows.map(toOutboundMessage) };
  });

  app.get("/messages/outbound/:id/details", async (request) => {
    const workspace = requireWorkspace(request);
    const message = await findMessage(deps, workspace, request);
    const events = await deps.messages.events(deps.store.db, message.id);
    return {
      ...toOutboundMessage(message),
      TextBody: message.text_body ?? "",
      HtmlBody: message.html_body ?? "",
      Body: Buffer.from(message.mime).toString("utf8"),
      MessageEvents: events.map((e) => ({
        Recipient: e.recipient,
        Type: e.type,
        ReceivedAt: new Date(e.created_at).toISOString(),
        Details: JSON.parse(e.details_json) as unknown,
      })),
    };
  });

  app.get("/messages/outbound/:id/dump", async (request) => {
    const workspace = requireWorkspace(request);
    const message = await findMessage(deps, workspace, request);
    return { Body: Buffer.from(message.mime).toString("utf8") };
  });
}

async function findMessage(deps: PostmarkApiDeps, workspace: Workspace, request: FastifyRequest): Promise<MessageRow> {
  const { id } = request.params as { id: string };
  const message = await deps.messages.findById(deps.store.db, workspace.id, id);
  if (!message) throw MessageNotFound(`Message '${id}' was not found.`);
  return message;
}

function toOutboundMessage(row: MessageSummaryRow) {
  const to = JSON.parse(row.to_json) as Array<{ Email: string; Name: string }>;
  const cc = JSON.parse(row.cc_json) as Array<{ Email: string; Name: string }>;
  const bcc = JSON.parse(row.bcc_json) as Array<{ Email: string; Name: string }>;
  return {
    Tag: row.tag ?? "",
    MessageID: row.id,
    MessageStream: row.stream,
    To: to,
    Cc: cc,
    Bcc: bcc,
    Recipients: [...to, ...cc, ...bcc].map((a) => a.Email),
    ReceivedAt: new Date(row.created_at).toISOString(),
    From: row.from_header,
    Subject: row.subject,
    Attachments: JSON.parse(row.attachments_json) as string[],
    Status: row.status,
    TrackOpens: row.track_opens === 1,
    TrackLinks: row.track_links,
    Metadata: JSON.parse(row.metadata_json) as Record<string, string>,
    Sandboxed: row.sandboxed === 1,
  };
}
