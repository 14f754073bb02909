// The Bounces API: GET /deliveryStats, GET /bounces (with every filter of Postmark's), GET
// /bounces/{id}, GET /bounces/{id}/dump and PUT /bounces/{id}/activate.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { BOUNCE_TYPES, isBounceType } from "../../bounces/bounce-types.js";
import { BounceNotFound } from "../../bounces/bounces.errors.js";
import { InvalidRequest } from "./postmark.edge-errors.js";
import type { PostmarkApiDeps } from "./postmark.plugin.js";
import { dateParam, pageParams, requireWorkspace, stringParam, type Query } from "./query-params.js";
import { toBounce } from "./bounce.mapper.js";

export async function bouncesRoutes(app: FastifyInstance, deps: PostmarkApiDeps): Promise<void> {
  app.get("/deliveryStats", async (request) => {
    const workspace = requireWorkspace(request);
    const stats = await deps.bounces.deliveryStats(workspace.id);
    return {
      InactiveMails: stats.inactiveAddresses,
      Bounces: [{ Name: "All", Count: stats.total }, ...stats.byType.map((t) => ({ Type: t.type, Name: BOUNCE_TYPES[t.type].name, Count: t.count }))],
    };
  });

  app.get("/bounces", async (request) => {
    const workspace = requireWorkspace(request);
    const q = request.query as Query;
    const page = pageParams(q);
    const type = stringParam(q, "type");
    if (type !== undefined && !isBounceType(type)) throw InvalidRequest(`'type' is not a bounce type: '${type}'.`);
    const { total, bounces } = await deps.bounces.search(
      workspace.id,
      {
        type,
        inactive: booleanParam(q, "inactive"),
        emailContains: stringParam(q, "emailfilter"),
        tag: stringParam(q, "tag"),
        messageId: stringParam(q, "messageid"),
        stream: stringParam(q, "messagestream"),
        from: dateParam(q, "fromdate", false),
        to: dateParam(q, "todate", true),
      },
      page,
    );
    return { TotalCount: total, Bounces: bounces.map(toBounce) };
  });

  app.get("/bounces/:id", async (request) => {
    const workspace = requireWorkspace(request);
    return toBounce(await deps.bounces.get(workspace.id, bounceId(request)));
  });

  app.get("/bounces/:id/dump", async (request) => {
    const workspace = requireWorkspace(request);
    return { Body: await deps.bounces.dump(workspace.id, bounceId(request)) };
  });

  app.put("/bounces/:id/activate", async (request) => {
    const workspace = requireWorkspace(request);
    return { Message: "OK", Bounce: toBounce(await deps.bounces.activate(workspace.id, bounceId(request))) };
  });
}

/** Bounce ids are numbers; anything else names no bounce (15 digits stay within a safe integer). */
function bounceId(request: FastifyRequest): number {
  const raw = (request.params as { id: string }).id;
  if (!/^\d{1,15}$/.test(raw)) throw BounceNotFound(`No bounce with id '${raw}' was found.`);
  return Number(raw);
}

function booleanParam(q: Query, key: string): boolean | undefined {
  const raw = stringParam(q, key);
  if (raw === undefined) return undefined;
  if (raw.toLowerCase() === "true") return true;
  if (raw.toLowerCase() === "false") return false;
  throw InvalidRequest(`'${key}' must be true or false.`);
}
