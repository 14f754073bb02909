// Track API v1 (reference §1.3) as customerio-node's TrackClient calls it, and the v1 calls it does
// not wrap (accounts/region, manual segments, metrics). Each call becomes the people domain's
// operations (track-v1.translate.ts), applied all or nothing in one durable commit; 200 with `{}`
// is answered only after that commit.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { PersonIdentifier, PersonOperation } from "../../people/people.port.js";
import { newId } from "../../shared/ids.js";
import { applyAtomically, workspaceOf, type TrackApiDeps } from "./track-request.js";
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

type Translate = (request: FastifyRequest) => PersonOperation[];

/** The calls that change people: each is its operations, applied all or nothing. */
const PEOPLE_CALLS: ReadonlyArray<[method: "PUT" | "POST" | "DELETE", url: string, translate: Translate]> = [
  ["PUT", "/customers/:identifier", (r) => identifyOperations(pathPerson(r), r.body)],
  ["DELETE", "/customers/:identifier", (r) => [{ op: "delete", who: pathPerson(r) }]],
  ["POST", "/customers/:identifier/suppress", (r) => [{ op: "suppress", who: pathPerson(r) }]],
  ["POST", "/customers/:identifier/unsuppress", (r) => [{ op: "unsuppress", who: pathPerson(r) }]],
  ["POST", "/customers/:identifier/events", (r) => [eventOperation(pathPerson(r), r.body)]],
  ["POST", "/events", (r) => [anonymousEventOperation(r.body, () => `unattached:${newId()}`)]],
  ["PUT", "/customers/:identifier/devices", (r) => [deviceOperation(pathPerson(r), r.body)]],
  ["DELETE", "/customers/:identifier/devices/:token", (r) => [{ op: "delete_device", who: pathPerson(r), deviceId: identifierText((r.params as { token: string }).token, "device_id") }]],
  ["POST", "/merge_customers", (r) => [mergeOperation(r.body)]],
];

export async function trackV1Routes(app: FastifyInstance, deps: TrackApiDeps): Promise<void> {
  for (const [method, url, translate] of PEOPLE_CALLS) {
    app.route({
      method,
      url,
      bodyLimit: V1_BODY_BYTES,
      handler: async (request) => {
        await applyAtomically(deps.people, request, translate(request));
        return OK;
      },
    });
  }
  app.get("/accounts/region", async (request) => ({
    // Posthorn is one region; its URL is whatever host the client reached it by.
    url: `${request.protocol}://${request.host}`,
    region: "us",
    environment_id: workspaceOf(request).id,
  }));
  if (deps.segments) segmentRoutes(app, deps.segments);
  metricRoutes(app);
}

/** Manual segments: POST /segments/{id}/add_customers and /remove_customers. */
function segmentRoutes(app: FastifyInstance, segments: NonNullable<TrackApiDeps["segments"]>): void {
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

/**
 * Delivery metrics reported by the sender of a message (push and in-app SDKs, other ESPs).
 * Checked and acknowledged, not recorded: Posthorn sends neither push nor in-app messages yet,
 * and measures its own email deliveries, opens and clicks itself, so a metric here could only
 * name a delivery Posthorn does not have. Answering 200 keeps SDKs that report them working.
 */
function metricRoutes(app: FastifyInstance): void {
  app.post("/metrics", { bodyLimit: V1_BODY_BYTES }, async (request) => {
    const body = bodyObject(request.body);
    identifierText(body.delivery_id, "delivery_id");
    if (typeof body.metric !== "string" || body.metric.length === 0) throw TrackRequestInvalid("'metric' is required.", { field: "metric" });
    return OK;
  });
  app.post("/push/events", { bodyLimit: V1_BODY_BYTES }, async (request) => {
    const body = bodyObject(request.body);
    identifierText(body.delivery_id, "delivery_id");
    if (typeof body.event !== "string" || body.event.length === 0) throw TrackRequestInvalid("'event' is required (delivered, opened or converted).", { field: "event" });
    return OK;
  });
}

function pathPerson(request: FastifyRequest): PersonIdentifier {
  return personInPath((request.params as { identifier: string }).identifier);
}
