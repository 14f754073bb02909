import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { eventually } from "../../test/support/eventually.js";
import { openTempSqlite } from "../../test/support/stores.js";
import { silentLogger } from "../shared/logger.js";
import { createDomainDns } from "./domain-dns.js";
import { startDomainRecheck } from "./domain-recheck.js";
import { createSecretBox } from "./secret-box.js";
import { SendingDomainsService } from "./sending-domains.service.js";
import { startDnsZoneServer } from "./testing/dns-zone-server.js";

test("the recheck activates a key once its record appears, and stops when told", async () => {
  const dns = await startDnsZoneServer();
  const store = await openTempSqlite();
  try {
    const service = new SendingDomainsService({
      store,
      clock: { now: () => Date.now() },
      dns: createDomainDns({ dnsServers: [dns.address], timeoutMs: 500 }),
      secrets: createSecretBox(randomBytes(32)),
      logger: silentLogger(),
      settings: { hostname: "mta.posthorn.test", spfInclude: null, ed25519: false },
    });
    const domain = await service.create({ name: "recheck.test" });
    const recheck = startDomainRecheck({ service, intervalMs: 30, tickMs: 10, logger: silentLogger() });
    await eventually(async () => (await service.get(domain.id)).lastCheckedAt !== null);
    assert.equal((await service.get(domain.id)).dkimVerified, false);
    dns.zone[domain.pendingKey!.record.host] = { TXT: [domain.pendingKey!.record.value] };
    await eventually(async () => (await service.get(domain.id)).dkimVerified);
    await recheck.stop();
    const queries = dns.queries.length;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(dns.queries.length, queries, "no lookups after stop()");
  } finally {
    await store.close();
    await dns.close();
  }
});

test("a failing pass is logged and the next tick runs; a full backlog drains in bounded batches", async () => {
  const warnings: string[] = [];
  const logger = { ...silentLogger(), warn: (_obj: unknown, msg: string) => warnings.push(msg) } as unknown as ReturnType<typeof silentLogger>;
  const calls: number[] = [];
  const recheck = startDomainRecheck({
    service: {
      recheckDue: async ({ limit }) => {
        calls.push(Date.now());
        if (calls.length === 1) throw new Error("database is down");
        return limit ?? 100; // always a full batch, as if checks kept failing
      },
    },
    intervalMs: 60_000,
    tickMs: 150,
    logger,
  });
  await eventually(async () => calls.length >= 12);
  await recheck.stop();
  assert.deepEqual(warnings, ["sending domain recheck pass failed"]);
  // Tick 1 failed after one call; tick 2 stopped after 10 full batches instead of looping for
  // ever. Calls within a tick follow each other at once; ticks are 150 ms apart.
  const gap = calls.findIndex((at, i) => i > 1 && at - calls[i - 1]! >= 75);
  assert.equal(gap === -1 ? calls.length - 1 : gap - 1, 10);
});
