// The pool's bookkeeping with in-memory sessions; the SMTP side of reuse is tested over real
// sockets in smtp.transport.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DestinationPool, type PoolableSession } from "./destination.pool.js";

class MemorySession implements PoolableSession {
  open = true;
  messagesSent = 0;
  quits = 0;
  private readonly listeners: Array<() => void> = [];
  constructor(readonly id: number) {}
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
    maxConnections: options.max ?? 2,
    maxMessagesPerConnection: options.perConnection ?? 100,
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
});
