import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createMxResolver } from "./mx.resolver.js";
import { startDnsTestServer, type DnsTestServer } from "../testing/dns-test-server.js";

describe("MX resolver", () => {
  let dns: DnsTestServer;

  before(async () => {
    dns = await startDnsTestServer({
      "sorted.test": {
        MX: [
          { priority: 20, exchange: "mx-b.sorted.test" },
          { priority: 10, exchange: "mx-a.sorted.test" },
          { priority: 30, exchange: "MX-C.Sorted.Test" },
        ],
      },
      "equal.test": {
        MX: [
          { priority: 10, exchange: "one.equal.test" },
          { priority: 10, exchange: "two.equal.test" },
          { priority: 5, exchange: "first.equal.test" },
        ],
      },
      "nullmx.test": { MX: [{ priority: 0, exchange: "." }] },
      "implicit.test": { A: ["192.0.2.7"] },
      "nomail.test": { TXT: ["v=spf1 -all"] },
      "servfail.test": { rcode: "SERVFAIL" },
      "slow.test": { drop: true },
      "dual.test": { AAAA: ["2001:db8::25"], A: ["192.0.2.25", "192.0.2.26"], ttlSeconds: 60 },
      "v6only.test": { AAAA: ["2001:db8::1:0:0:1"] },
      "cached.test": { MX: [{ priority: 10, exchange: "mx.cached.test" }] },
      "gone.test": { MX: [{ priority: 10, exchange: "mx.gone.test" }] },
    });
  });

  after(async () => {
    await dns.close();
  });

  const resolverFor = (extra: Parameters<typeof createMxResolver>[0] = {}) =>
    createMxResolver({ dnsServers: [dns.address], lookupTimeoutMs: 300, ...extra });

  it("orders MX hosts by preference and lower-cases their names", async () => {
    const route = await resolverFor().resolve("Sorted.Test.");
    assert.deepEqual(route, {
      kind: "hosts",
      hosts: [
        { host: "mx-a.sorted.test", priority: 10 },
        { host: "mx-b.sorted.test", priority: 20 },
        { host: "mx-c.sorted.test", priority: 30 },
      ],
    });
  });

  it("shuffles hosts of equal preference on each call, keeping lower preferences first", async () => {
    const resolver = resolverFor();
    const seen = new Set<string>();
    for (let i = 0; i < 40; i += 1) {
      const route = await resolver.resolve("equal.test");
      assert.equal(route.kind, "hosts");
      if (route.kind !== "hosts") return;
      assert.equal(route.hosts[0]?.host, "first.equal.test");
      seen.add(route.hosts.map((h) => h.host).join(","));
    }
    assert.deepEqual([...seen].sort(), [
      "first.equal.test,one.equal.test,two.equal.test",
      "first.equal.test,two.equal.test,one.equal.test",
    ]);
    // One MX query for all 40 calls: the shuffle happens on the cached records.
    assert.equal(dns.queries.filter((q) => q.name === "equal.test").length, 1);
  });

  it("recognises a null MX (RFC 7505)", async () => {
    assert.deepEqual(await resolverFor().resolve("nullmx.test"), { kind: "null-mx" });
  });

  it("uses the domain itself as implicit MX when it has no MX but an address (RFC 5321 §5.1)", async () => {
    assert.deepEqual(await resolverFor().resolve("implicit.test"), {
      kind: "hosts",
      hosts: [{ host: "implicit.test", priority: 0 }],
    });
  });

  it("reports nxdomain for a missing domain and for one with neither MX nor address", async () => {
    const resolver = resolverFor();
    assert.deepEqual(await resolver.resolve("missing.test"), { kind: "nxdomain" });
    assert.deepEqual(await resolver.resolve("nomail.test"), { kind: "nxdomain" });
  });

  it("reports SERVFAIL and timeouts as temporary failures", async () => {
    const resolver = resolverFor();
    const servfail = await resolver.resolve("servfail.test");
    assert.equal(servfail.kind, "temp-fail");
    const started = Date.now();
    const slow = await resolver.resolve("slow.test");
    assert.equal(slow.kind, "temp-fail");
    assert.ok(Date.now() - started < 2_000, "the lookup timeout bounds the wait");
  });

  it("resolves a host's addresses, IPv4 before IPv6", async () => {
    const resolver = resolverFor();
    assert.deepEqual(await resolver.resolveHostAddresses("dual.test"), {
      kind: "addresses",
      addresses: ["192.0.2.25", "192.0.2.26", "2001:db8::25"],
    });
    assert.deepEqual(await resolver.resolveHostAddresses("v6only.test"), {
      kind: "addresses",
      addresses: ["2001:db8::1:0:0:1"],
    });
    assert.deepEqual(await resolver.resolveHostAddresses("missing.test"), { kind: "none" });
    assert.deepEqual(await resolver.resolveHostAddresses("127.0.0.1"), { kind: "addresses", addresses: ["127.0.0.1"] });
    assert.equal((await resolver.resolveHostAddresses("servfail.test")).kind, "temp-fail");
  });

  it("routes an address-literal domain to the address without a lookup", async () => {
    assert.deepEqual(await resolverFor().resolve("[192.0.2.9]"), {
      kind: "hosts",
      hosts: [{ host: "192.0.2.9", priority: 0 }],
    });
  });

  it("caches answers for at most cacheTtlMs and shares concurrent lookups", async () => {
    let clock = 1_000_000;
    const resolver = resolverFor({ cacheTtlMs: 10_000, now: () => clock });
    const count = () => dns.queries.filter((q) => q.name === "cached.test").length;
    const before = count();
    await Promise.all(Array.from({ length: 20 }, () => resolver.resolve("cached.test")));
    assert.equal(count() - before, 1, "20 concurrent calls, one query");
    clock += 9_000;
    await resolver.resolve("cached.test");
    assert.equal(count() - before, 1, "still cached within the TTL");
    clock += 2_000;
    await resolver.resolve("cached.test");
    assert.equal(count() - before, 2, "looked up again once the TTL passed");
  });

  it("caches negative answers for negativeCacheTtlMs, then sees a domain that appeared", async () => {
    let clock = 1_000_000;
    const resolver = resolverFor({ negativeCacheTtlMs: 5_000, now: () => clock });
    const zone = dns.zone;
    const records = zone["gone.test"];
    delete zone["gone.test"];
    assert.deepEqual(await resolver.resolve("gone.test"), { kind: "nxdomain" });
    if (records) zone["gone.test"] = records;
    clock += 4_000;
    assert.deepEqual(await resolver.resolve("gone.test"), { kind: "nxdomain" }, "negative answer still cached");
    clock += 2_000;
    assert.equal((await resolver.resolve("gone.test")).kind, "hosts");
  });

  it("bounds the cache size, dropping the least recently used name", async () => {
    const resolver = resolverFor({ maxCacheEntries: 2 });
    const count = (name: string) => dns.queries.filter((q) => q.name === name && q.type === "MX").length;
    const before = count("sorted.test");
    await resolver.resolve("sorted.test");
    await resolver.resolve("nullmx.test");
    await resolver.resolve("cached.test"); // evicts sorted.test
    await resolver.resolve("sorted.test");
    assert.equal(count("sorted.test") - before, 2);
  });

  it("looks up TXT records through the same servers, for MTA-STS discovery", async () => {
    const resolver = resolverFor();
    assert.deepEqual(await resolver.resolveTxt("nomail.test"), { kind: "records", records: [["v=spf1 -all"]] });
    assert.deepEqual(await resolver.resolveTxt("_mta-sts.missing.test"), { kind: "none" });
    assert.deepEqual(await resolver.resolveTxt("sorted.test"), { kind: "none" }, "a name without TXT records");
    assert.equal((await resolver.resolveTxt("servfail.test")).kind, "temp-fail");
  });
});
