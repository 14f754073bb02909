// POST /unsubscribe/{delivery_id} with {"unsubscribe": true}: Customer.io's call for custom
// unsubscribe pages, made from a recipient's browser, so it takes NO credentials. What that allows
// is kept small: a body of at most 1 KB, a delivery id that must name a delivery Posthorn made
// (else 404, which says nothing about any workspace), and one effect, the person that delivery went
// to becomes unsubscribed (people.unsubscribeByDelivery).
import type { FastifyInstance } from "fastify";
import type { TrackApiDeps } from "./track-request.js";
import { TrackNotFound, TrackRequestInvalid } from "./track.edge-errors.js";
import { bodyObject } from "./track-v1.translate.js";

export const UNSUBSCRIBE_BODY_BYTES = 1024;
/** Delivery ids Posthorn makes are far shorter; a longer one cannot be one of them. */
const MAX_DELIVERY_ID = 200;

export async function unsubscribeRoutes(app: FastifyInstance, deps: TrackApiDeps): Promise<void> {
  app.post("/:deliveryId", { bodyLimit: UNSUBSCRIBE_BODY_BYTES }, async (request) => {
    const { deliveryId } = request.params as { deliveryId: string };
    const body = bodyObject(request.body);
    if (body.unsubscribe !== true) throw TrackRequestInvalid("The body must be {\"unsubscribe\": true}.", { field: "unsubscribe" });
    const found = deliveryId.length > 0 && deliveryId.length <= MAX_DELIVERY_ID && (await deps.people.unsubscribeByDelivery(deliveryId));
    if (!found) throw TrackNotFound("There is no such delivery.");
    return {};
  });
}
