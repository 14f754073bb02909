// Customer.io's API-triggered broadcasts: `triggerBroadcast` posts to /v1/api/campaigns/{id}/triggers
// (customerio-node) or /v1/campaigns/{id}/triggers (current docs) — both are served. The campaign
// is a live journey with a broadcast trigger; the call is answered at once with the trigger's id
// and its people enter in the background (the worker role), so a large audience never holds the
// request. The trigger's progress is read back by id.
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from "fastify";
import type { BroadcastTriggersService } from "../../broadcasts/broadcast-triggers.service.js";
import type { BroadcastTrigger } from "../../broadcasts/broadcasts.types.js";
import { appWorkspace } from "./app-api.plugin.js";

export interface CampaignTriggersRoutesDeps {
  triggers: BroadcastTriggersService;
}

/** Customer.io: the whole trigger call up to 25 MB (per_user_data makes it large). */
const TRIGGER_BODY_BYTES = 25 * 1024 * 1024;

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

export function campaignTriggersRoutes(deps: CampaignTriggersRoutesDeps): FastifyPluginAsync {
  const { triggers } = deps;
  const params = (request: FastifyRequest) => request.params as { id: string; triggerId: string };

  return async (app: FastifyInstance) => {
    for (const prefix of ["/api/campaigns", "/campaigns"]) {
      app.post(`${prefix}/:id/triggers`, { bodyLimit: TRIGGER_BODY_BYTES }, async (request) => {
        const trigger = await triggers.trigger(appWorkspace(request).id, params(request).id, request.body);
        return { id: Number(trigger.triggerId) };
      });
      app.get(`${prefix}/:id/triggers/:triggerId`, async (request) => {
        const { id, triggerId } = params(request);
        return { trigger: triggerJson(await triggers.triggerStatus(appWorkspace(request).id, id, triggerId)) };
      });
      app.get(`${prefix}/:id/triggers/:triggerId/errors`, async (request) => {
        const { id, triggerId } = params(request);
        return { errors: (await triggers.triggerStatus(appWorkspace(request).id, id, triggerId)).errors };
      });
    }
  };
}

function triggerJson(t: BroadcastTrigger): Record<string, unknown> {
  return {
    id: Number(t.triggerId),
    campaign_id: Number(t.journeyId),
    state: t.state,
    processed: t.state === "done" || t.state === "failed",
    created_at: seconds(t.createdAt),
    processed_at: seconds(t.processedAt),
    total: t.total,
    entered: t.entered,
    skipped: t.skipped,
    missing: t.missing,
    errors: t.errors,
  };
}
