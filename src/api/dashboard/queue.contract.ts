// The dashboard's queue calls: one workspace's deliveries by state, its backlogged destinations
// and their waiting deliveries, and "retry now". Imported by web/ as types.
import { z } from "zod";

const Domain = z.string().trim().toLowerCase().min(1).max(255).regex(/^[^\s@/]+$/, "a destination is a domain name");

export const DestinationParams = z.object({ domain: Domain });

/** Retry a destination's deferred deliveries, one delivery, or (neither given) all of them. */
export const RetryBody = z
  .object({ domain: Domain.optional(), deliveryId: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional() })
  .strict();
export type RetryBody = z.infer<typeof RetryBody>;

export interface QueueDestination {
  domain: string;
  queued: number;
  deferred: number;
  oldestCreatedAt: number;
  /** The earliest next attempt among its waiting deliveries (ms). */
  nextAttemptAt: number;
  lastReply: string | null;
}

export interface QueueAnswer {
  /** Deliveries waiting: never attempted (queued), to retry (deferred), and of those, mid-attempt. Ended ones are on the stats page. */
  waiting: { queued: number; deferred: number; inFlight: number };
  destinations: QueueDestination[];
}

export interface WaitingDeliveryView {
  id: number;
  messageId: string;
  recipient: string;
  state: string;
  attempts: number;
  nextAttemptAt: number;
  lastReply: string | null;
  createdAt: number;
}

export interface DestinationAnswer {
  domain: string;
  deliveries: WaitingDeliveryView[];
}

export interface RetryAnswer {
  /** Deferred deliveries made due now (rows mid-attempt are left to finish). */
  retried: number;
}
