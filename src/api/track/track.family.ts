// Customer.io's Track API (v1 under /api/v1, v2 under /api/v2) and its unauthenticated
// unsubscribe call (/unsubscribe/{delivery_id}), as one API family of the HTTP edge.
//
// Every call under /api/v1 and /api/v2 is authenticated first (onRequest, before a byte of the
// body is read: HTTP Basic with the site id and API key, as customerio-node sends them), so a
// client without credentials learns nothing, not even which paths exist; a refusal sent before the
// body closes the connection. Errors are Customer.io's form (`{"meta":{"error"}}`, plus `errors[]`
// for a 400), success is 200 with `{}`: customerio-node treats only 200 and 201 as success.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Workspace, WorkspacesService } from "../../workspaces/workspaces.service.js";
import { isPosthornError, PosthornError } from "../../shared/errors.js";
import type { ApiFamily } from "../http.server.js";
import { basicCredentials } from "../customerio/credentials.js";
import { toCustomerIoError } from "../customerio/customerio.errors.js";
import { TrackCredentialsInvalid, TrackNotFound, TrackRequestInvalid, TrackTooBusy, TrackTooLarge } from "./track.edge-errors.js";
import { trackV1Routes } from "./track-v1.routes.js";
import { trackV2Routes } from "./track-v2.routes.js";
import { unsubscribeRoutes } from "./unsubscribe.routes.js";
import type { TrackApiDeps } from "./track-request.js";

export type { TrackApiDeps } from "./track-request.js";

export function trackFamily(deps: TrackApiDeps): ApiFamily {
  return {
    name: "track",
    prefixes: ["/api/v1/", "/api/v2/", "/unsubscribe/"],
    refuseUnroutable: async (request, status, message) => {
      try {
        if (!pathOf(request.url).startsWith("/unsubscribe/")) await authenticate(request, deps.workspaces);
        return { status, body: { meta: { error: message } } };
      } catch (err) {
        if (isPosthornError(err)) return toCustomerIoError(err);
        throw err;
      }
    },
    plugin: async (root: FastifyInstance) => {
      await root.register(async (track) => {
        track.decorateRequest("trackWorkspace", null);
        track.setErrorHandler(answerError);
        await track.register(
          async (open) => {
            await open.register(unsubscribeRoutes, deps);
            open.setNotFoundHandler(async (request) => refuseUnknown(request));
          },
          { prefix: "/unsubscribe" },
        );
        await track.register(async (authenticated) => {
          authenticated.addHook("onRequest", async (request) => {
            request.trackWorkspace = await authenticate(request, deps.workspaces);
          });
          for (const [prefix, routes] of [
            ["/api/v1", trackV1Routes],
            ["/api/v2", trackV2Routes],
          ] as const) {
            await authenticated.register(
              async (api) => {
                await api.register(routes, deps);
                api.setNotFoundHandler(async (request) => refuseUnknown(request));
              },
              { prefix },
            );
          }
        });
      });
    },
  };
}

function pathOf(url: string): string {
  return url.split("?")[0]!.toLowerCase();
}

async function authenticate(request: FastifyRequest, workspaces: WorkspacesService): Promise<Workspace> {
  const basic = basicCredentials(request);
  const workspace = basic ? await workspaces.authenticateTrack(basic.username, basic.password) : null;
  if (!workspace) throw TrackCredentialsInvalid("Unauthorized request: send your site id and API key with HTTP Basic authentication.");
  return workspace;
}

async function refuseUnknown(request: FastifyRequest): Promise<never> {
  throw TrackNotFound(`There is no Track API call ${request.method} ${request.url.split("?")[0]}.`);
}

/** The HTTP edge's shared refusals (body budget, JSON parsing) in the Track API's words. */
const SHARED_CODES: Record<string, (message: string) => PosthornError> = {
  POSTMARK_TOO_BUSY: (m) => TrackTooBusy(m),
  POSTMARK_INVALID_JSON: (m) => TrackRequestInvalid(m, { field: null }),
  POSTMARK_JSON_REQUIRED: (m) => TrackRequestInvalid(m, { field: null }),
  POSTMARK_BODY_TOO_LARGE: (m) => TrackTooLarge(m),
};

function answerError(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // A refusal sent before the body was read (credentials, sizes) closes the connection rather
  // than read what the client still sends.
  if (!request.raw.complete) reply.header("connection", "close");
  const coded = asCodedError(err, request);
  if (coded) {
    const { status, body } = toCustomerIoError(coded);
    if (status >= 500) request.log.error({ event: "http.request.failed", err, url: request.url }, "track request failed");
    return reply.code(status).send(body);
  }
  request.log.error({ event: "http.request.failed", err, url: request.url }, "track request failed");
  return reply.code(500).send({ meta: { error: "Internal server error." } });
}

function asCodedError(err: FastifyError | Error, request: FastifyRequest): PosthornError | null {
  if (isPosthornError(err)) return SHARED_CODES[err.code]?.(err.message) ?? err;
  const status = (err as { statusCode?: number }).statusCode;
  if (status === 413) return TrackTooLarge(`The request body is larger than the ${request.routeOptions.bodyLimit ?? 0} bytes this call accepts.`);
  if (status !== undefined && status >= 400 && status < 500) return TrackRequestInvalid(err.message, { field: null });
  return null;
}
