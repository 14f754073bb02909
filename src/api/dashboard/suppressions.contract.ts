// The dashboard's suppressions and bounces calls: a stream's inactive addresses (search, page,
// add, reactivate, CSV export) and the workspace's bounce records. Imported by web/ as types.
import { z } from "zod";

const Count = z.coerce.number().int().min(1).max(500).default(50);
const Offset = z.coerce.number().int().min(0).max(1_000_000).default(0);
const StreamId = z.string().min(1).max(100);
const Address = z.string().trim().min(3).max(320);

export const SuppressionsQuery = z.object({
  stream: StreamId.default("outbound"),
  /** A part of the address, matched literally and without regard to case. */
  email: z.string().trim().max(320).optional(),
  count: Count,
  offset: Offset,
});

export const ExportQuery = z.object({ stream: StreamId.default("outbound") });

export const SuppressionChangeBody = z.object({ stream: StreamId, email: Address });
export type SuppressionChangeBody = z.infer<typeof SuppressionChangeBody>;

export interface SuppressionView {
  email: string;
  reason: "HardBounce" | "SpamComplaint" | "ManualSuppression";
  origin: "Recipient" | "Customer" | "Admin";
  createdAt: number;
}

export interface SuppressionsAnswer {
  stream: string;
  total: number;
  suppressions: SuppressionView[];
  /** The workspace's sending streams, for the stream picker. */
  streams: Array<{ id: string; name: string }>;
}

export interface SuppressionChangeAnswer {
  email: string;
  outcome: "suppressed" | "deleted" | "failed";
  message: string | null;
}

export const BouncesQuery = z.object({
  stream: StreamId.optional(),
  email: z.string().trim().max(320).optional(),
  type: z.string().max(40).optional(),
  count: Count,
  offset: Offset,
});

export const BounceParams = z.object({ id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });

export interface BounceView {
  id: number;
  messageId: string;
  stream: string;
  type: string;
  /** The remote's words, as classified. */
  description: string;
  details: string;
  email: string;
  from: string;
  subject: string;
  tag: string | null;
  inactive: boolean;
  canActivate: boolean;
  bouncedAt: number;
  dumpAvailable: boolean;
}

export interface BouncesAnswer {
  total: number;
  bounces: BounceView[];
}

export interface BounceAnswer {
  bounce: BounceView;
  /** The raw report the bounce came from; "" when none was kept (a bounce met during our own session). */
  dump: string;
}
