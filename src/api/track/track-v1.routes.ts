// Track API v1 (reference §1.3) as customerio-node's TrackClient calls it, and the v1 calls it does
// not wrap (accounts/region, manual segments, metrics). Each call becomes the people domain's
// operations (track-v1.translate.ts), applied all or nothing in one durable commit; 200 with `{}`
// is answered only after that commit.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { PersonIdentifier } from "../../people/people.port.js";
import { newId } from "../../shared/ids.js";
import { applyAtomically, workspaceOf, type TrackApiDeps } from "./track.family.js";
import { TrackRequestInvalid } from "./track.edge-errors.js";
import { identifierText, idTypeParam, personInPath } from "./identifiers.js";
import { anonymousEventOperation, bodyObject, deviceOperation, eventOperation, identifyOperations, mergeOperation, segmentPeople } from "./track-v1.translate.js";

/**
 * Largest body of a v1 call. Customer.io documents none for v1; the largest valid identify (300
 * attributes of 150-byte names and 1,000-byte values) is about 350 KB as JSON, so 1 MB admits
 * every valid call and refuses what could only be refused later at greater cost.
 */
export const V1_BODY_BYTES = 1024 * 1024;
/** add_customers/remove_customers: 1,000 identifiers of at most 150 bytes, escaped, fit in this. */
export const SEGMENT_BODY_BYTES = 1024 * 1024;

const OK = {};

export async function trackV1Routes(app: FastifyInstance, deps: TrackApiDeps): Promise<void> {
  const options = { bodyLimit: V1_BODY_BYTES };
  const apply = (request: FastifyRequest, operations: Parameters<typeof applyAtomically>[2]) => applyAtomically(deps.people, request, operations);

  app.put("/customers/:identifier", options, async (request) => {
    await apply(request, identifyOperations(pathPerson(request), request.body));
    return OK;
  });
  app.delete("/customers/:identifier", options, async (request) => {
    await apply(request, [{ op: "delete", who: pathPerson(request) }]);
    return OK;
  });
  for (const action of ["suppress", "unsuppress"] as const) {
    app.post(`/customers/:identifier/${action}`, options, async (request) => {
      await apply(request, [{ op: action, who: pathPerson(request) }]);
      return OK;
    });
  }
  app.post("/customers/:identifier/events", options, async (request) => {
    await apply(request, [eventOperation(pathPerson(request), request.body)]);
    return OK;
  });
  app.post("/events", options, async (request) => {
    await apply(request, [anonymousEventOperation(request.body, () => `unattached:${newId()}`)]);
    return OK;
  });
  app.put("/customers/:identifier/devices", options, async (request) => {
    await apply(request, [deviceOperation(pathPerson(request), request.body)]);
    return OK;
  });
  app.delete("/customers/:identifier/devices/:token", options, async (request) => {
    const { token } = request.params as { token: string };
    await apply(request, [{ op: "delete_device", who: pathPerson(request), deviceId: identifierText(token, "device_id") }]);
    return OK;
  });
  app.post("/merge_customers", options, async (request) => {
    await apply(request, [mergeOperation(request.body)]);
    return OK;
  });

  app.get("/accounts/region", async (request) => ({
    // Posthorn is one region; its URL is whatever host the client reached it by.
    url: `${request.protocol}://${request.host}`,
    region: "us",
    environment_id: workspaceOf(request).id,
  }));

  if (deps.segments) {
    const segments = deps.segments;
    for (const [path, change] of [
      ["add_customers", (ws: string, id: string, people: PersonIdentifier[]) => segments.addPeople(ws, id, people)],
      ["remove_customers", (ws: string, id: string, people: PersonIdentifier[]) => segments.removePeople(ws, id, people)],
    ] as const) {
      app.post(`/segments/:segmentId/${path}`, { bodyLimit: SEGMENT_BODY_BYTES }, async (request) => {
        const people = segmentPeople(request.body, idTypeParam((request.query as Record<string, unknown>).id_type));
        await change(workspaceOf(request).id, (request.params as { segmentId: string }).segmentId, people);
        return OK;
      });
    }
  }

  // Delivery metrics reported by the sender of a message (push and in-app SDKs, other ESPs).
  // Checked and acknowledged, not recorded: Posthorn sends neither push nor in-app messages yet,
  // and measures its own email deliveries, opens and clicks itself, so a metric here could only
  // name a delivery Posthorn does not have. Answering 200 keeps SDKs that report them working.
  app.post("/metrics", options, async (request) => {
    const body = bodyObject(request.body);
    identifierText(body.delivery_id, "delivery_id");
    if (typeof body.metric !== "string" || body.metric.length === 0) throw TrackRequestInvalid("'metric' is required.", { field: "metric" });
    return OK;
  });
  app.post("/push/events", options, async (request) => {
    const body = bodyObject(request.body);
    identifierText(body.delivery_id, "delivery_id");
    if (typeof body.event !== "string" || body.event.length === 0) throw TrackRequestInvalid("'event' is required (delivered, opened or converted).", { field: "event" });
    return OK;
  });
}

function pathPerson(request: FastifyRequest): PersonIdentifier {
  return personInPath((request.params as { identifier: string }).identifier);
}
