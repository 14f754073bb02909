// Customer.io's export calls (customerio-node's listExports, getExport, downloadExport,
// createCustomersExport, createDeliveriesExport) and the file behind a download link. An export is
// answered at once and built by the worker role; downloadExport answers {url}, a link to this
// server that opens the CSV without the App API key for 15 minutes, as Customer.io's signed S3
// links do. The link's base is the host the caller reached (its Host header and scheme), so it
// works from wherever the App API call was made; a forged or expired link is a plain 403, an
// export that is gone (or another workspace's) a plain 404.
import { Readable } from "node:stream";
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from "fastify";
import type { ExportsService } from "../../exports/exports.service.js";
import type { Export } from "../../exports/exports.types.js";
import { MAX_TOKEN_CHARS } from "../../exports/download-links.js";
import { appWorkspace } from "./app-api.plugin.js";

export interface ExportsRoutesDeps {
  exports: ExportsService;
}

/** Where download links point: outside /v1, whose routes all want the App API key. */
export const EXPORT_FILES_PATH = "/exports/files";
/** An export request is small: a filter tree of at most 100 conditions, or a few options. */
const BODY_BYTES = 256 * 1024;

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

export function exportsRoutes(deps: ExportsRoutesDeps): FastifyPluginAsync {
  const { exports } = deps;
  const ws = (request: FastifyRequest) => appWorkspace(request).id;
  const id = (request: FastifyRequest) => (request.params as { id: string }).id;

  return async (app: FastifyInstance) => {
    app.get("/exports", async (request) => ({ exports: (await exports.list(ws(request))).map(exportJson) }));
    app.get("/exports/:id", async (request) => ({ export: exportJson(await exports.get(ws(request), id(request))) }));
    app.get("/exports/:id/download", async (request) => {
      const { token } = await exports.downloadToken(ws(request), id(request));
      return { url: `${request.protocol}://${request.host}${EXPORT_FILES_PATH}/${token}` };
    });
    app.post("/exports/customers", { bodyLimit: BODY_BYTES }, async (request) => ({ export: exportJson(await exports.createCustomers(ws(request), request.body)) }));
    app.post("/exports/deliveries", { bodyLimit: BODY_BYTES }, async (request) => ({ export: exportJson(await exports.createDeliveries(ws(request), request.body)) }));
  };
}

/** The file behind a download link: no credentials but the link itself. */
export function exportFilesRoutes(deps: ExportsRoutesDeps): (app: FastifyInstance) => Promise<void> {
  return async (app: FastifyInstance) => {
    app.get(`${EXPORT_FILES_PATH}/:token`, async (request, reply) => {
      const token = (request.params as { token: string }).token;
      const file = token.length > MAX_TOKEN_CHARS ? ({ kind: "refused", reason: "forged" } as const) : await deps.exports.open(token);
      reply.header("cache-control", "private, no-store");
      switch (file.kind) {
        case "refused":
          return reply.code(403).type("text/plain; charset=utf-8").send(file.reason === "expired" ? "This download link has expired; ask for a new one.\n" : "This download link is not valid.\n");
        case "missing":
          return reply.code(404).type("text/plain; charset=utf-8").send("There is no such export.\n");
        case "file":
          return reply.type("text/csv; charset=utf-8").header("content-disposition", `attachment; filename="${file.filename}"`).send(Readable.from(file.lines));
        default: {
          const never: never = file;
          throw new Error(`unknown export file outcome ${JSON.stringify(never)}`);
        }
      }
    });
  };
}

/**
 * Customer.io's export object. `user_id` and `user_email` name the Customer.io user who made it;
 * an App API key has no user here, so they are null. `error` (Posthorn's) says why a failed one
 * failed.
 */
function exportJson(e: Export): Record<string, unknown> {
  return {
    id: Number(e.exportId),
    user_id: null,
    user_email: null,
    type: e.kind,
    status: e.state,
    failed: e.state === "failed",
    total: e.total,
    downloads: e.downloads,
    description: e.description,
    deduplicate_id: `${e.exportId}:${seconds(e.updatedAt)}`,
    created_at: seconds(e.createdAt),
    updated_at: seconds(e.updatedAt),
    finished_at: seconds(e.finishedAt),
    error: e.error,
  };
}
