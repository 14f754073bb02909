// Connection slots against real databases (SQLite, and PostgreSQL when TEST_DATABASE_URL is set),
// including the race of several processes claiming at once, and two transports ("processes")
// sharing one store and one destination over real sockets.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTempDatabase, storeTargets, type StoreTarget } from "../../../test/support/stores.js";
import { openStore, type Store } from "../../store/store.js";
import { ConnectionSlotsRepository, MemorySlotStore, type ConnectionSlotStore } from "./connection-slots.repository.js";
import { staticDestinationLimits } from "./destination-limits.loader.js";
import type { DeliveryJob } from "../mta.types.js";
import { createMxResolver } from "../routing/mx.resolver.js";
import { createSmtpTransport } from "../smtp-client/smtp.transport.js";
import { startDnsTestServer, type DnsTestServer } from "../testing/dns-test-server.js";
import { startSmtpTestSink } from "../testing/smtp-test-sink.js";

const RAW = Buffer.from("From: s@sender.test\r\nTo: r@dest.test\r\nSubject: t\r\n\r\nbody\r\n");

/** The slot semantics every store must keep: the same checks for the repository and the memory one. */
function slotContract(name: string, open: () => Promise<{ slots: (clock: { now: number }) => ConnectionSlotStore; close(): Promise<void> }>) {
  describe(`connection slots (${name})`, () => {
    it("hands out at most `cap` slots, each to one owner, and a released one again", async () => {
      const target = await open();
      try {
        const clock = { now: 1_000 };
        const slots = target.slots(clock);
        const claimed = [await slots.claim("d", 3, "a", 60_000), await slots.claim("d", 3, "b", 60_000), await slots.claim("d", 3, "a", 60_000)];
        assert.deepEqual([...claimed].sort(), [0, 1, 2]);
        assert.equal(await slots.claim("d", 3, "b", 60_000), null);
        assert.notEqual(await slots.claim("other", 3, "b", 60_000), null, "caps are per destination");
        await slots.release("d", claimed[1]!, "b");
        assert.equal(await slots.claim("d", 3, "c", 60_000), claimed[1]);
        await slots.release("d", claimed[0]!, "not-the-owner");
        assert.equal(await slots.claim("d", 3, "c", 60_000), null, "only the owner releases");
      } finally {
        await target.close();
      }
    });

    it("frees the slots of an owner that stopped renewing once their leases end, and reports lost ones", async () => {
      const target = await open();
      try {
        const clock = { now: 1_000 };
        const slots = target.slots(clock);
        const dead = await slots.claim("d", 2, "dead", 10_000);
        const alive = await slots.claim("d", 2, "alive", 10_000);
        assert.equal(await slots.claim("d", 2, "new", 10_000), null);
        clock.now += 8_000;
        assert.deepEqual(await slots.renew("alive", 10_000), [{ destination: "d", slot: alive }]);
        clock.now += 5_000; // dead's lease ended at 11,000; alive's runs to 19,000
        assert.equal(await slots.claim("d", 2, "new", 10_000), dead);
        assert.equal(await slots.claim("d", 2, "new", 10_000), null);
        assert.deepEqual(await slots.renew("dead", 10_000), [], "the dead owner learns it lost its slot");
        await slots.releaseAll("new");
        assert.equal(await slots.claim("d", 2, "x", 10_000), dead);
      } finally {
        await target.close();
      }
    });

    it("counts only slots below a lowered cap", async () => {
      const target = await open();
      try {
        const slots = target.slots({ now: 1_000 });
        const held = await Promise.all([0, 1, 2, 3].map(() => slots.claim("d", 4, "a", 60_000)));
        assert.deepEqual([...held].sort(), [0, 1, 2, 3]);
        assert.equal(await slots.claim("d", 2, "b", 60_000), null);
      } finally {
        await target.close();
      }
    });
  });
}

slotContract("memory", async () => ({ slots: (clock) => new MemorySlotStore(() => clock.now), close: async () => undefined }));
for (const target of storeTargets()) {
  slotContract(target.name, async () => {
    const store = await target.open();
    return { slots: (clock) => new ConnectionSlotsRepository(store, () => clock.now), close: () => store.close() };
  });

  describe(`connection slots across processes (${target.name})`, () => {
    it("never grants more than the cap when several processes claim at once", async () => {
      const { stores, close } = await openShared(target, 3);
      try {
        const repositories = stores.map((s) => new ConnectionSlotsRepository(s));
        const claims = await Promise.all(Array.from({ length: 40 }, (_, i) => repositories[i % repositories.length]!.claim("busy", 5, `owner-${i}`, 60_000)));
        const granted = claims.filter((c) => c !== null);
        assert.equal(granted.length, 5);
        assert.equal(new Set(granted).size, 5);
      } finally {
        await close();
      }
    });

    describe("two transports sharing one store", () => {
      let dns: DnsTestServer;
      before(async () => {
        dns = await startDnsTestServer({ "dest.test": { MX: [{ priority: 10, exchange: "mx.dest.test" }] }, "mx.dest.test": { A: ["127.0.0.1"] } });
      });
      after(() => dns.close());

      it("never hold more connections to a destination together than its cap", async () => {
        const { stores, close } = await openShared(target, 2);
        const sink = await startSmtpTestSink({ dataDelayMs: 15 });
        const transports = stores.map((s, i) =>
          createSmtpTransport({
            hostname: `mta-${i}.test`,
            relay: null,
            port: sink.port,
            resolver: createMxResolver({ dnsServers: [dns.address], lookupTimeoutMs: 500 }),
            limits: staticDestinationLimits({ defaults: { maxConnections: 3, maxMessagesPerConnection: 4 } }),
            slots: new ConnectionSlotsRepository(s),
            slotRetryMs: 20,
            mtaSts: null,
          }),
        );
        try {
          const job = (i: number): DeliveryJob => ({ domain: "dest.test", envelopeFrom: "b@sender.test", recipients: [`r${i}@dest.test`], raw: RAW });
          const results = await Promise.all(Array.from({ length: 80 }, (_, i) => transports[i % 2]!.deliver(job(i))));
          const kinds = results.map((r) => r.outcomes[0]!.outcome.kind);
          assert.deepEqual(kinds.filter((k) => k !== "delivered"), []);
          assert.equal(sink.messages.length, 80);
          assert.ok(sink.stats.maxOpen <= 3, `${sink.stats.maxOpen} connections open at once`);
          assert.ok(sink.stats.connections >= 20, "connections were retired and replaced under the cap");
          await Promise.all(transports.map((t) => t.close()));
          assert.equal((await new ConnectionSlotsRepository(stores[0]!).heldCounts()).size, 0, "closing gave every slot back");
        } finally {
          await Promise.all(transports.map((t) => t.close()));
          await sink.close();
          await close();
        }
      });
    });
  });
}

/** Several stores on one database, each with its own connections, as separate processes have. */
async function openShared(target: StoreTarget, count: number): Promise<{ stores: Store[]; close(): Promise<void> }> {
  if (target.name === "sqlite") {
    // One handle shared by the "processes": SQLite runs synchronously on this thread, so a second
    // handle waiting for the write lock would block the very thread that holds it. Real
    // processes sharing one file are covered by the PostgreSQL run, where this matters.
    const dir = mkdtempSync(join(tmpdir(), "slots-"));
    const store = openStore({ dataDir: dir, databaseUrl: null });
    await store.migrate();
    return {
      stores: Array.from({ length: count }, () => store),
      close: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const database = await createTempDatabase(process.env.TEST_DATABASE_URL!);
  const stores = Array.from({ length: count }, () => openStore({ dataDir: "", databaseUrl: database.url }));
  await stores[0]!.migrate();
  return {
    stores,
    close: async () => {
      await Promise.all(stores.map((s) => s.close()));
      await database.drop();
    },
  };
}
