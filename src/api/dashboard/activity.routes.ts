// The dashboard's activity calls (issue 13): the message list (keyset pages, filters, polling for
// newer), the states of listed messages, and one message's detail, raw MIME and HTML part. The
// HTML part is the sender's content: it is served with a policy of its own that runs no script and
// loads no remote resource unless asked (?remote=1), and the page shows it in a sandboxed frame.
import type { FastifyInstance } from "fastify";
import type { ActivityService } from "../../messages/activity/activity.service.js";
import type { ActivityQuery, ListPosition } from "../../messages/activity/activity.types.js";
import { requireWorkspace } from "./dashboard.family.js";
import { readInput } from "./dashboard.input.js";
import { DashboardRequestInvalid } from "./dashboard.edge-errors.js";
import {
  HtmlQuery,
  MessageListQuery,
  MessageParams,
  MessageStatesQuery,
  WorkspaceParams,
  type MessageDetailAnswer,
  type MessageListAnswer,
  type MessageStatesAnswer,
} from "./activity.contract.js";

export interface ActivityRoutesDeps {
  activity: Pick<ActivityService, "list" | "states" | "detail" | "mime" | "html">;
}

/** Ids per states call: a page of the list. */
const MAX_STATE_IDS = 100;

/**
 * The HTML part's own policy: nothing but inline styles, and images from the message itself
 * (data:, cid:) unless the reader asked for remote content. `sandbox` repeats the frame's own
 * sandbox for anyone who opens the address directly.
 */
function htmlPolicy(remote: boolean): string {
  const images = remote ? "img-src data: cid: https: http:" : "img-src data: cid:";
  return ["default-src 'none'", images, "style-src 'unsafe-inline'", "font-src data:", "form-action 'none'", "base-uri 'none'", "frame-ancestors 'self'", "sandbox allow-popups allow-popups-to-escape-sandbox"].join("; ");
}

export function activityRoutes(deps: ActivityRoutesDeps) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get("/workspaces/:workspaceId/messages", async (request): Promise<MessageListAnswer> => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "path");
      requireWorkspace(request, workspaceId, "read");
      const q = readInput(MessageListQuery, request.query, "query");
      const query: ActivityQuery = { workspaceId, count: q.count };
      if (q.recipient) query.recipient = q.recipient;
      if (q.tag !== undefined && q.tag !== "") query.tag = q.tag;
      if (q.state) query.state = q.state;
      if (q.stream) query.stream = q.stream;
      if (q.q) query.text = q.q;
      if (q.from) query.fromAt = momentOf(q.from, "start", "from");
      if (q.to) query.toAt = momentOf(q.to, "end", "to");
      if (q.before) query.before = readCursor(q.before, "before");
      if (q.after) query.after = readCursor(q.after, "after");
      const page = await deps.activity.list(query);
      return {
        messages: page.rows,
        next: page.next ? cursorOf(page.next) : null,
        newest: page.newest ? cursorOf(page.newest) : null,
        partial: page.partial,
        searchIndexing: page.searchIndexing ?? false,
      };
    });

    app.get("/workspaces/:workspaceId/messages/states", async (request): Promise<MessageStatesAnswer> => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "path");
      requireWorkspace(request, workspaceId, "read");
      const { ids } = readInput(MessageStatesQuery, request.query, "query");
      const list = ids.split(",").filter((id) => id !== "");
      if (list.length > MAX_STATE_IDS) throw DashboardRequestInvalid(`At most ${MAX_STATE_IDS} ids at a time.`);
      return { states: Object.fromEntries(await deps.activity.states(workspaceId, list)) };
    });

    app.get("/workspaces/:workspaceId/messages/:messageId", async (request): Promise<MessageDetailAnswer> => {
      const { workspaceId, messageId } = readInput(MessageParams, request.params, "path");
      requireWorkspace(request, workspaceId, "read");
      const d = await deps.activity.detail(workspaceId, messageId);
      return {
        id: d.id,
        acceptedAt: d.acceptedAt,
        stream: d.stream,
        state: d.activityState,
        sandboxed: d.sandboxed,
        envelopeFrom: d.envelopeFrom,
        from: d.from,
        to: d.to,
        cc: d.cc,
        bcc: d.bcc,
        subject: d.subject,
        tag: d.tag,
        metadata: d.metadata,
        attachments: d.attachments,
        textBody: d.textBody,
        hasHtml: d.htmlBody !== null,
        headers: d.headers,
        recipients: d.recipients,
        timeline: d.timeline,
        links: d.links,
        mimeBytes: d.mimeBytes,
        bodyRemovedAt: d.bodyRemovedAt,
      };
    });

    app.get("/workspaces/:workspaceId/messages/:messageId/raw", async (request, reply) => {
      const { workspaceId, messageId } = readInput(MessageParams, request.params, "path");
      requireWorkspace(request, workspaceId, "read");
      const mime = await deps.activity.mime(workspaceId, messageId);
      return reply
        .header("content-type", "message/rfc822")
        .header("content-disposition", `attachment; filename="${messageId.replace(/[^A-Za-z0-9._-]/g, "_")}.eml"`)
        .header("x-content-type-options", "nosniff")
        .send(mime);
    });

    app.get("/workspaces/:workspaceId/messages/:messageId/html", async (request, reply) => {
      const { workspaceId, messageId } = readInput(MessageParams, request.params, "path");
      requireWorkspace(request, workspaceId, "read");
      const { remote } = readInput(HtmlQuery, request.query, "query");
      const html = (await deps.activity.html(workspaceId, messageId)) ?? "";
      return reply
        .header("content-type", "text/html; charset=utf-8")
        .header("content-security-policy", htmlPolicy(remote === "1"))
        .header("x-content-type-options", "nosniff")
        .header("x-frame-options", "SAMEORIGIN")
        .header("referrer-policy", "no-referrer")
        .header("cache-control", "private, no-store")
        .send(html);
    });
  };
}

/** Cursors are opaque to the page: "<ms>.<id>" in base64url. */
function cursorOf(position: ListPosition): string {
  return Buffer.from(`${position.at}.${position.id}`).toString("base64url");
}

function readCursor(cursor: string, what: string): ListPosition {
  const text = Buffer.from(cursor, "base64url").toString();
  const dot = text.indexOf(".");
  const at = Number(text.slice(0, dot));
  const id = text.slice(dot + 1);
  if (dot < 1 || !Number.isSafeInteger(at) || id === "") throw DashboardRequestInvalid(`The query is not valid at ${what}: not a cursor from a previous answer.`);
  return { at, id };
}

/** A day means its first or last millisecond (UTC); a time or milliseconds mean themselves. */
function momentOf(text: string, end: "start" | "end", what: string): number {
  const at = /^\d+$/.test(text) ? Number(text) : Date.parse(/^\d{4}-\d\d-\d\d$/.test(text) ? `${text}T00:00:00Z` : text);
  if (!Number.isFinite(at)) throw DashboardRequestInvalid(`The query is not valid at ${what}: not a date.`);
  return /^\d{4}-\d\d-\d\d$/.test(text) && end === "end" ? at + 86_400_000 - 1 : at;
}
