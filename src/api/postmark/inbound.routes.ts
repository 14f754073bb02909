// GET /messages/inbound and /messages/inbound/{id}/details, PUT /messages/inbound/{id}/retry and
// /bypass: searching received mail, reading one message as its webhook payload, and sending a
// failed or blocked message's webhook again. Shapes follow the official client's InboundMessage
// and InboundMessageDetails models (postmark 5.1.0).
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { InboundState } from "../../inbound/inbound.schema.js";
import type { InboundRecord } from "../../inbound/inbound.record.js";
import { InvalidRequest } from "./postmark.edge-errors.js";
import type { PostmarkApiDeps } from "./postmark.plugin.js";
import { dateParam, pageParams, requireWorkspace, stringParam, type Query } from "./query-params.js";
import { inboundStatesOf, inboundStatusOf } from "./postmark-words.js";
import { bodyRemoved } from "./message.mapper.js";

export async function inboundMessagesRoutes(app: FastifyInstance, deps: PostmarkApiDeps): Promise<void> {
  app.get("/messages/inbound", async (request) => {
    const workspace = requireWorkspace(request);
    const q = request.query as Query;
    const { count, offset } = pageParams(q);
    const { total, records } = await deps.inbound.search({
      workspaceId: workspace.id,
      count,
      offset,
      recipient: stringParam(q, "recipient"),
      fromEmail: stringParam(q, "fromemail"),
      subject: stringParam(q, "subject"),
      mailboxHash: stringParam(q, "mailboxhash"),
      tag: stringParam(q, "tag"),
      states: statusParam(q),
      fromDate: dateParam(q, "fromdate", false),
      toDate: dateParam(q, "todate", true),
    });
    return { TotalCount: total, InboundMessages: records.map(toInboundMessage) };
  });

  app.get("/messages/inbound/:id/details", async (request) => {
    const workspace = requireWorkspace(request);
    const record = await deps.inbound.get(workspace.id, messageId(request));
    const payload = record.payload;
    return {
      ...toInboundMessage(record),
      TextBody: payload.TextBody,
      HtmlBody: payload.HtmlBody,
      StrippedTextReply: payload.StrippedTextReply,
      Headers: payload.Headers,
      // The full attachments, content included, as the webhook posts them.
      Attachments: payload.Attachments,
      BlockedReason: record.blockedReason ?? "",
      ...bodyRemoved(record.bodyRemovedAt),
    };
  });

  app.put("/messages/inbound/:id/retry", async (request) => {
    const workspace = requireWorkspace(request);
    const id = messageId(request);
    await deps.inbound.retry(workspace.id, id);
    return { ErrorCode: 0, Message: `Successfully rescheduled failed message: ${id}.` };
  });

  app.put("/messages/inbound/:id/bypass", async (request) => {
    const workspace = requireWorkspace(request);
    const id = messageId(request);
    await deps.inbound.bypass(workspace.id, id);
    return { ErrorCode: 0, Message: `Successfully bypassed message: ${id}.` };
  });
}

function statusParam(q: Query): InboundState[] | undefined {
  const status = stringParam(q, "status");
  if (status === undefined) return undefined;
  const mapped = inboundStatesOf(status);
  if (!mapped) throw InvalidRequest("'status' must be blocked, processed, queued, failed or scheduled.");
  return mapped;
}

function messageId(request: FastifyRequest): string {
  return (request.params as { id: string }).id;
}

/** The search item: the payload's addressing fields, the status, and attachment metadata without content. */
function toInboundMessage(record: InboundRecord) {
  const payload = record.payload;
  return {
    From: payload.From,
    FromName: payload.FromName,
    FromFull: payload.FromFull,
    To: payload.To,
    ToFull: payload.ToFull,
    Cc: payload.Cc,
    CcFull: payload.CcFull,
    Bcc: payload.Bcc,
    BccFull: payload.BccFull,
    ReplyTo: payload.ReplyTo,
    OriginalRecipient: payload.OriginalRecipient,
    Subject: payload.Subject,
    Date: payload.Date,
    MailboxHash: payload.MailboxHash,
    Tag: record.tag ?? "",
    MessageID: record.id,
    Status: inboundStatusOf(record.state),
    Attachments: payload.Attachments.map((a) => ({ Name: a.Name, ContentType: a.ContentType, ContentLength: a.ContentLength, ContentID: a.ContentID })),
    MessageStream: payload.MessageStream,
  };
}
