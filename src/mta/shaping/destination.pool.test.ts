// The pool's bookkeeping with in-memory sessions; the SMTP side of reuse is tested over real
// sockets in smtp.transport.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DestinationPool, QueueWaitExpired, type PoolableSession, type SlotPermit } from "./destination.pool.js";

class MemorySession implements PoolableSession {
  open = true;
  messagesSent = 0;
  quits = 0;
  private readonly listeners: Array<() => void> = [];
  constructor(
    readonly id: number,
    readonly secure = false,
  ) {}
  async quit(): Promise<void> {
    this.quits += 1;
    this.end();
  }
  onClose(listener: () => void): void {
    this.listeners.push(listener);
  }
  /** The server closing the connection. */
  end(): void {
    if (!this.open) return;
    this.open = false;
    for (const listener of this.listeners.splice(0)) listener();
  }
}

function poolOf(options: { max?: number; perConnection?: number; idleMs?: number; connect?: () => Promise<MemorySession> } = {}) {
  const created: MemorySession[] = [];
  let empty = 0;
  const pool = new DestinationPool<MemorySession>({
    connect:
      options.connect ??
      (async () => {
        const session = new MemorySession(created.length + 1);
        created.push(session);
        return session;
      }),
    maxConnections: () => options.max ?? 2,
    maxMessagesPerConnection: () => options.perConnection ?? 100,
    idleTimeoutMs: options.idleMs ?? 60_000,
    onEmpty: () => void (empty += 1),
  });
  return { pool, created, emptied: () => empty };
}

describe("destination pool", () => {
  it("reuses an idle session and marks the lease as reused", async () => {
    const { pool, created } = poolOf();
    const first = await pool.acquire();
    assert.equal(first.reused, false);
    first.session.messagesSent += 1;
    pool.release(first.session, true);
    const second = await pool.acquire();
    assert.equal(second.session, first.session);
    assert.equal(second.reused, true);
    assert.equal(created.length, 1);
    await pool.close();
  });

  it("makes jobs beyond the cap wait, and serves them first come first served", async () => {
    const { pool, created } = poolOf({ max: 2 });
    const a = await pool.acquire();
    const b = await pool.acquire();
    const order: string[] = [];
    const c = pool.acquire().then((lease) => (order.push("c"), lease));
    const d = pool.acquire().then((lease) => (order.push("d"), lease));
    assert.equal(pool.waiting, 2);
    pool.release(b.session, true);
    pool.release(a.session, true);
    const [leaseC, leaseD] = await Promise.all([c, d]);
    assert.deepEqual(order, ["c", "d"]);
    assert.equal(leaseC.session, b.session);
    assert.equal(leaseD.session, a.session);
    assert.equal(created.length, 2);
    pool.release(leaseC.session, true);
    pool.release(leaseD.session, true);
    await pool.close();
  });

  it("retires a session after maxMessagesPerConnection or an error, opening anew for a waiter", async () => {
    const { pool, created } = poolOf({ max: 1, perConnection: 2 });
    const lease = await pool.acquire();
    lease.session.messagesSent = 2;
    const waiting = pool.acquire();
    pool.release(lease.session, true);
    const next = await waiting;
    assert.notEqual(next.session, lease.session);
    assert.equal(lease.session.quits, 1);
    pool.release(next.session, false);
    assert.equal(next.session.open, false);
    assert.equal(created.length, 2);
    await pool.close();
  });

  it("fails the waiting jobs with the connect error when nothing else is open", async () => {
    let calls = 0;
    const { pool } = poolOf({
      max: 1,
      connect: async () => {
        calls += 1;
        throw new Error("all hosts failed");
      },
    });
    const results = await Promise.allSettled([pool.acquire(), pool.acquire(), pool.acquire()]);
    assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected", "rejected"]);
    assert.equal(calls, 1, "the waiters did not each try the dead destination again");
    assert.equal(pool.isEmpty, true);
  });

  it("forgets a session the server closed while idle, and quits idle ones after idleTimeoutMs", async () => {
    const { pool, emptied } = poolOf({ idleMs: 30 });
    const a = await pool.acquire();
    const b = await pool.acquire();
    pool.release(a.session, true);
    pool.release(b.session, true);
    b.session.end();
    assert.equal(pool.openSessions, 1);
    const again = await pool.acquire();
    assert.equal(again.session, a.session, "the closed one is not handed out");
    pool.release(again.session, true);
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(a.session.open, false);
    assert.equal(pool.isEmpty, true);
    assert.ok(emptied() >= 1, "reports that it is empty so the transport can drop it");
  });

  it("tries one connection while nothing is open, then opens the rest for the waiting jobs", async () => {
    let connects = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { pool, created } = poolOf({
      max: 4,
      connect: async () => {
        connects += 1;
        await gate;
        const session = new MemorySession(connects);
        created.push(session);
        return session;
      },
    });
    const leases = [pool.acquire(), pool.acquire(), pool.acquire(), pool.acquire()];
    await tick();
    assert.equal(connects, 1, "slow start: one probe");
    release();
    const got = await Promise.all(leases);
    assert.equal(connects, 4);
    assert.equal(new Set(got.map((l) => l.session)).size, 4);
    for (const lease of got) pool.release(lease.session, true);
    await pool.close();
  });

  it("gives a job only a session that serves its need, replacing an unfit idle one at the cap", async () => {
    const created: MemorySession[] = [];
    const pool = new DestinationPool<MemorySession, "any" | "secure">({
      connect: async (need) => {
        const session = new MemorySession(created.length + 1, need === "secure");
        created.push(session);
        return session;
      },
      serves: (session, need) => need === "any" || session.secure,
      maxConnections: () => 1,
      maxMessagesPerConnection: () => 100,
      idleTimeoutMs: 60_000,
    });
    const plain = await pool.acquire("any");
    pool.release(plain.session, true);
    const secure = await pool.acquire("secure");
    assert.equal(secure.session.secure, true);
    assert.equal(plain.session.quits, 1, "the plain one made room");
    pool.release(secure.session, true);
    const any = await pool.acquire("any");
    assert.equal(any.session, secure.session, "a secure session serves any job");
    pool.release(any.session, true);
    await pool.close();
  });

  it("fails a job that waited longer than its maxWaitMs, and every waiting job on failWaiting", async () => {
    const { pool } = poolOf({ max: 1 });
    const held = await pool.acquire();
    await assert.rejects(pool.acquire(undefined, 30), QueueWaitExpired);
    const waiting = [pool.acquire(), pool.acquire()];
    pool.failWaiting(new Error("paused"));
    const results = await Promise.allSettled(waiting);
    assert.deepEqual(results.map((r) => r.status === "rejected" && (r.reason as Error).message), ["paused", "paused"]);
    pool.release(held.session, true);
    await pool.close();
  });

  it("retires sessions above a lowered cap as they come back", async () => {
    let cap = 3;
    const created: MemorySession[] = [];
    const pool = new DestinationPool<MemorySession>({
      connect: async () => {
        const session = new MemorySession(created.length + 1);
        created.push(session);
        return session;
      },
      maxConnections: () => cap,
      maxMessagesPerConnection: () => 100,
      idleTimeoutMs: 60_000,
    });
    const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    pool.release(leases[0]!.session, true);
    cap = 1;
    pool.trim();
    assert.equal(pool.openSessions, 2, "the idle one went at once");
    pool.release(leases[1]!.session, true);
    assert.equal(pool.openSessions, 1, "a busy one goes when it comes back");
    pool.release(leases[2]!.session, true);
    assert.equal(pool.openSessions, 1);
    await pool.close();
  });

  it("opens a session only under a slot, waits for one when all are held, and gives it back after QUIT", async () => {
    const free = new Set([0]);
    const events: string[] = [];
    const claimSlot = async (): Promise<SlotPermit | null> => {
      const slot = [...free][0];
      if (slot === undefined) return null;
      free.delete(slot);
      events.push(`claim ${slot}`);
      return { lost: false, release: () => void (events.push(`release ${slot}`), free.add(slot)) };
    };
    const created: MemorySession[] = [];
    const pool = new DestinationPool<MemorySession>({
      connect: async () => {
        const session = new MemorySession(created.length + 1);
        created.push(session);
        return session;
      },
      maxConnections: () => 5,
      maxMessagesPerConnection: () => 1,
      idleTimeoutMs: 60_000,
      claimSlot,
      slotRetryMs: 20,
    });
    const first = await pool.acquire();
    const second = pool.acquire();
    await tick();
    assert.equal(created.length, 1, "no slot, no second connection");
    first.session.messagesSent = 1;
    pool.release(first.session, true); // spent: quits, then its slot goes back
    const lease = await second;
    assert.equal(created.length, 2);
    assert.deepEqual(events, ["claim 0", "release 0", "claim 0"]);
    lease.session.messagesSent = 1;
    pool.release(lease.session, true);
    await pool.close();
  });

  it("after a failed connect with sessions open, keeps the jobs for them and waits before connecting again", async () => {
    let connects = 0;
    const pool = new DestinationPool<MemorySession>({
      connect: async () => {
        connects += 1;
        if (connects > 1) throw new Error("421 too many connections");
        return new MemorySession(connects);
      },
      maxConnections: () => 3,
      maxMessagesPerConnection: () => 100,
      idleTimeoutMs: 60_000,
      connectRetryMs: 60_000,
    });
    const first = await pool.acquire();
    const waiting = [pool.acquire(), pool.acquire()];
    await tick();
    const tried = connects;
    assert.ok(tried >= 2);
    const more = pool.acquire();
    await tick();
    assert.equal(connects, tried, "no new attempt for the new job");
    pool.release(first.session, true);
    const served = await waiting[0]!;
    assert.equal(served.session, first.session);
    pool.release(served.session, true);
    pool.release((await waiting[1]!).session, true);
    pool.release((await more).session, true);
    await pool.close();
  });
});

function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}
