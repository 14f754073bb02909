// Data removal: a request to erase one address from everything the installation stores (Postmark's
// POST /data-removals, with an account token, which spans every workspace). A request is stored
// pending and answered at once; a worker (role worker, data-removals.worker.ts) does the erasure
// under a lease, step by idempotent step, and marks it done. What is erased and what is not is in
// README.md.
import { createHmac } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Store } from "../store/store.js";
import type { EventsRepository, Position } from "../events/events.repository.js";
import { INSTALLATION_WIDE } from "../events/event-map.js";
import type { EventEmitter } from "../events/outbox.js";
import type { Clock } from "../shared/clock.js";
import { isValidEmail } from "../messages/addresses.js";
import { DataRemovalInvalid, DataRemovalNotFound } from "./data-removals.errors.js";
import type { DataRemovalsRepository } from "./data-removals.repository.js";
import type { ErasureRepository, OutboundCandidate } from "./erasure.repository.js";
import type { DataRemovalState } from "./data-removals.schema.js";
import { ERASED_ADDRESS } from "./redaction.js";

export interface DataRemoval {
  id: number;
  state: DataRemovalState;
}

export interface DataRemovalsDeps {
  store: Store;
  clock: Clock;
  repository: DataRemovalsRepository;
  erasure: ErasureRepository;
  /** Keys the hash kept of an erased address (the installation's encryption key). */
  hashKey: Buffer;
  /** The event log: where it ends when an erasure starts, and which consumers are still before that. */
  events: Pick<EventsRepository, "head" | "runningBehind">;
  /** Records that the erasure began (data-removal.started), past where the log ended, and wakes this process's consumers. */
  outbox: EventEmitter;
  /** How long an erasure waits for the outbox consumers between its passes (CONSUMERS_WAIT_MS). */
  consumersWaitMs?: number;
  /** Sends Posthorn's own mail (the notice asked for by NotifyWhenCompleted); without it no notice is sent. */
  notify?: (mail: { to: { email: string; name: string }; subject: string; text: string; html: string; tag: string }) => Promise<void>;
}

/** How long a worker holds a request before another may take it over; renewed between steps. */
export const LEASE_MS = 5 * 60_000;
/** The longest an erasure waits for the outbox consumers between its two passes: a few of their leases. */
export const CONSUMERS_WAIT_MS = 2 * 60_000;
/** How often it looks at their cursors meanwhile (they save theirs about once a second). */
const CONSUMERS_LOOK_MS = 250;
/** An address is at most 254 characters (RFC 5321's path limit less its brackets). */
const MAX_ADDRESS_CHARS = 254;

export class DataRemovalsService {
  private readonly listeners: Array<() => void> = [];

  constructor(private readonly deps: DataRemovalsDeps) {}

  /** Called when a request is stored, so that a worker in this process starts at once. */
  onRequested(listener: () => void): void {
    this.listeners.push(listener);
  }

  async request(input: { requestedBy: unknown; requestedFor: unknown; notify: unknown }): Promise<DataRemoval> {
    const requestedBy = address(input.requestedBy, "RequestedBy");
    const requestedFor = address(input.requestedFor, "RequestedFor");
    if (input.notify !== undefined && input.notify !== null && typeof input.notify !== "boolean") throw DataRemovalInvalid("'NotifyWhenCompleted' must be true or false.");
    const id = await this.deps.store.write((trx) =>
      this.deps.repository.insert(trx, { requestedBy, requestedFor, subjectHash: this.hash(requestedFor), notify: input.notify === true, now: this.deps.clock.now() }),
    );
    for (const listener of this.listeners) listener();
    return { id, state: "pending" };
  }

  async status(id: number): Promise<DataRemoval> {
    const row = await this.deps.repository.find(this.deps.store.db, id);
    if (!row) throw DataRemovalNotFound(`No data removal request with ID ${id}.`);
    return { id: Number(row.id), state: row.state };
  }

  /**
   * Does the oldest due request, if any, as `owner`; false when there was none (or another
   * worker took it first). A crash part-way leaves it pending with a lease that runs out, and the
   * next run starts it again from the first step: every step can be repeated.
   */
  async runDue(owner: string): Promise<boolean> {
    const { store, repository, clock } = this.deps;
    const due = await repository.nextDue(store.db, clock.now());
    if (!due) return false;
    const id = Number(due.id);
    const hold = () => store.write((trx) => repository.lease(trx, id, owner, clock.now() + LEASE_MS, clock.now()));
    if (!(await hold()) || due.requested_for === null) return false;
    const subject = due.requested_for;

    // Work in flight when the erasure starts can write the address back after the pass has looked
    // at its table: an outbox consumer that read her events or messages before the pass, and
    // writes what it made of them (a search document, a webhook record) after it. So the pass runs
    // twice, the second once every running consumer has read past the log's end as it was at the
    // start: whatever they held in memory then is written by that time, and what they read since
    // comes from tables the first pass had already cleared.
    // The started event comes after `start` and is never erased, so the log's end stays past
    // `start` even when its newest events were hers and the first pass deletes them: without it a
    // consumer that had not read them yet could not read past the shortened end until some other
    // event came, and on a quiet installation the erasure waited its CONSUMERS_WAIT_MS for it.
    const start = await this.deps.events.head(store.db);
    await store.write((trx) => this.deps.outbox.emit(trx, [{ type: "data-removal.started", workspaceId: INSTALLATION_WIDE, messageId: null, recipient: null, data: { requestId: id } }]));
    if (!(await this.erasePass(subject, hold))) return false;
    if (!(await this.awaitConsumers(start, hold))) return false;
    if (!(await this.erasePass(subject, hold))) return false;

    // Before the request is marked done, so a crash between the two sends the notice again rather
    // than never. Never to the erased address itself: that mail would be a new record of it.
    if (due.notify === 1 && this.deps.notify && due.requested_by.toLowerCase() !== subject) await this.deps.notify(completionNotice(id, due.requested_by));
    return store.write((trx) => repository.finish(trx, id, owner, clock.now(), ERASED_ADDRESS));
  }

  /** One pass of the erasure's steps, each its own transaction; false when the lease was lost between them. */
  private async erasePass(subject: string, hold: () => Promise<boolean>): Promise<boolean> {
    const { store, erasure } = this.deps;
    const tables = await erasure.tables(store.db);
    // Records about the address: outbound messages from it or to it alone, inbound mail from or to it.
    await store.write(async (trx) => {
      const whole = (await erasure.outboundCandidates(trx, subject)).filter((m) => isAbout(m, subject)).map((m) => m.id);
      await erasure.deleteRecords(trx, tables, whole);
    });
    if (!(await hold())) return false;
    await store.write(async (trx) => erasure.deleteRecords(trx, tables, await erasure.inboundIds(trx, subject)));
    if (!(await hold())) return false;
    // Rows that are about the address alone: its deliveries, events, bounces, suppressions.
    await store.write((trx) => erasure.deleteRowsNaming(trx, tables, subject));
    if (!(await hold())) return false;
    // What is left mentions it beside others: rewritten without it.
    await store.write((trx) => erasure.redactEverywhere(trx, tables, subject));
    return hold();
  }

  /**
   * Waits until no running outbox consumer is still before `start`, at most CONSUMERS_WAIT_MS: a
   * consumer stuck longer than that (a failing batch it retries) has not applied what it holds
   * either, and the second pass goes on rather than wait for it. False when the lease was lost.
   */
  private async awaitConsumers(start: Position, hold: () => Promise<boolean>): Promise<boolean> {
    const { store, events, clock } = this.deps;
    const began = Date.now();
    let held = began;
    while (Date.now() - began < (this.deps.consumersWaitMs ?? CONSUMERS_WAIT_MS)) {
      if ((await events.runningBehind(store.db, start, clock.now())).length === 0) return true;
      await sleep(CONSUMERS_LOOK_MS);
      if (Date.now() - held > LEASE_MS / 4) {
        if (!(await hold())) return false;
        held = Date.now();
      }
    }
    return hold();
  }

  private hash(address: string): string {
    return createHmac("sha256", this.deps.hashKey).update(`data-removal\u0000${address}`).digest("hex");
  }
}

/** The notice says which request is done, never whose data it was. */
function completionNotice(id: number, requestedBy: string) {
  const text = `Data removal request ${id} is complete: the address it named has been erased from this Posthorn installation.\n`;
  return {
    to: { email: requestedBy, name: "" },
    subject: `Data removal request ${id} is complete`,
    text,
    html: `<p>Data removal request ${id} is complete: the address it named has been erased from this Posthorn installation.</p>`,
    tag: "data-removal",
  };
}

function address(value: unknown, field: string): string {
  if (typeof value !== "string" || value.trim() === "") throw DataRemovalInvalid(`'${field}' is required: an email address.`);
  const trimmed = value.trim().toLowerCase();
  if (trimmed.length > MAX_ADDRESS_CHARS || !isValidEmail(trimmed)) throw DataRemovalInvalid(`'${field}' must be an email address; got '${value.slice(0, 100)}'.`);
  return trimmed;
}

/** An outbound message is about the address when it is from it, or every recipient is it. */
function isAbout(message: OutboundCandidate, subject: string): boolean {
  const addressOf = (entry: unknown) => String((entry as { address?: unknown } | null)?.address ?? "").toLowerCase();
  const parse = (json: string): unknown[] => {
    try {
      const value = JSON.parse(json) as unknown;
      return Array.isArray(value) ? value : [];
    } catch {
      return [];
    }
  };
  if (message.envelopeFrom.toLowerCase() === subject) return true;
  try {
    if (addressOf(JSON.parse(message.fromJson)) === subject) return true;
  } catch {
    // An unreadable From is judged by its recipients alone.
  }
  const recipients = [...parse(message.toJson), ...parse(message.ccJson), ...parse(message.bccJson)].map(addressOf);
  return recipients.length > 0 && recipients.every((r) => r === subject);
}
