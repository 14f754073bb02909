// The Message Streams API: GET/POST /message-streams, GET/PATCH /message-streams/{id}, and
// POST /message-streams/{id}/archive and /unarchive. The streams service keeps Postmark's rules;
// this file reads the request and shapes the answer.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { StreamType } from "../../workspaces/streams.service.js";
import { InvalidRequest } from "./postmark.edge-errors.js";
import type { PostmarkApiDeps } from "./postmark.plugin.js";
import { requireWorkspace, stringParam, type Query } from "./query-params.js";
import { handlingOf, streamTrackLinksOf, toMessageStream } from "./stream.mapper.js";
import { postmarkServerId } from "./server.routes.js";

const TYPE_WORDS: Record<string, StreamType | null> = { all: null, inbound: "Inbound", transactional: "Transactional", broadcasts: "Broadcasts" };

export async function messageStreamsRoutes(app: FastifyInstance, deps: PostmarkApiDeps): Promise<void> {
  app.get("/message-streams", async (request) => {
    const workspace = requireWorkspace(request);
    const q = request.query as Query;
    const typeWord = (stringParam(q, "messagestreamtype") ?? "all").toLowerCase();
    if (!Object.hasOwn(TYPE_WORDS, typeWord)) throw InvalidRequest("'MessageStreamType' must be All, Inbound, Transactional or Broadcasts.");
    const archivedWord = (stringParam(q, "includearchivedstreams") ?? "false").toLowerCase();
    if (archivedWord !== "true" && archivedWord !== "false") throw InvalidRequest("'IncludeArchivedStreams' must be true or false.");
    const streams = await deps.streams.list(workspace.id, { type: TYPE_WORDS[typeWord]!, includeArchived: archivedWord === "true" });
    return { MessageStreams: streams.map(toMessageStream), TotalCount: streams.length };
  });

  app.get("/message-streams/:id", async (request) => {
    const workspace = requireWorkspace(request);
    return toMessageStream(await deps.streams.get(workspace.id, idOf(request)));
  });

  app.post("/message-streams", async (request) => {
    const workspace = requireWorkspace(request);
    const body = objectBody(request);
    const stream = await deps.streams.create(workspace.id, {
      id: body.ID,
      type: typeof body.MessageStreamType === "string" ? capitalized(body.MessageStreamType) : body.MessageStreamType,
      ...editableFields(body),
    });
    return toMessageStream(stream);
  });

  app.patch("/message-streams/:id", async (request) => {
    const workspace = requireWorkspace(request);
    const body = objectBody(request);
    // ID and MessageStreamType cannot change; Postmark ignores them in an edit, and so do we.
    const stream = await deps.streams.edit(workspace.id, idOf(request), editableFields(body));
    return toMessageStream(stream);
  });

  app.post("/message-streams/:id/archive", async (request) => {
    const workspace = requireWorkspace(request);
    const stream = await deps.streams.archive(workspace.id, idOf(request));
    return { ID: stream.id, ServerID: postmarkServerId(workspace.id), ExpectedPurgeDate: new Date(stream.purgeAt!).toISOString() };
  });

  app.post("/message-streams/:id/unarchive", async (request) => {
    const workspace = requireWorkspace(request);
    return toMessageStream(await deps.streams.unarchive(workspace.id, idOf(request)));
  });
}

function idOf(request: FastifyRequest): string {
  return (request.params as { id: string }).id;
}

function objectBody(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw InvalidRequest("The request body must be a JSON object.");
  return body as Record<string, unknown>;
}

/** The fields a create and an edit both take, in the streams service's words (TrackOpens/TrackLinks are Posthorn's additions). */
function editableFields(body: Record<string, unknown>) {
  return {
    name: body.Name,
    description: body.Description,
    unsubscribeHandling: handlingIn(body),
    trackOpens: body.TrackOpens,
    trackLinks: streamTrackLinksOf(body.TrackLinks),
  };
}

function handlingIn(body: Record<string, unknown>): unknown {
  const config = body.SubscriptionManagementConfiguration;
  if (config === undefined || config === null) return undefined;
  if (typeof config !== "object" || Array.isArray(config)) throw InvalidRequest("'SubscriptionManagementConfiguration' must be an object.");
  return handlingOf((config as { UnsubscribeHandlingType?: unknown }).UnsubscribeHandlingType);
}

/** "broadcasts" → "Broadcasts": Postmark's docs spell values in either case. */
function capitalized(word: string): string {
  return word.length === 0 ? word : word[0]!.toUpperCase() + word.slice(1).toLowerCase();
}
