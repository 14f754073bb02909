// The dashboard's segments calls (issue 13): the list with sizes, a segment with its definition,
// its size over time (SegmentsService.sizeOverTime: derived from the membership history), and its
// members a page at a time with their id and email. Viewers read everything here.
import type { FastifyInstance } from "fastify";
import type { SegmentsService } from "../../segments/segments.service.js";
import type { Segment } from "../../segments/segments.port.js";
import type { PeopleService } from "../../people/people.service.js";
import { SegmentNotFound } from "../../segments/segments.errors.js";
import { requireWorkspace } from "./dashboard.family.js";
import { readInput } from "./dashboard.input.js";
import { MembersQuery, SegmentParams, SizesQuery, type MembersAnswer, type SegmentAnswer, type SegmentSummary, type SegmentsAnswer, type SizesAnswer } from "./segments.contract.js";

const WorkspaceParams = SegmentParams.pick({ workspaceId: true });

const BUCKETS = { hour: { ms: 3_600_000, count: 48 }, day: { ms: 86_400_000, count: 30 } } as const;

export interface SegmentsRoutesDeps {
  segments: Pick<SegmentsService, "list" | "get" | "size" | "filled" | "sizeOverTime" | "members">;
  people: Pick<PeopleService, "getMany">;
}

export function segmentsRoutes(deps: SegmentsRoutesDeps) {
  const summary = async (segment: Segment): Promise<SegmentSummary> => ({
    segmentId: segment.segmentId,
    name: segment.name,
    description: segment.description,
    kind: segment.kind,
    origin: segment.origin,
    size: await deps.segments.size(segment.workspaceId, segment.segmentId),
    updatedAt: segment.updatedAt,
  });
  const find = async (workspaceId: string, segmentId: string): Promise<Segment> => {
    const segment = await deps.segments.get(workspaceId, segmentId);
    if (!segment) throw SegmentNotFound(`There is no segment ${segmentId} in this workspace.`);
    return segment;
  };

  return async function routes(app: FastifyInstance): Promise<void> {
    app.get("/workspaces/:workspaceId/segments", async (request): Promise<SegmentsAnswer> => {
      const { workspaceId } = readInput(WorkspaceParams, request.params, "address");
      requireWorkspace(request, workspaceId, "read");
      const segments = await deps.segments.list(workspaceId);
      return { segments: await Promise.all(segments.map(summary)) };
    });

    app.get("/workspaces/:workspaceId/segments/:segmentId", async (request): Promise<SegmentAnswer> => {
      const { workspaceId, segmentId } = readInput(SegmentParams, request.params, "address");
      requireWorkspace(request, workspaceId, "read");
      const segment = await find(workspaceId, segmentId);
      const [base, filled] = await Promise.all([summary(segment), deps.segments.filled(workspaceId, segmentId)]);
      return { segment: { ...base, conditions: segment.conditions, createdAt: segment.createdAt, filled } };
    });

    app.get("/workspaces/:workspaceId/segments/:segmentId/sizes", async (request): Promise<SizesAnswer> => {
      const { workspaceId, segmentId } = readInput(SegmentParams, request.params, "address");
      requireWorkspace(request, workspaceId, "read");
      const query = readInput(SizesQuery, request.query, "query");
      await find(workspaceId, segmentId);
      const bucket = BUCKETS[query.bucket];
      const points = await deps.segments.sizeOverTime(workspaceId, segmentId, { bucketMs: bucket.ms, buckets: query.buckets ?? bucket.count });
      return { bucket: query.bucket, points };
    });

    app.get("/workspaces/:workspaceId/segments/:segmentId/members", async (request): Promise<MembersAnswer> => {
      const { workspaceId, segmentId } = readInput(SegmentParams, request.params, "address");
      requireWorkspace(request, workspaceId, "read");
      const query = readInput(MembersQuery, request.query, "query");
      await find(workspaceId, segmentId);
      const page = await deps.segments.members(workspaceId, segmentId, { limit: query.limit, cursor: query.cursor ?? null });
      const people = await deps.people.getMany(workspaceId, page.items.map((m) => m.personId));
      return {
        members: page.items.map((m) => ({ personId: m.personId, id: people.get(m.personId)?.id ?? null, email: people.get(m.personId)?.email ?? null, enteredAt: m.enteredAt })),
        next: page.next,
      };
    });
  };
}
