// Inactive recipients per stream. A suppressed address is refused at acceptance (all recipients
// inactive → the request fails with Postmark's 406) or recorded as suppressed (some inactive).
// Addresses become inactive as a reaction to bounce records whose type deactivates (a hard
// bounce, a spam complaint), in the same transaction as the bounce; each new suppression is
// announced as suppression.added.
import type { Db } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { SuppressionsTable } from "../store/schema.js";
import type { Reaction } from "../events/outbox.js";
import type { NewEvent } from "../events/event-map.js";
import { BOUNCE_TYPES } from "../bounces/bounce-types.js";
import { addressKey } from "../shared/email-address.js";
import { SuppressionsRepository } from "./suppressions.repository.js";

export type SuppressionReason = SuppressionsTable["reason"];

export class SuppressionsService {
  private readonly repo = new SuppressionsRepository();

  constructor(private readonly deps: { clock: Clock }) {}

  /** The subset of `emailKeys` (addressKey forms) suppressed on the stream. */
  findSuppressed(db: Db, workspaceId: string, stream: string, emailKeys: string[]): Promise<Set<string>> {
    return this.repo.findSuppressed(db, workspaceId, stream, emailKeys);
  }

  /** Suppresses an address on a stream; false when it already was (its first reason and time stay). */
  suppress(db: Db, input: { workspaceId: string; stream: string; email: string; reason: SuppressionReason; origin: SuppressionsTable["origin"] }): Promise<boolean> {
    return this.repo.insertIfAbsent(db, {
      workspace_id: input.workspaceId,
      stream: input.stream,
      email_key: addressKey(input.email),
      email: input.email,
      reason: input.reason,
      origin: input.origin,
      created_at: this.deps.clock.now(),
    });
  }

  list(db: Db, workspaceId: string, stream: string) {
    return this.repo.list(db, workspaceId, stream);
  }

  /** Deactivates the address of every bounce record whose type says so, and of every complaint. */
  deactivateReaction(): Reaction {
    return {
      name: "suppressions: inactive after a hard bounce or a complaint",
      types: ["bounce.recorded", "complaint.recorded"],
      handle: async (trx, events, outbox) => {
        const added: NewEvent[] = [];
        for (const event of events) {
          if (event.type !== "complaint.recorded" && event.type !== "bounce.recorded") continue;
          const reason = event.type === "complaint.recorded" ? "SpamComplaint" : reasonFor(event.data.bounceType);
          if (reason === null || !event.recipient) continue;
          const stream = event.data.stream;
          const origin = "Recipient" as const;
          if (await this.suppress(trx, { workspaceId: event.workspaceId, stream, email: event.recipient, reason, origin })) {
            added.push({ type: "suppression.added", workspaceId: event.workspaceId, messageId: event.messageId, recipient: event.recipient, data: { stream, reason, origin } });
          }
        }
        await outbox.emit(trx, added);
      },
    };
  }
}

/** The suppression reason a deactivating bounce type gives, or null when the type does not deactivate. */
function reasonFor(type: keyof typeof BOUNCE_TYPES): SuppressionReason | null {
  if (!BOUNCE_TYPES[type].deactivates) return null;
  return type === "SpamComplaint" ? "SpamComplaint" : type === "HardBounce" ? "HardBounce" : "ManualSuppression";
}
