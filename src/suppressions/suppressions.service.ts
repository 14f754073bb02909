// Inactive recipients per stream. A suppressed address is refused at acceptance (all recipients
// inactive → the request fails with Postmark's 406) or recorded as suppressed (some inactive).
// Addresses become inactive as a reaction to bounce records whose type deactivates (a hard
// bounce, a spam complaint), in the same transaction as the bounce, or when the customer
// suppresses them (Postmark's ManualSuppression, origin Customer); they become active again when
// the customer deletes the suppression or activates the bounce. Every change is announced in its
// transaction: suppression.added, suppression.removed.
//
// Addresses are keyed by addressKey (src/shared/email-address.ts) everywhere, so a suppression of
// User@Bücher.de holds for user@xn--bcher-kva.de.
import type { Db, Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { SuppressionsTable } from "../store/schema.js";
import type { EventEmitter, Reaction } from "../events/outbox.js";
import type { NewEvent } from "../events/event-map.js";
import { BOUNCE_TYPES } from "../bounces/bounce-types.js";
import { addressKey, normalizeEmail } from "../shared/email-address.js";
import { isValidEmail } from "../messages/addresses.js";
import { SuppressionsRepository, type SuppressionFilter } from "./suppressions.repository.js";
import { SuppressionsRequestInvalid } from "./suppressions.errors.js";

export type SuppressionReason = SuppressionsTable["reason"];
export type SuppressionOrigin = SuppressionsTable["origin"];

export interface Suppression {
  email: string;
  reason: SuppressionReason;
  origin: SuppressionOrigin;
  createdAt: number;
}

/** What became of one address of a create or delete request. */
export interface SuppressionChange {
  /** The address as the request gave it. */
  email: string;
  outcome: "suppressed" | "deleted" | "failed";
  /** Why it failed; null otherwise. */
  message: string | null;
}

/** Postmark takes at most 50 addresses per create or delete request. */
export const MAX_CHANGES_PER_REQUEST = 50;
/** A dump lists at most this many suppressions (newest first); Postmark's dump has no paging. */
export const DUMP_MAX = 50_000;
/** Longest address taken (RFC 5321 §4.5.3.1: 64 + 1 + 255). */
const ADDRESS_MAX = 320;

export interface SuppressionsDeps {
  clock: Clock;
  /** For the customer's changes (the reaction to bounces runs in the bounce's transaction). */
  store?: Store;
  outbox?: EventEmitter;
  /** Checks that the stream exists and is one that sends (throws STREAM_NOT_FOUND / STREAM_NOT_SENDABLE). */
  assertStream?: (workspaceId: string, streamId: string) => Promise<void>;
}

export class SuppressionsService {
  private readonly repo = new SuppressionsRepository();

  constructor(private readonly deps: SuppressionsDeps) {}

  /** The subset of `emailKeys` (addressKey forms) suppressed on the stream. */
  findSuppressed(db: Db, workspaceId: string, stream: string, emailKeys: string[]): Promise<Set<string>> {
    return this.repo.findSuppressed(db, workspaceId, stream, emailKeys);
  }

  /** Suppresses an address on a stream; false when it already was (its first reason and time stay). */
  suppress(db: Db, input: { workspaceId: string; stream: string; email: string; reason: SuppressionReason; origin: SuppressionOrigin }): Promise<boolean> {
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

  /** A stream's suppressions, newest first, filtered; at most DUMP_MAX. */
  async dump(workspaceId: string, stream: string, filter: Omit<SuppressionFilter, "emailKey"> & { email?: string }): Promise<Suppression[]> {
    await this.assertStream(workspaceId, stream);
    const { email, ...rest } = filter;
    const rows = await this.repo.list(this.store().db, workspaceId, stream, { ...rest, emailKey: email === undefined ? undefined : addressKey(email) }, DUMP_MAX);
    return rows.map((r) => ({ email: r.email, reason: r.reason, origin: r.origin, createdAt: Number(r.created_at) }));
  }

  /** A page of a stream's suppressions, newest first; `emailContains` keeps those whose address contains it. */
  async search(workspaceId: string, stream: string, filter: { emailContains?: string }, page: { count: number; offset: number }): Promise<{ total: number; suppressions: Suppression[] }> {
    await this.assertStream(workspaceId, stream);
    const { total, rows } = await this.repo.page(this.store().db, workspaceId, stream, filter, page);
    return { total, suppressions: rows.map((r) => ({ email: r.email, reason: r.reason, origin: r.origin, createdAt: Number(r.created_at) })) };
  }

  /** The customer suppresses addresses (ManualSuppression, origin Customer). Addresses already suppressed stay as they were. */
  async suppressByCustomer(workspaceId: string, stream: string, addresses: unknown): Promise<SuppressionChange[]> {
    const requested = checkRequest(addresses);
    await this.assertStream(workspaceId, stream);
    return this.store().write(async (trx) => {
      const changes: SuppressionChange[] = [];
      const added: NewEvent[] = [];
      for (const email of requested) {
        if (email === null || !isValidEmail(normalizeEmail(email))) {
          changes.push({ email: email ?? "", outcome: "failed", message: "Invalid email address." });
          continue;
        }
        const normalized = normalizeEmail(email);
        if (await this.suppress(trx, { workspaceId, stream, email: normalized, reason: "ManualSuppression", origin: "Customer" })) {
          added.push({ type: "suppression.added", workspaceId, messageId: null, recipient: normalized, data: { stream, reason: "ManualSuppression", origin: "Customer" } });
        }
        changes.push({ email, outcome: "suppressed", message: null });
      }
      await this.outbox().emit(trx, added);
      return changes;
    });
  }

  /**
   * The customer reactivates addresses. A spam complaint's suppression stays: the recipient said
   * they do not want the mail, and as at Postmark the customer cannot overrule that.
   */
  async reactivateByCustomer(workspaceId: string, stream: string, addresses: unknown): Promise<SuppressionChange[]> {
    const requested = checkRequest(addresses);
    await this.assertStream(workspaceId, stream);
    return this.store().write(async (trx) => {
      const changes: SuppressionChange[] = [];
      for (const email of requested) {
        if (email === null || !isValidEmail(normalizeEmail(email))) {
          changes.push({ email: email ?? "", outcome: "failed", message: "Invalid email address." });
          continue;
        }
        const existing = await this.repo.find(trx, workspaceId, stream, addressKey(email));
        if (existing?.reason === "SpamComplaint") {
          changes.push({ email, outcome: "failed", message: "A spam complaint's suppression cannot be removed: the recipient asked not to get this mail." });
          continue;
        }
        await this.reactivate(trx, { workspaceId, stream, email, origin: "Customer" });
        changes.push({ email, outcome: "deleted", message: null });
      }
      return changes;
    });
  }

  /**
   * Removes an address's suppression on a stream in the caller's transaction and announces it
   * (suppression.removed, with the reason it had). Returns that reason, or null when the address
   * was not suppressed.
   */
  async reactivate(trx: Db, input: { workspaceId: string; stream: string; email: string; origin: SuppressionOrigin }): Promise<SuppressionReason | null> {
    const key = addressKey(input.email);
    const existing = await this.repo.find(trx, input.workspaceId, input.stream, key);
    if (!existing || !(await this.repo.delete(trx, input.workspaceId, input.stream, key))) return null;
    await this.outbox().emit(trx, [
      { type: "suppression.removed", workspaceId: input.workspaceId, messageId: null, recipient: existing.email, data: { stream: input.stream, reason: existing.reason, origin: input.origin } },
    ]);
    return existing.reason;
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

  private async assertStream(workspaceId: string, stream: string): Promise<void> {
    if (this.deps.assertStream) await this.deps.assertStream(workspaceId, stream);
  }

  private store(): Store {
    if (!this.deps.store) throw new Error("suppressions: no store given for customer changes");
    return this.deps.store;
  }

  private outbox(): EventEmitter {
    if (!this.deps.outbox) throw new Error("suppressions: no outbox given for customer changes");
    return this.deps.outbox;
  }
}

/** The addresses of a create or delete request (as the client sent them), null for an entry that is not text. */
function checkRequest(addresses: unknown): Array<string | null> {
  if (!Array.isArray(addresses) || addresses.length === 0) throw SuppressionsRequestInvalid("The request must list at least one address to change.");
  if (addresses.length > MAX_CHANGES_PER_REQUEST) throw SuppressionsRequestInvalid(`At most ${MAX_CHANGES_PER_REQUEST} addresses may be suppressed or reactivated per request; got ${addresses.length}.`);
  return addresses.map((email: unknown) => (typeof email === "string" && email.trim() !== "" && email.length <= ADDRESS_MAX ? email.trim() : null));
}

/** The suppression reason a deactivating bounce type gives, or null when the type does not deactivate. */
function reasonFor(type: keyof typeof BOUNCE_TYPES): SuppressionReason | null {
  if (!BOUNCE_TYPES[type].deactivates) return null;
  return type === "SpamComplaint" ? "SpamComplaint" : type === "HardBounce" ? "HardBounce" : "ManualSuppression";
}
