// What an MTA worker is given: how it picks the envelope sender, its settings, and the services it
// works with (store, transport, queue, recorder, signer). Kept apart from the worker's loop
// (mta.worker.ts), which grew past what reads well in one file.
import type { Spans } from "../shared/spans.js";
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import type { MessagesService } from "../messages/messages.service.js";
import type { Transport } from "./mta.types.js";
import type { DeliveriesRepository } from "./queue/deliveries.repository.js";
import type { OutcomeRecorder } from "./queue/outcome.recorder.js";
import type { PerDelivery } from "../messages/per-delivery.js";
import type { DkimData } from "../events/event-map.js";

/** How the envelope sender (MAIL FROM) of each delivery is chosen. */
export type EnvelopePolicy =
  /** The message's From address; recipients of one message and domain share one SMTP transaction. */
  | { verp: false }
  /** A signed VERP address per delivery (see src/bounces/verp.ts): one transaction per recipient, on shared connections. */
  | { verp: true; secret: Buffer; returnPathDomain: (fromAddress: string) => Promise<string> };

/**
 * Adds DKIM signatures for the From domain, or returns the bytes unchanged when it has no key;
 * either way says what it did, which each attempt's event records (src/sending-domains/dkim.signer.ts).
 */
export interface MessageSigner {
  signWithResult(raw: Buffer, fromDomain: string): Promise<{ raw: Buffer; dkim: DkimData }>;
}

export interface MtaWorkerOptions {
  envelope: EnvelopePolicy;
  /** Most deliveries held (claimed and not yet recorded) at once. */
  concurrency: number;
  /** How long a claim (and each renewal) reserves a delivery; renewed every third of it. */
  leaseMs: number;
  /**
   * This worker is the only one on its database (SQLite, one process per data directory): every
   * lease it finds at start was left by a predecessor that died, and is taken back before the
   * first claim. Never where other processes may be working (PostgreSQL).
   */
  soleWorker?: boolean;
  /** How often to look for due work when nothing wakes the worker. */
  pollMs?: number;
  claimBatch?: number;
}

export interface MtaWorkerDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  transport: Transport;
  deliveries: DeliveriesRepository;
  messages: Pick<MessagesService, "forDelivery">;
  recorder: OutcomeRecorder;
  signer?: MessageSigner;
  /**
   * Makes one recipient's copy of a message delivered to several (tracking tokens and unsubscribe
   * fields naming the delivery: src/compose/per-delivery.compose.ts). Without it such a message is
   * sent as stored, with no tracking and no unsubscribe fields.
   */
  composeForDelivery?: (mime: Buffer, messageId: string, deliveryId: number, spec: PerDelivery) => Buffer;
  /** Told how long each attempt took, in seconds (the metrics). */
  attemptTook?: (seconds: number) => void;
  /** Traces: each attempt in a `message.deliver` span continuing its message's stored trace. Absent: tracing is off. */
  spans?: Spans;
}
