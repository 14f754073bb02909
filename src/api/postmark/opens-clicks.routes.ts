// GET /messages/outbound/opens, /opens/{messageId}, /clicks and /clicks/{messageId}: the opens and
// clicks recorded by the tracking edge (src/api/tracking/), with Postmark's filters and paging.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ReadFilter, TrackingService } from "../../tracking/tracking.service.js";
import { InvalidRequest } from "./postmark.edge-errors.js";
import { pageParams, requireWorkspace, stringParam, type Query } from "./query-params.js";
import { platformOf, toClickEvent, toOpenEvent } from "./opens-clicks.mapper.js";

/** Filter values longer than this match nothing real; refused rather than carried into a query. */
const MAX_FILTER_CHARS = 320;

export async function opensClicksRoutes(app: FastifyInstance, deps: { tracking: TrackingService }): Promise<void> {
  const list = async (request: FastifyRequest, kind: "open" | "click") => {
    const workspace = requireWorkspace(request);
    const q = request.query as Query;
    const page = pageParams(q);
    const messageId = (request.params as { messageId?: string }).messageId;
    const { total, records } = await deps.tracking.search({ ...filters(q), workspaceId: workspace.id, kind, ...(messageId ? { messageId } : {}) }, page);
    return kind === "open" ? { TotalCount: total, Opens: records.map(toOpenEvent) } : { TotalCount: total, Clicks: records.map(toClickEvent) };
  };
  app.get("/messages/outbound/opens", (request) => list(request, "open"));
  app.get("/messages/outbound/opens/:messageId", (request) => list(request, "open"));
  app.get("/messages/outbound/clicks", (request) => list(request, "click"));
  app.get("/messages/outbound/clicks/:messageId", (request) => list(request, "click"));
}

function filters(q: Query): Omit<ReadFilter, "workspaceId" | "kind"> {
  const text = (key: string): string | undefined => {
    const value = stringParam(q, key);
    if (value !== undefined && value.length > MAX_FILTER_CHARS) throw InvalidRequest(`'${key}' is longer than ${MAX_FILTER_CHARS} characters.`);
    return value;
  };
  const platformWord = text("platform");
  const platform = platformWord === undefined ? undefined : platformOf(platformWord);
  if (platformWord !== undefined && platform === undefined) throw InvalidRequest("'platform' must be Desktop, Mobile, WebMail or Unknown.");
  return {
    recipient: text("recipient"),
    tag: text("tag"),
    stream: text("messagestream"),
    clientName: text("client_name"),
    clientCompany: text("client_company"),
    clientFamily: text("client_family"),
    osName: text("os_name"),
    osFamily: text("os_family"),
    osCompany: text("os_company"),
    platform,
    country: text("country"),
    region: text("region"),
    city: text("city"),
  };
}
