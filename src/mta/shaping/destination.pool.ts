// The ready queue of one destination (an MX host set, or the relay): the jobs waiting to be sent
// there, in order, and the open SMTP sessions that carry them. Reusing a connection for many
// messages is where outbound throughput comes from: a new session costs a TCP handshake, a
// greeting, EHLO and often a TLS handshake, while a reused one sends the next message at once
// (Postfix's connection cache, ZoneMTA's connectionCache, KumoMTA's max_deliveries_per_connection;
// Haraka v3 opens one per message and shows the cost).
//
// Rules:
//  - at most maxConnections() sessions open or opening; the cap is read at every decision, so the
//    adaptive throttle can lower it, and sessions above it retire as they come back;
//  - a session is opened only under a connection slot (claimSlot), which is what holds the cap
//    across processes; the slot goes back once the session has quit;
//  - while nothing is open only one connection is attempted (slow start): if the destination is
//    down, the jobs behind it are failed together by that one attempt (RFC 5321 §4.5.4.1: do not
//    retry a dead host for every message), and if it is up the rest follow at once;
//  - an idle session goes to the next job it can serve (most recently used first, so surplus
//    sessions age out); jobs wait in FIFO order, each for at most its own maxWaitMs;
//  - a session retires after maxMessagesPerConnection() messages or any connection error; idle
//    ones quit after idleTimeoutMs.

export interface PoolableSession {
  readonly open: boolean;
  readonly messagesSent: number;
  quit(): Promise<void>;
  onClose(listener: () => void): void;
}

/** A connection slot held for one session. */
export interface SlotPermit {
  /** Set when the slot's lease was lost (another process took it): the session retires. */
  readonly lost: boolean;
  release(): void;
}

export interface DestinationPoolOptions<S extends PoolableSession, N = undefined> {
  /** Opens one session able to carry jobs needing `need`, trying the hosts in order; rejects when none answers. */
  connect: (need: N) => Promise<S>;
  /** Whether an open session may carry a job needing `need` (e.g. one that needs verified TLS). */
  serves?: (session: S, need: N) => boolean;
  maxConnections: () => number;
  maxMessagesPerConnection: () => number;
  idleTimeoutMs: number;
  /** Takes a connection slot before connecting; null when every slot is held. */
  claimSlot?: () => Promise<SlotPermit | null>;
  /** How soon to try for a slot again after none was free. Default 250 ms. */
  slotRetryMs?: number;
  /** After a connect failed while other sessions are open, how long before the next one. Default 1 s. */
  connectRetryMs?: number;
  /** Called whenever the pool holds nothing (no session, connect, waiter or QUIT in flight). */
  onEmpty?: () => void;
}

export interface Lease<S> {
  session: S;
  /** The session carried a message before: the server may have closed it meanwhile. */
  reused: boolean;
}

/** A job waited its maxWaitMs without getting a session. */
export class QueueWaitExpired extends Error {
  constructor(readonly waitedMs: number) {
    super(`no connection became free within ${waitedMs} ms`);
    this.name = "QueueWaitExpired";
  }
}

interface Waiter<S, N> {
  need: N;
  resolve(lease: Lease<S>): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout | null;
}

export class DestinationPool<S extends PoolableSession, N = undefined> {
  private readonly sessions = new Set<S>();
  private readonly permits = new Map<S, SlotPermit>();
  private readonly idle: S[] = [];
  private readonly idleTimers = new Map<S, NodeJS.Timeout>();
  private readonly waiters: Array<Waiter<S, N>> = [];
  private readonly quitting = new Set<Promise<void>>();
  private connecting = 0;
  /** While set, no connection is started: waiting for a slot, or backing off after a failed connect. */
  private holdTimer: NodeJS.Timeout | null = null;
  private waitingForSlot = false;
  private closed = false;

  constructor(private readonly options: DestinationPoolOptions<S, N>) {}

  get openSessions(): number {
    return this.sessions.size;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  get isEmpty(): boolean {
    return this.sessions.size === 0 && this.connecting === 0 && this.waiters.length === 0 && this.quitting.size === 0;
  }

  /** Sessions open or opening: what counts against the cap. */
  get inUse(): number {
    return this.sessions.size + this.connecting;
  }

  acquire(need: N = undefined as N, maxWaitMs = Number.POSITIVE_INFINITY): Promise<Lease<S>> {
    if (this.closed) return Promise.reject(new Error("destination pool is closed"));
    const idle = this.takeIdle(need);
    if (idle) return Promise.resolve({ session: idle, reused: true });
    return new Promise((resolve, reject) => {
      const waiter: Waiter<S, N> = { need, resolve, reject, timer: null };
      if (Number.isFinite(maxWaitMs)) {
        waiter.timer = setTimeout(() => {
          this.removeWaiter(waiter);
          reject(new QueueWaitExpired(maxWaitMs));
          this.notifyIfEmpty();
        }, maxWaitMs);
      }
      this.waiters.push(waiter);
      this.pump();
    });
  }

  /** Gives a session back: reusable false after any connection error. */
  release(session: S, reusable: boolean): void {
    const spent = session.messagesSent >= this.options.maxMessagesPerConnection();
    const overCap = this.sessions.size > this.options.maxConnections();
    const slotLost = this.permits.get(session)?.lost === true;
    if (!reusable || !session.open || spent || overCap || slotLost || this.closed || !this.sessions.has(session)) {
      this.retire(session);
      this.pump();
      return;
    }
    this.hand(session, true);
  }

  /** Fails every waiting job with `err` (the destination was paused or found unreachable). */
  failWaiting(err: unknown): void {
    for (const waiter of this.waiters.splice(0)) {
      if (waiter.timer) clearTimeout(waiter.timer);
      waiter.reject(err);
    }
    this.notifyIfEmpty();
  }

  /** Quits idle sessions above the cap, after it was lowered; busy ones go when they come back. */
  trim(): void {
    while (this.sessions.size > this.options.maxConnections()) {
      const oldest = this.idle.shift();
      if (!oldest) break;
      this.removeIdle(oldest);
      this.retire(oldest);
    }
  }

  /** A slot may have come free: a pool waiting for one looks again now rather than at its next try. */
  wake(): void {
    if (!this.holdTimer || !this.waitingForSlot) return;
    clearTimeout(this.holdTimer);
    this.holdTimer = null;
    this.pump();
  }

  /** Quits every session; call once the deliveries using the pool have finished. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.failWaiting(new Error("destination pool is closed"));
    for (const session of [...this.sessions]) {
      this.removeIdle(session);
      this.retire(session);
    }
    await Promise.all([...this.quitting]);
  }

  private serves(session: S, need: N): boolean {
    return this.options.serves ? this.options.serves(session, need) : true;
  }

  private takeIdle(need: N): S | undefined {
    for (let i = this.idle.length - 1; i >= 0; i -= 1) {
      const session = this.idle[i]!;
      if (!session.open) {
        this.removeIdle(session);
        this.sessions.delete(session);
        continue;
      }
      if (!this.serves(session, need)) continue;
      this.removeIdle(session);
      return session;
    }
    return undefined;
  }

  /** Gives the session to the first waiting job it can carry, or parks it idle. */
  private hand(session: S, reused: boolean): void {
    const index = this.waiters.findIndex((w) => this.serves(session, w.need));
    if (index >= 0) {
      const [waiter] = this.waiters.splice(index, 1);
      if (waiter!.timer) clearTimeout(waiter!.timer);
      waiter!.resolve({ session, reused });
      return;
    }
    this.idle.push(session);
    const timer = setTimeout(() => {
      this.removeIdle(session);
      this.retire(session);
    }, this.options.idleTimeoutMs);
    timer.unref();
    this.idleTimers.set(session, timer);
    this.pump();
  }

  /** Opens sessions for waiting jobs while there is room under the cap. */
  private pump(): void {
    while (!this.closed && this.waiters.length > this.connecting && !this.holdTimer) {
      if (this.inUse >= this.options.maxConnections()) {
        // At the cap with idle sessions none of the waiters can use (they need stronger TLS):
        // retire the oldest to make room for one that fits.
        const unfit = this.idle.shift();
        if (!unfit) break;
        this.removeIdle(unfit);
        this.retire(unfit);
        continue;
      }
      if (this.sessions.size === 0 && this.connecting > 0) break; // slow start: one probe first
      void this.openFor(this.waiters[this.connecting]!.need);
    }
    this.notifyIfEmpty();
  }

  private async openFor(need: N): Promise<void> {
    this.connecting += 1;
    let permit: SlotPermit | null = null;
    let session: S;
    try {
      if (this.options.claimSlot) {
        permit = await this.options.claimSlot();
        if (!permit) {
          this.connecting -= 1;
          this.holdConnects(this.options.slotRetryMs ?? 250, true);
          return;
        }
      }
      session = await this.options.connect(need);
    } catch (err) {
      permit?.release();
      this.connecting -= 1;
      this.failUnservable(err, need);
      // Sessions still open carry the jobs; a server refusing more (421 too many connections) is
      // not asked again at once by every job that arrives.
      if (this.sessions.size > 0) this.holdConnects(this.options.connectRetryMs ?? 1_000, false);
      this.notifyIfEmpty();
      return;
    }
    this.connecting -= 1;
    this.sessions.add(session);
    if (permit) this.permits.set(session, permit);
    session.onClose(() => this.forget(session));
    if (this.closed) {
      this.retire(session);
      return;
    }
    this.hand(session, false);
    // The destination answered: open the rest the waiting jobs need (the end of slow start).
    this.pump();
  }

  /**
   * A connect failed. Jobs that no open session can carry fail with its error now: with nothing
   * open they would only try the same dead hosts again, one after another. Jobs an open session
   * can carry keep waiting for it, and no new connect is started for them right away.
   */
  private failUnservable(err: unknown, need: N): void {
    const open = [...this.sessions];
    const stranded = this.waiters.filter((w) => !open.some((s) => this.serves(s, w.need)) && (this.connecting === 0 || w.need === need));
    for (const waiter of stranded) {
      this.removeWaiter(waiter);
      waiter.reject(err);
    }
  }

  private holdConnects(ms: number, forSlot: boolean): void {
    if (this.holdTimer || this.closed) return;
    this.waitingForSlot = forSlot;
    // Not unref'd: jobs are waiting on it.
    this.holdTimer = setTimeout(() => {
      this.holdTimer = null;
      this.pump();
    }, ms);
    this.notifyIfEmpty();
  }

  /** The connection ended on its own (server idle timeout, error): drop it, make room. */
  private forget(session: S): void {
    if (!this.sessions.has(session)) return;
    this.removeIdle(session);
    this.sessions.delete(session);
    this.permits.get(session)?.release();
    this.permits.delete(session);
    this.pump();
  }

  private retire(session: S): void {
    const wasOpen = this.sessions.delete(session);
    const permit = this.permits.get(session);
    this.permits.delete(session);
    if (!wasOpen && !session.open) {
      permit?.release();
      return;
    }
    // The slot goes back only once the connection is closed, so a new one cannot overlap it.
    const quit: Promise<void> = session.quit().finally(() => {
      permit?.release();
      this.quitting.delete(quit);
      this.notifyIfEmpty();
    });
    this.quitting.add(quit);
  }

  private removeWaiter(waiter: Waiter<S, N>): void {
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
    if (waiter.timer) clearTimeout(waiter.timer);
  }

  private removeIdle(session: S): void {
    const index = this.idle.indexOf(session);
    if (index >= 0) this.idle.splice(index, 1);
    clearTimeout(this.idleTimers.get(session));
    this.idleTimers.delete(session);
  }

  private notifyIfEmpty(): void {
    if (this.isEmpty && !this.holdTimer) this.options.onEmpty?.();
  }
}
