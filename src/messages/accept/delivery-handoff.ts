// A hand-off from acceptance to an MTA worker in the same process. Without it a new delivery
// waits in the queue for a claim: a second write transaction, a read of the message back, and
// the wake-up in between. With it, acceptance writes the delivery already leased to the local
// worker, in the same transaction as the message (so a crash leaves nothing but a lease, which
// comes back like any other: taken back at the next start on SQLite, run out on PostgreSQL), and
// hands the worker the rows and the MIME it has in memory once the commit is durable — the way
// Postfix's cleanup hands new mail straight to its active queue.
//
// The worker grants only part of its room this way (see MtaWorker.reserve), so that retries and
// other workspaces' queued mail, which only claims bring, always find room too.

import type { DsnRequest } from "../dsn-request.js";
import type { PerDelivery } from "../per-delivery.js";

/** A delivery as acceptance hands it over: committed, leased to the worker, never attempted. */
export interface HandedDelivery {
  id: number;
  messageId: string;
  workspaceId: string;
  recipient: string;
  domain: string;
  stream: string;
  attempts: 0;
  createdAt: number;
  leaseOwner: string;
}

export interface DeliveryHandoff {
  /** Asks for room for up to `count` deliveries; null when the worker takes none now. */
  reserve(count: number): { owner: string; leaseUntil: number; granted: number } | null;
  /** Gives back room that was reserved and not handed over (the commit failed). */
  release(count: number): void;
  /** The reserved deliveries, committed, with their messages' envelope sender, From address, MIME and RFC 3461 parameters. */
  take(deliveries: HandedDelivery[], messages: Map<string, { envelopeFrom: string; author: string; mime: Buffer; dsn: DsnRequest | null; perDelivery: PerDelivery | null; tag: string | null }>): void;
}
