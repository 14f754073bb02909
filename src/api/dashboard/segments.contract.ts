// What the dashboard's segments calls take and answer (issue 13). web/ imports the types.
import { z } from "zod";

export const SegmentParams = z.object({ workspaceId: z.string().min(1).max(100), segmentId: z.string().min(1).max(20) });

export const MembersQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: z.string().max(400).optional() });

/** hour: the last 48 hours; day: the last 30 days (buckets overrides). */
export const SizesQuery = z.object({ bucket: z.enum(["hour", "day"]).default("day"), buckets: z.coerce.number().int().min(1).max(120).optional() });

export interface SegmentSummary {
  segmentId: string;
  name: string;
  description: string;
  kind: "data" | "manual";
  origin: "api" | "file";
  size: number;
  updatedAt: number;
}

export interface SegmentsAnswer {
  segments: SegmentSummary[];
}

export interface SegmentAnswer {
  segment: SegmentSummary & { conditions: unknown; createdAt: number; filled: boolean };
}

export interface SizesAnswer {
  bucket: "hour" | "day";
  /** Oldest first; `at` is the end of the bucket (ms), `size` the members then. */
  points: Array<{ at: number; size: number }>;
}

export interface MembersAnswer {
  members: Array<{ personId: string; id: string | null; email: string | null; enteredAt: number }>;
  next: string | null;
}
