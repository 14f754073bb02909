// The Segment HTTP Tracking API (what Segment, RudderStack and Customer.io's Data Pipelines accept)
// under /v1: POST /v1/identify, /track, /page, /screen, /group, /alias and /batch (and /import,
// Segment's older name for /batch). @segment/analytics-node and @customerio/cdp-analytics-node
// both post `{"batch":[…]}` to `host` + `/v1/batch`; the single calls serve raw HTTP senders.
//
// Authentication, in order:
//   1. An Authorization header, checked before the body is read (onRequest): Basic with the write
//      key as username (the password is ignored, as Segment does). A wrong or non-Basic header is
//      refused with 401 at once, whatever the body holds.
//   2. Without one, Segment also accepts `writeKey` in the body; that check can only follow the
//      parse (preHandler). Such a request still never costs more than the call's body limit: a
//      declared Content-Length over it is refused with 401 before reading, a chunked body is cut
//      off at the limit.
// Then the events are read, translated (segment.mapper.ts) and applied with one people.apply()
// call, which answers after a durable group commit: a 200 means the events are on disk.
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from "fastify";
import type { Clock } from "../../shared/clock.js";
import type { PeopleIngest, PersonOperation } from "../../people/people.port.js";
import type { Workspace, WorkspacesService } from "../../workspaces/workspaces.service.js";
import { basicCredentials } from "../customerio/credentials.js";
import { declaredLength } from "../request-bodies.js";
import { isObject, parseSegmentMessage, SEGMENT_TYPES, type ParsedMessage } from "./segment-message.js";
import { toOperations } from "./segment.mapper.js";
import { answerError, BATCH_BYTES, EVENT_BYTES, PipelineRefusal, unauthorized, type AcceptedBody, type Skipped } from "./pipeline.replies.js";
import { PipelineCounts } from "./pipeline-counts.js";
import { jsonLargerThan } from "../../shared/json-size.js";

export interface PipelineDeps {
  workspaces: WorkspacesService;
  people: PeopleIngest;
  clock: Clock;
  /** Events accepted and skipped since start (a metrics exporter can read it). */
  counts?: PipelineCounts;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The workspace of the write key (pipeline API); null until authenticated. */
    pipelineWorkspace: Workspace | null;
  }
}

/** Customer.io's Data Pipelines header: with 1, events the edge cannot use refuse the request (400) instead of being skipped. */
const STRICT_HEADER = "x-strict-mode";

export function pipelineRoutes(deps: PipelineDeps): FastifyPluginAsync {
  const counts = deps.counts ?? new PipelineCounts();
  return async (app: FastifyInstance) => {
    app.decorateRequest("pipelineWorkspace", null);
    app.setErrorHandler((err, request, reply) => answerError(err, request, reply, request.pipelineWorkspace !== null));
    app.addHook("onRequest", async (request) => authenticateHeader(request, deps.workspaces));
    app.addHook("preHandler", async (request) => authenticateBody(request, deps.workspaces));

    for (const type of SEGMENT_TYPES) {
      app.post(`/${type}`, { bodyLimit: EVENT_BYTES }, async (request) => {
        const received = deps.clock.now();
        if (!isObject(request.body)) throw new PipelineRefusal(400, "The request body must be a JSON object (one Segment event).");
        const parsed = parseSegmentMessage(request.body, type, received);
        return ingest(request, [parsed], deps, counts);
      });
    }
    const batch = async (request: FastifyRequest) => {
      const received = deps.clock.now();
      // A body within 32 KB cannot hold an event over 32 KB: the per-event measure (a JSON.stringify each) is skipped.
      const declared = declaredLength(request);
      return ingest(request, readBatch(request.body, received, declared === null || declared > EVENT_BYTES), deps, counts);
    };
    app.post("/batch", { bodyLimit: BATCH_BYTES }, batch);
    app.post("/import", { bodyLimit: BATCH_BYTES }, batch);
  };
}

async function authenticateHeader(request: FastifyRequest, workspaces: WorkspacesService): Promise<void> {
  if (request.headers.authorization === undefined) {
    const declared = declaredLength(request);
    const limit = request.routeOptions.bodyLimit ?? EVENT_BYTES;
    if (declared !== null && declared > limit) throw unauthorized();
    return; // the body's writeKey decides, after the parse
  }
  const basic = basicCredentials(request);
  if (!basic) throw unauthorized("Unauthorized: only HTTP Basic authentication with a write key is accepted.");
  const workspace = await workspaces.authenticateWriteKey(basic.username);
  if (!workspace) throw unauthorized("Unauthorized: the write key is not valid.");
  request.pipelineWorkspace = workspace;
}

async function authenticateBody(request: FastifyRequest, workspaces: WorkspacesService): Promise<void> {
  if (request.pipelineWorkspace) return;
  const writeKey = isObject(request.body) ? request.body.writeKey : undefined;
  if (typeof writeKey !== "string" || writeKey === "") throw unauthorized();
  const workspace = await workspaces.authenticateWriteKey(writeKey);
  if (!workspace) throw unauthorized("Unauthorized: the write key is not valid.");
  request.pipelineWorkspace = workspace;
}

/** A batch's events, each read or refused. Refuses the request (400) when it is no batch or holds an event over 32 KB, as Segment does. */
function readBatch(body: unknown, received: number, measureEvents: boolean): ParsedMessage[] {
  if (!isObject(body) || !Array.isArray(body.batch)) throw new PipelineRefusal(400, 'The request body must be a JSON object with a "batch" array of events.');
  const events: unknown[] = body.batch;
  for (let i = 0; measureEvents && i < events.length; i++) {
    if (!jsonLargerThan(events[i], EVENT_BYTES)) continue;
    const bytes = Buffer.byteLength(JSON.stringify(events[i]) ?? "");
    throw new PipelineRefusal(400, `Event ${i} of the batch is ${bytes} bytes; an event may have at most ${EVENT_BYTES} (32 KB).`);
  }
  const defaults = { sentAt: body.sentAt, context: isObject(body.context) ? body.context : null };
  return events.map((event) => parseSegmentMessage(event, null, received, defaults));
}

/** Applies the usable events in one people.apply() and answers; see the file's comment and docs/pipeline-api.md. */
async function ingest(request: FastifyRequest, messages: ParsedMessage[], deps: PipelineDeps, counts: PipelineCounts): Promise<AcceptedBody> {
  const workspace = request.pipelineWorkspace!;
  const skipped: Skipped[] = [];
  const operations: PersonOperation[] = [];
  const spans: Array<{ index: number; start: number; required: number }> = [];
  messages.forEach((message, index) => {
    if (!message.ok) {
      skipped.push({ index, reason: message.reason });
      return;
    }
    const mapped = toOperations(message.call);
    spans.push({ index, start: operations.length, required: mapped.required });
    operations.push(...mapped.operations);
  });
  if (skipped.length > 0 && request.headers[STRICT_HEADER] === "1") {
    counts.refused(messages.length);
    throw new PipelineRefusal(400, `${skipped.length} of ${messages.length} events cannot be used: ${skipped[0]!.reason}.`, skipped);
  }
  const results = operations.length > 0 ? await deps.people.apply(workspace.id, operations) : [];
  for (const span of spans) {
    const refused = results.slice(span.start, span.start + span.required).find((r) => !r.ok);
    if (refused && !refused.ok) skipped.push({ index: span.index, reason: `${refused.code}${refused.field ? ` (${refused.field})` : ""}: ${refused.message}` });
  }
  counts.record(messages.length - skipped.length, skipped);
  if (skipped.length === 0) return { success: true };
  skipped.sort((a, b) => a.index - b.index);
  // Segment answers 200 here too (errors inside a batch are invisible to its clients), so they are logged and counted.
  request.log.warn({ event: "pipeline.events.skipped", workspace: workspace.name, skipped: skipped.length, events: messages.length, first: skipped[0] }, "pipeline events skipped");
  return { success: true, skipped };
}
