// The loop of a worker that carries out long pieces of work one claim at a time (a broadcast, an
// API-triggered broadcast, a journey's entry backfill): a due row is claimed by moving its
// next_run_at to the claim's end (compare-and-set in the caller's repository), worked on in
// steps, and every step's progress is written only while that claim is still held — the write
// names the claim's end, and moves it on. A process that dies leaves its claim to run out, and
// the row comes due again for any process; a process whose claim was taken over (or cancelled)
// finds out at its next write, which then commits nothing (ClaimLost), and lets the row go.
//
// It lives in shared/ rather than in one domain because broadcasts and journeys both use it, and
// domains do not import each other's code; so it knows the store only as something that runs a
// write transaction (the Store satisfies Writer<Db>).
import type { Clock } from "./clock.js";
import type { Logger } from "./logger.js";
import { WorkLoop } from "./work-loop.js";

/** What the loop needs of the store: a write transaction. */
export interface Writer<Tx> {
  write<T>(fn: (trx: Tx) => Promise<T>): Promise<T>;
}

/** Thrown inside a transaction when the claim was lost: nothing of that transaction commits. */
export class ClaimLost extends Error {
  constructor() {
    super("the claim on this work was lost (taken over by another process, or cancelled)");
  }
}

/** The claim a worker holds: until when, as written in the row's next_run_at. */
export interface Claim {
  until: number;
}

export interface ClaimedWorkOptions<Tx> {
  store: Writer<Tx>;
  clock: Clock;
  logger: Logger;
  /** How long a claim is held; each progress write renews it. */
  leaseMs: number;
  pollMs: number;
  /** Names the work in log lines. */
  what: string;
}

/**
 * A worker of claimed work: subclasses say how a row is claimed and worked on; this class owns the
 * loop, the claim's first lease, stopping, and what a lost claim means. (A base class rather than
 * a loop object handed to each worker: the workers then carry no copies of start/wake/stop.)
 */
export abstract class ClaimedWorkLoop<Row, Tx> {
  private readonly loop: WorkLoop;
  /** Set by stop() only, so runOnce() also works without start() (tests drive it pass by pass). */
  private stopped = false;

  constructor(protected readonly base: ClaimedWorkOptions<Tx>) {
    this.loop = new WorkLoop({ runOnce: () => this.runOnce(), pollMs: base.pollMs, logger: base.logger, what: base.what });
  }

  /** Claims one due row until `until` (compare-and-set on its next_run_at), or null when none is due. */
  protected abstract claim(trx: Tx, now: number, until: number): Promise<Row | null>;
  /** Works on a claimed row; throws ClaimLost (from a claimed write) when the claim went. */
  protected abstract process(row: Row, claim: Claim): Promise<void>;
  /** Logs a lost claim (the row says which work it was). */
  protected abstract onClaimLost(row: Row): void;

  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  /** Whether stop() was called: work checks it between steps and gives the row back (next_run_at now). */
  get stopping(): boolean {
    return this.stopped;
  }

  /** Gives work in hand back at its next step and waits for the pass to end. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.loop.stop();
  }

  /** Claims one due row and works on it until it is done, waits, or is stopped. False when none was due. */
  async runOnce(): Promise<boolean> {
    const now = this.base.clock.now();
    const until = now + this.base.leaseMs;
    const row = await this.base.store.write((trx) => this.claim(trx, now, until));
    if (row === null) return false;
    try {
      await this.process(row, { until });
    } catch (err) {
      if (!(err instanceof ClaimLost)) throw err;
      this.onClaimLost(row);
    }
    return true;
  }
}

/**
 * Writes progress in its own transaction while the claim is held (`update` is the repository's
 * compare-and-set on next_run_at = claim.until); throws ClaimLost when it is not, and moves the
 * claim to the new next_run_at when the write sets one.
 */
export async function writeClaimed<Tx, Changes extends { next_run_at?: number | null }>(
  store: Writer<Tx>,
  claim: Claim,
  changes: Changes,
  update: (trx: Tx, claimedUntil: number, changes: Changes) => Promise<boolean>,
): Promise<void> {
  const held = await store.write((trx) => update(trx, claim.until, changes));
  if (!held) throw new ClaimLost();
  if (typeof changes.next_run_at === "number") claim.until = changes.next_run_at;
}
