// Sends stored broadcasts (role worker). A due broadcast is claimed under a lease. Its audience is
// first copied, a page at a time in person-id order, into broadcast_recipients, each person with
// the time their message is due (the send time, or the broadcast's local time in their timezone);
// each page commits with the snapshot's cursor, so a crash neither loses nor doubles anyone. Then
// due recipients are taken in chunks: the chunk's messages, their recipients' outcomes and the
// broadcast's progress commit in one transaction (OutreachMailer.send's alsoWrite), written only
// while the claim is still held. So a crash, a lost claim or a cancel repeats no recipient and
// skips none: the next claimant starts after the last committed chunk, and the idempotency key
// per (broadcast, person) makes even a repeated acceptance answer the first message.
import type { Store } from "../store/store.js";
import type { Clock } from "../shared/clock.js";
import type { Logger } from "../shared/logger.js";
import { isPosthornError } from "../shared/errors.js";
import { ClaimedWorkLoop, ClaimLost, writeClaimed, type Claim } from "../shared/claimed-work.loop.js";
import type { Db } from "../store/store.js";
import type { OutreachMail, OutreachMailer, OutreachOutcome } from "../channels/email/outreach.port.js";
import type { Person } from "../people/people.port.js";
import type { BroadcastsRepository, RecipientOutcome } from "./broadcasts.repository.js";
import type { BroadcastRow } from "./broadcasts.schema.js";
import type { BroadcastDefinition } from "./broadcasts.types.js";
import type { AudienceReader } from "./audience.reader.js";
import { isTimeZone, localInstant } from "./local-time.js";

const POLL_MS = 1_000;
/** The least a held message waits before it is asked again. */
const HOLD_FLOOR_MS = 1_000;

export interface BroadcastProcessorOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  repository: BroadcastsRepository;
  mailer: OutreachMailer;
  audience: AudienceReader;
  /** Messages per transaction. */
  chunkSize?: number;
  /** People read per snapshot page. */
  snapshotPage?: number;
  /** How long a claim is held; renewed with every chunk. */
  leaseMs?: number;
  pollMs?: number;
}

interface Counters {
  handled: number;
  sent: number;
  skipped: number;
  failed: number;
  lastError: string | null;
}

export class BroadcastProcessor extends ClaimedWorkLoop<BroadcastRow, Db> {
  private readonly chunkSize: number;
  private readonly snapshotPage: number;
  private readonly leaseMs: number;

  constructor(private readonly options: BroadcastProcessorOptions) {
    super({ store: options.store, clock: options.clock, logger: options.logger, leaseMs: options.leaseMs ?? 60_000, pollMs: options.pollMs ?? POLL_MS, what: "a broadcast pass" });
    this.leaseMs = this.base.leaseMs;
    this.chunkSize = options.chunkSize ?? 100;
    this.snapshotPage = options.snapshotPage ?? 500;
  }

  protected claim(trx: Db, now: number, until: number): Promise<BroadcastRow | null> {
    return this.options.repository.claimDue(trx, now, until);
  }

  protected onClaimLost(row: BroadcastRow): void {
    this.options.logger.info({ event: "broadcast.claim.lost", broadcastId: row.id }, "broadcast claim lost (cancelled, or taken over by another process)");
  }

  protected async process(row: BroadcastRow, claim: Claim): Promise<void> {
    const definition = JSON.parse(row.definition_json) as BroadcastDefinition;
    if (row.phase === "snapshot" && !(await this.snapshot(row, definition, claim))) return;
    await this.send(row, definition, claim);
  }

  /** Copies the audience; true when it is complete (false: stopped half-way, or the broadcast failed). */
  private async snapshot(row: BroadcastRow, definition: BroadcastDefinition, claim: Claim): Promise<boolean> {
    const { store, clock, repository, audience } = this.options;
    let cursor = row.snapshot_cursor;
    let size = row.audience_size ?? 0;
    for (;;) {
      if (this.stopping) {
        await this.write(row.id, claim, { next_run_at: clock.now() });
        return false;
      }
      let page;
      try {
        page = await audience.page(row.workspace_id, definition.audience, cursor, this.snapshotPage);
      } catch (err) {
        // The audience cannot be read any more (its segment was deleted): the broadcast fails, saying why.
        if (!isPosthornError(err)) throw err;
        const now = clock.now();
        await this.write(row.id, claim, { state: "failed", last_error: err.message, next_run_at: null, updated_at: now, finished_at: now });
        return false;
      }
      const now = clock.now();
      const recipients = page.items.map((person) => ({ personId: person.personId, dueAt: dueFor(definition, person, now) }));
      const nextClaim = now + this.leaseMs;
      const complete = page.next === null;
      await store.write(async (trx) => {
        const added = await repository.addRecipients(trx, row.id, recipients);
        size += added;
        const changes = { snapshot_cursor: page.next, audience_size: size, phase: complete ? ("send" as const) : ("snapshot" as const), next_run_at: nextClaim, updated_at: now };
        if (!(await repository.update(trx, row.id, claim.until, changes))) throw new ClaimLost();
      });
      claim.until = nextClaim;
      cursor = page.next;
      if (complete) return true;
    }
  }

  private async send(row: BroadcastRow, definition: BroadcastDefinition, claim: Claim): Promise<void> {
    const { store, clock, repository, mailer } = this.options;
    const counters: Counters = { handled: row.handled, sent: row.sent, skipped: row.skipped, failed: row.failed, lastError: row.last_error };
    const throttle = definition.throttlePerMinute;
    const limit = throttle === null ? this.chunkSize : Math.max(1, Math.min(this.chunkSize, throttle));
    while (!this.stopping) {
      const started = clock.now();
      const due = await repository.dueRecipients(store.db, row.id, started, limit);
      if (due.length === 0) {
        const next = await repository.nextDue(store.db, row.id);
        if (next === null) await this.write(row.id, claim, { state: "done", next_run_at: null, updated_at: started, finished_at: started });
        else await this.write(row.id, claim, { next_run_at: next, updated_at: started });
        return;
      }
      // Throttled: the next chunk may start once this one's share of the minute has passed.
      const slot = throttle === null ? null : started + Math.ceil((due.length * 60_000) / throttle);
      const nextClaim = slot !== null && slot > started ? slot : started + this.leaseMs;
      await mailer.send(
        due.map((r) => this.mailFor(row, definition, r.personId)),
        async (trx, outcomes) => {
          // A hold ends in the future: a time already past (a clock step) would make this pass ask again at once, forever.
          const soonest = clock.now() + HOLD_FLOOR_MS;
          const recorded = outcomes.map((o, i) => recipientOutcome(due[i]!.personId, o)).map((r) => (r.dueAt !== null && r.dueAt < soonest ? { ...r, dueAt: soonest } : r));
          await repository.recordRecipients(trx, row.id, recorded);
          const after = tally(counters, recorded);
          const changes = { state: "sending" as const, handled: after.handled, sent: after.sent, skipped: after.skipped, failed: after.failed, last_error: after.lastError, next_run_at: nextClaim, updated_at: clock.now() };
          if (!(await repository.update(trx, row.id, claim.until, changes))) throw new ClaimLost();
          Object.assign(counters, after);
        },
      );
      claim.until = nextClaim;
      if (slot !== null && slot > clock.now()) return; // given back until its slot: next_run_at is the slot
    }
    await this.write(row.id, claim, { next_run_at: clock.now() });
  }

  private mailFor(row: BroadcastRow, definition: BroadcastDefinition, personId: string): OutreachMail {
    const id = String(row.id);
    return {
      workspaceId: row.workspace_id,
      personId,
      content: definition.content,
      scope: { broadcast: { id, name: definition.name }, campaign: { id, name: definition.name, type: "broadcast" } },
      tag: definition.tag,
      send: definition.send,
      idempotencyKey: `broadcast:${id}:${personId}`,
      origin: { kind: "broadcast", broadcastId: id },
      overLimit: definition.overLimit,
      quietHours: !definition.send.transactional,
      sendAt: null,
    };
  }

  private write(id: number, claim: Claim, changes: Parameters<BroadcastsRepository["update"]>[3]): Promise<void> {
    return writeClaimed(this.options.store, claim, changes, (trx, until, c) => this.options.repository.update(trx, id, until, c));
  }
}

/** When a person's message is due: now, or the broadcast's local time in their timezone (else the fallback's). */
export function dueFor(definition: BroadcastDefinition, person: Person, now: number): number {
  const s = definition.schedule;
  if (s.kind !== "local") return now;
  const zone = isTimeZone(person.attributes.timezone) ? person.attributes.timezone : s.fallback;
  return localInstant(s.date, s.time, zone);
}

function recipientOutcome(personId: string, outcome: OutreachOutcome): RecipientOutcome {
  switch (outcome.kind) {
    case "accepted":
      return { personId, state: "sent", detail: outcome.messageId, dueAt: null };
    case "held":
      return { personId, state: "pending", detail: `held: ${outcome.reason}`, dueAt: outcome.until };
    case "skipped":
      return { personId, state: "skipped", detail: outcome.reason, dueAt: null };
    case "failed":
      return { personId, state: "failed", detail: outcome.error.message, dueAt: null };
    default: {
      const never: never = outcome;
      throw new Error(`unknown outreach outcome ${JSON.stringify(never)}`);
    }
  }
}

function tally(before: Counters, outcomes: RecipientOutcome[]): Counters {
  const after = { ...before };
  for (const o of outcomes) {
    if (o.state === "pending") continue;
    after.handled++;
    after[o.state]++;
    if (o.state === "failed") after.lastError = o.detail;
  }
  return after;
}
