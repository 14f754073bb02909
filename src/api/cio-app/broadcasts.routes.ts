// The App API's newsletter calls (Posthorn's broadcasts): define one (sent now, at send_at, or at
// the same local time in each person's timezone), list them, read one with its progress and what
// became of its messages, cancel it. Customer.io defines newsletters in its UI; these calls are
// Posthorn's, in Customer.io's conventions (integer ids, unix seconds, {"meta":{"error"}}).
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from "fastify";
import type { BroadcastsService } from "../../broadcasts/broadcasts.service.js";
import type { Broadcast, BroadcastSchedule, RecipientFilter } from "../../broadcasts/broadcasts.types.js";
import type { MessageCounts } from "../../journeys/journeys.port.js";
import { BroadcastNotFound } from "../../broadcasts/broadcasts.errors.js";
import { appWorkspace } from "./app-api.plugin.js";
import { AppRequestInvalid } from "./app-api.errors.js";
import { isObject, limitParam, startParam } from "./app-api.params.js";

export interface BroadcastsRoutesDeps {
  broadcasts: BroadcastsService;
}

const DEFAULT_PAGE = 50;
const MAX_PAGE = 100;
/** A newsletter's definition: subject and bodies up to 512 KB each. */
const BODY_BYTES = 2 * 1024 * 1024;

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

export function broadcastsRoutes(deps: BroadcastsRoutesDeps): FastifyPluginAsync {
  const { broadcasts } = deps;
  const id = (request: FastifyRequest) => (request.params as { id: string }).id;
  const ws = (request: FastifyRequest) => appWorkspace(request).id;

  return async (app: FastifyInstance) => {
    app.get("/broadcasts", async (request) => {
      const limit = limitParam(request, DEFAULT_PAGE, MAX_PAGE);
      const start = startParam(request);
      if (start !== null && !/^\d{1,15}$/.test(start)) throw AppRequestInvalid("The start cursor is not one this API gave.", { field: "start" });
      const page = await broadcasts.list(ws(request), { limit: limit + 1, before: start });
      const items = page.slice(0, limit);
      return { broadcasts: items.map((b) => broadcastJson(b)), next: page.length > limit ? items[items.length - 1]!.broadcastId : "" };
    });

    app.post("/broadcasts", { bodyLimit: BODY_BYTES }, async (request) => {
      const body = request.body;
      if (!isObject(body) || body.broadcast === undefined) throw AppRequestInvalid('The body must be {"broadcast": {…}}.', { field: "broadcast" });
      return { broadcast: broadcastJson(await broadcasts.create(ws(request), body.broadcast)) };
    });

    app.get("/broadcasts/:id", async (request) => {
      const found = await broadcasts.get(ws(request), id(request));
      if (!found) throw BroadcastNotFound(`There is no broadcast ${id(request)}.`);
      return { broadcast: broadcastJson(found, await broadcasts.metrics(found.workspaceId, found.broadcastId)) };
    });

    app.post("/broadcasts/:id/cancel", async (request) => ({ broadcast: broadcastJson(await broadcasts.cancel(ws(request), id(request))) }));
  };
}

function broadcastJson(b: Broadcast, metrics?: MessageCounts): Record<string, unknown> {
  const d = b.definition;
  const content = d.content.kind === "liquid" ? { subject: d.content.subject, html: d.content.html, text: d.content.text, from: d.content.from, reply_to: d.content.replyTo, headers: d.content.headers } : { template: d.content.template, model: d.content.model, from: d.content.from };
  return {
    id: Number(b.broadcastId),
    type: "newsletter",
    name: d.name,
    state: b.state,
    recipients: filterJson(d.audience),
    ...content,
    tag: d.tag,
    stream: d.send.stream,
    topic: d.send.topic,
    counts_toward_limit: d.send.countsTowardLimit,
    schedule: scheduleJson(d.schedule),
    throttle_per_minute: d.throttlePerMinute,
    over_limit: d.overLimit,
    progress: b.progress,
    last_error: b.lastError,
    created_at: seconds(b.createdAt),
    updated_at: seconds(b.updatedAt),
    finished_at: seconds(b.finishedAt),
    ...(metrics ? { metrics } : {}),
  };
}

function scheduleJson(s: BroadcastSchedule): unknown {
  if (s.kind === "now") return "now";
  if (s.kind === "at") return { send_at: seconds(s.at) };
  return { local: { date: s.date, time: s.time, fallback: s.fallback } };
}

/** The recipient filter as Customer.io writes it: segment ids are integers. */
function filterJson(f: RecipientFilter): unknown {
  if ("and" in f) return { and: f.and.map(filterJson) };
  if ("or" in f) return { or: f.or.map(filterJson) };
  if ("not" in f) return { not: filterJson(f.not) };
  if ("segment" in f) return { segment: { id: Number(f.segment.id) } };
  return f;
}
