// The dashboard's suppressions and bounces: a stream's inactive addresses (search with paging,
// add by hand, reactivate, CSV export) and the workspace's bounce records (list, detail with the
// report's dump, activate). The operations are the Postmark API's (src/suppressions/,
// src/bounces/), with the same rules: a spam complaint's suppression cannot be removed.
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { SuppressionsService } from "../../suppressions/suppressions.service.js";
import type { BounceRecord, BouncesService } from "../../bounces/bounces.service.js";
import type { StreamsService } from "../../workspaces/streams.service.js";
import { readInput } from "./dashboard.input.js";
import { DASHBOARD_BODY_LIMIT, requireWorkspace } from "./dashboard.family.js";
import {
  BounceParams,
  BouncesQuery,
  ExportQuery,
  SuppressionChangeBody,
  SuppressionsQuery,
  type BounceAnswer,
  type BounceView,
  type BouncesAnswer,
  type SuppressionChangeAnswer,
  type SuppressionsAnswer,
} from "./suppressions.contract.js";

export interface SuppressionsRoutesDeps {
  suppressions: Pick<SuppressionsService, "search" | "dump" | "suppressByCustomer" | "reactivateByCustomer">;
  bounces: Pick<BouncesService, "search" | "get" | "dump" | "activate">;
  streams: Pick<StreamsService, "list">;
}

const WorkspaceParams = z.object({ workspaceId: z.string().min(1).max(100) });
const BouncePath = WorkspaceParams.extend(BounceParams.shape);

export function suppressionsRoutes(deps: SuppressionsRoutesDeps) {
  const sendingStreams = async (workspaceId: string) =>
    (await deps.streams.list(workspaceId, { type: null, includeArchived: false })).filter((s) => s.type !== "Inbound").map((s) => ({ id: s.id, name: s.name }));

  return async function routes(app: FastifyInstance): Promise<void> {
    app.get("/workspaces/:workspaceId/suppressions", async (request) => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "path");
      requireWorkspace(request, workspaceId, "read");
      const q = readInput(SuppressionsQuery, request.query, "query");
      const page = await deps.suppressions.search(workspaceId, q.stream, { emailContains: q.email || undefined }, { count: q.count, offset: q.offset });
      const answer: SuppressionsAnswer = { stream: q.stream, total: page.total, suppressions: page.suppressions, streams: await sendingStreams(workspaceId) };
      return answer;
    });

    app.post("/workspaces/:workspaceId/suppressions", { bodyLimit: DASHBOARD_BODY_LIMIT }, async (request) => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "path");
      requireWorkspace(request, workspaceId, "change");
      const body = readInput(SuppressionChangeBody, request.body, "suppression");
      const [change] = await deps.suppressions.suppressByCustomer(workspaceId, body.stream, [body.email]);
      return change satisfies SuppressionChangeAnswer | undefined;
    });

    app.post("/workspaces/:workspaceId/suppressions/reactivate", { bodyLimit: DASHBOARD_BODY_LIMIT }, async (request) => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "path");
      requireWorkspace(request, workspaceId, "change");
      const body = readInput(SuppressionChangeBody, request.body, "reactivation");
      const [change] = await deps.suppressions.reactivateByCustomer(workspaceId, body.stream, [body.email]);
      return change satisfies SuppressionChangeAnswer | undefined;
    });

    // A file for a spreadsheet: every suppression of the stream (at most the dump's cap, newest first).
    app.get("/workspaces/:workspaceId/suppressions/export", async (request, reply) => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "path");
      requireWorkspace(request, workspaceId, "read");
      const { stream } = readInput(ExportQuery, request.query, "query");
      const rows = await deps.suppressions.dump(workspaceId, stream, {});
      const lines = ["email,reason,origin,created_at", ...rows.map((s) => [s.email, s.reason, s.origin, new Date(s.createdAt).toISOString()].map(csvField).join(","))];
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="suppressions-${stream.replace(/[^A-Za-z0-9_-]/g, "_")}.csv"`)
        .header("cache-control", "no-store")
        .send(lines.join("\r\n") + "\r\n");
    });

    app.get("/workspaces/:workspaceId/bounces", async (request) => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "path");
      requireWorkspace(request, workspaceId, "read");
      const q = readInput(BouncesQuery, request.query, "query");
      const page = await deps.bounces.search(workspaceId, { stream: q.stream, emailContains: q.email || undefined, type: q.type || undefined }, { count: q.count, offset: q.offset });
      const answer: BouncesAnswer = { total: page.total, bounces: page.bounces.map(toView) };
      return answer;
    });

    app.get("/workspaces/:workspaceId/bounces/:id", async (request) => {
      const { workspaceId, id } = readInput(BouncePath, request.params, "path");
      requireWorkspace(request, workspaceId, "read");
      const bounce = await deps.bounces.get(workspaceId, id);
      const answer: BounceAnswer = { bounce: toView(bounce), dump: bounce.dumpAvailable ? await deps.bounces.dump(workspaceId, id) : "" };
      return answer;
    });

    app.post("/workspaces/:workspaceId/bounces/:id/activate", { bodyLimit: DASHBOARD_BODY_LIMIT }, async (request) => {
      const { workspaceId, id } = readInput(BouncePath, request.params, "path");
      requireWorkspace(request, workspaceId, "change");
      const answer: BounceAnswer = { bounce: toView(await deps.bounces.activate(workspaceId, id)), dump: "" };
      return answer;
    });
  };
}

function toView(b: BounceRecord): BounceView {
  return {
    id: b.id,
    messageId: b.messageId,
    stream: b.stream,
    type: b.type,
    description: b.description,
    details: b.details,
    email: b.email,
    from: b.from,
    subject: b.subject,
    tag: b.tag,
    inactive: b.inactive,
    canActivate: b.canActivate,
    bouncedAt: b.bouncedAt,
    dumpAvailable: b.dumpAvailable,
  };
}

/** RFC 4180 quoting; a leading =, +, - or @ is prefixed with ' so a spreadsheet does not run it as a formula. */
function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
