// Open SMTP sessions to one destination (an MX host set or the relay), shared by the deliveries
// to it. Reusing a connection for many messages is where outbound throughput comes from: a new
// session costs a TCP handshake, a greeting, EHLO and often a TLS handshake, while a reused one
// sends the next message at once (Postfix's connection cache, ZoneMTA's connectionCache, KumoMTA's
// max_deliveries_per_connection; Haraka v3 opens one per message and shows the cost).
//
// Rules: at most maxConnections sessions open or opening; an idle session goes to the next job
// (the most recently used first, so surplus sessions age out); a session retires after
// maxMessagesPerConnection messages or any connection error; idle ones quit after idleTimeoutMs;
// jobs beyond the cap wait in FIFO order.

export interface PoolableSession {
  readonly open: boolean;
  readonly messagesSent: number;
  quit(): Promise<void>;
  onClose(listener: () => void): void;
}

export interface DestinationPoolOptions<S extends PoolableSession> {
  /** Opens one session to the destination, trying its hosts in order; rejects when none answers. */
  connect: () => Promise<S>;
  maxConnections: number;
  maxMessagesPerConnection: number;
  idleTimeoutMs: number;
  /** Called whenever the pool holds nothing (no session, connect, waiter or QUIT in flight). */
  onEmpty?: () => void;
}

export interface Lease<S> {
  session: S;
  /** The session carried a message before: the server may have closed it meanwhile. */
  reused: boolean;
}

interface Waiter<S> {
  resolve(lease: Lease<S>): void;
  reject(err: unknown): void;
}

export class DestinationPool<S extends PoolableSession> {
  private readonly sessions = new Set<S>();
  private readonly idle: S[] = [];
  private readonly idleTimers = new Map<S, NodeJS.Timeout>();
  private readonly waiters: Array<Waiter<S>> = [];
  private readonly quitting = new Set<Promise<void>>();
  private connecting = 0;
  private closed = false;

  constructor(private readonly options: DestinationPoolOptions<S>) {}

  get openSessions(): number {
    return this.sessions.size;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  get isEmpty(): boolean {
    return this.sessions.size === 0 && this.connecting === 0 && this.waiters.length === 0 && this.quitting.size === 0;
  }

  acquire(): Promise<Lease<S>> {
    if (this.closed) return Promise.reject(new Error("destination pool is closed"));
    const idle = this.takeIdle();
    if (idle) return Promise.resolve({ session: idle, reused: true });
    if (this.sessions.size + this.connecting < this.options.maxConnections) return this.openNew();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Gives a session back: reusable false after any connection error. */
  release(session: S, reusable: boolean): void {
    const spent = session.messagesSent >= this.options.maxMessagesPerConnection;
    if (!reusable || !session.open || spent || this.closed || !this.sessions.has(session)) {
      this.retire(session);
      this.pump();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve({ session, reused: true });
      return;
    }
    this.idle.push(session);
    const timer = setTimeout(() => {
      this.removeIdle(session);
      this.retire(session);
    }, this.options.idleTimeoutMs);
    timer.unref();
    this.idleTimers.set(session, timer);
  }

  /** Quits every session; call once the deliveries using the pool have finished. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error("destination pool is closed"));
    for (const session of [...this.sessions]) {
      this.removeIdle(session);
      this.retire(session);
    }
    await Promise.all([...this.quitting]);
  }

  private takeIdle(): S | undefined {
    for (let session = this.idle.pop(); session; session = this.idle.pop()) {
      clearTimeout(this.idleTimers.get(session));
      this.idleTimers.delete(session);
      if (session.open) return session;
      this.sessions.delete(session);
    }
    return undefined;
  }

  private async openNew(): Promise<Lease<S>> {
    this.connecting += 1;
    let session: S;
    try {
      session = await this.options.connect();
    } catch (err) {
      this.connecting -= 1;
      // Nothing open and nothing opening: the jobs waiting here would only try the same dead
      // hosts again, one after another. Fail them with this error now (RFC 5321 §4.5.4.1: keep
      // track of unreachable hosts rather than retrying per message).
      if (this.sessions.size === 0 && this.connecting === 0) {
        for (const waiter of this.waiters.splice(0)) waiter.reject(err);
      }
      this.notifyIfEmpty();
      throw err;
    }
    this.connecting -= 1;
    this.sessions.add(session);
    session.onClose(() => this.forget(session));
    if (this.closed) {
      this.retire(session);
      throw new Error("destination pool is closed");
    }
    return { session, reused: false };
  }

  /** Opens sessions for waiting jobs while there is room under the cap. */
  private pump(): void {
    while (!this.closed && this.waiters.length > 0 && this.sessions.size + this.connecting < this.options.maxConnections) {
      const waiter = this.waiters.shift();
      if (!waiter) break;
      this.openNew().then(waiter.resolve, waiter.reject);
    }
    this.notifyIfEmpty();
  }

  /** The connection ended on its own (server idle timeout, error): drop it, make room. */
  private forget(session: S): void {
    if (!this.sessions.has(session)) return;
    this.removeIdle(session);
    this.sessions.delete(session);
    this.pump();
  }

  private retire(session: S): void {
    const wasOpen = this.sessions.delete(session);
    if (!wasOpen && !session.open) return;
    const quit: Promise<void> = session.quit().finally(() => {
      this.quitting.delete(quit);
      this.notifyIfEmpty();
    });
    this.quitting.add(quit);
  }

  private removeIdle(session: S): void {
    const index = this.idle.indexOf(session);
    if (index >= 0) this.idle.splice(index, 1);
    clearTimeout(this.idleTimers.get(session));
    this.idleTimers.delete(session);
  }

  private notifyIfEmpty(): void {
    if (this.isEmpty) this.options.onEmpty?.();
  }
}
