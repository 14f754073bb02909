// The /v1 prefix is shared by two APIs that Posthorn serves side by side, as Customer.io does on
// different hosts: the Segment-spec pipeline API (POST /v1/identify, /v1/track, …; Basic auth
// with a write key) and Customer.io's App API (/v1/customers/…, /v1/segments/…; Bearer app key).
// Each registers its routes as its own encapsulated plugin (its authentication hook and error
// form apply to its routes only); a path under /v1 that neither serves is answered here, in the
// form of the credentials it presents, after they are checked (the pipeline's form is Segment's
// `{"success": false, "message": …}`, as in api/pipeline/pipeline.replies.ts).
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from "fastify";
import type { WorkspacesService } from "../workspaces/workspaces.service.js";
import type { ApiFamily } from "./http.server.js";
import { basicCredentials, bearerToken } from "./customerio/credentials.js";

export interface V1FamilyDeps {
  workspaces: WorkspacesService;
  /** The Segment-spec pipeline API's routes (api/pipeline/). */
  pipeline: FastifyPluginAsync[];
  /** Customer.io's App API routes (api/cio-app/). */
  app: FastifyPluginAsync[];
}

export function v1Family(deps: V1FamilyDeps): ApiFamily {
  return {
    name: "v1",
    prefixes: ["/v1/"],
    plugin: async (root: FastifyInstance) => {
      await root.register(
        async (v1) => {
          for (const routes of [...deps.pipeline, ...deps.app]) await v1.register(routes);
          v1.setNotFoundHandler(async (request, reply) => {
            const { status, body } = await refuse(request, deps.workspaces);
            return reply.code(status).send(body);
          });
        },
        { prefix: "/v1" },
      );
    },
  };
}

async function refuse(request: FastifyRequest, workspaces: WorkspacesService): Promise<{ status: number; body: unknown }> {
  const bearer = bearerToken(request);
  if (bearer !== null) {
    if (!(await workspaces.authenticateAppKey(bearer))) return { status: 401, body: { meta: { error: "Unauthorized request: the App API key is not valid." } } };
    return { status: 404, body: { meta: { error: `There is no App API call ${request.method} ${request.url.split("?")[0]}.` } } };
  }
  const basic = basicCredentials(request);
  if (!basic || !(await workspaces.authenticateWriteKey(basic.username))) return { status: 401, body: { success: false, message: "Unauthorized: the write key is not valid." } };
  return { status: 404, body: { success: false, message: `There is no call ${request.method} ${request.url.split("?")[0]}.` } };
}
