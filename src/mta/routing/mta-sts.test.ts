import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { createMtaStsResolver, mxMatchesPolicy, parseMtaStsPolicy, parseStsTxt, type MtaStsOptions } from "./mta-sts.js";
import { createMxResolver } from "./mx.resolver.js";
import { startDnsTestServer, type DnsTestServer } from "../testing/dns-test-server.js";
import { TEST_CA_PEM, TEST_SERVER_CERT_PEM, TEST_SERVER_KEY_PEM } from "../testing/test-certificates.js";

describe("MTA-STS parsing", () => {
  const txtCases: Array<[records: string[][], id: string | null]> = [
    [[["v=STSv1; id=20240101T000000;"]], "20240101T000000"],
    [[["v=STSv1;id=abc"]], "abc"],
    [[["v=STSv1; ", "id=split1"]], "split1"],
    [[["v=spf1 -all"], ["v=STSv1; id=x1"]], "x1"],
    [[["v=STSv1; id=a"], ["v=STSv1; id=b"]], null], // two records: none (RFC 8461 §3.1)
    [[["v=STSv1; id=not-alphanumeric"]], null],
    [[["v=STSv10; id=abc"]], null],
    [[], null],
  ];
  for (const [records, id] of txtCases) {
    it(`TXT ${JSON.stringify(records)} → ${id}`, () => assert.equal(parseStsTxt(records)?.id ?? null, id));
  }

  it("reads a policy, with CRLF or LF lines and several mx lines", () => {
    const policy = parseMtaStsPolicy("version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.mail.example.com\r\nmax_age: 604800\r\n", "id1");
    assert.deepEqual(policy, { id: "id1", mode: "enforce", mx: ["mx1.example.com", "*.mail.example.com"], maxAgeSeconds: 604800 });
    assert.deepEqual(parseMtaStsPolicy("version: STSv1\nmode: none\nmax_age: 9999999999\n", "id2"), { id: "id2", mode: "none", mx: [], maxAgeSeconds: 31_557_600 });
  });

  const badPolicies: Array<[text: string, error: RegExp]> = [
    ["version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1", /version/],
    ["version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1", /unknown mode/],
    ["version: STSv1\nmode: enforce\nmx: a.example", /max_age/],
    ["version: STSv1\nmode: testing\nmax_age: 86400", /no mx/],
    ["<html>not a policy</html>", /key: value/],
  ];
  for (const [text, error] of badPolicies) {
    it(`refuses ${JSON.stringify(text.slice(0, 40))}`, () => {
      const parsed = parseMtaStsPolicy(text, "x");
      assert.ok("error" in parsed && error.test(parsed.error), JSON.stringify(parsed));
    });
  }

  const mxCases: Array<[host: string, patterns: string[], matches: boolean]> = [
    ["mx1.example.com", ["mx1.example.com"], true],
    ["MX1.Example.COM.", ["mx1.example.com"], true],
    ["a.mail.example.com", ["*.mail.example.com"], true],
    ["a.b.mail.example.com", ["*.mail.example.com"], false], // one label only (RFC 8461 §4.1)
    ["mail.example.com", ["*.mail.example.com"], false],
    ["evil-mail.example.com", ["*.mail.example.com"], false],
    ["mx2.example.com", ["mx1.example.com", "*.example.com"], true],
  ];
  for (const [host, patterns, matches] of mxCases) {
    it(`${host} ${matches ? "matches" : "does not match"} ${patterns.join(", ")}`, () => assert.equal(mxMatchesPolicy(host, patterns), matches));
  }
});

describe("MTA-STS policy fetch", () => {
  let dns: DnsTestServer;
  let server: https.Server;
  let port: number;
  const served = { status: 200, body: "version: STSv1\nmode: enforce\nmx: mx.sts.test\nmx: *.sts.test\nmax_age: 3600\n", requests: 0, host: "" };

  before(async () => {
    dns = await startDnsTestServer({
      "_mta-sts.sts.test": { TXT: ["v=STSv1; id=one"] },
      "mta-sts.sts.test": { A: ["127.0.0.1"] },
      "_mta-sts.nosts.test": { rcode: "NXDOMAIN" },
      "_mta-sts.gone.test": { TXT: ["v=STSv1; id=g1"] },
      "mta-sts.gone.test": { A: ["127.0.0.1"] },
    });
    server = https.createServer({ key: TEST_SERVER_KEY_PEM, cert: TEST_SERVER_CERT_PEM }, (req, res) => {
      served.requests += 1;
      served.host = req.headers.host ?? "";
      if (req.url !== "/.well-known/mta-sts.txt") res.writeHead(404).end();
      else if (served.status === 301) res.writeHead(301, { location: "https://elsewhere.test/" }).end();
      else res.writeHead(served.status, { "content-type": "text/plain" }).end(served.body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await dns.close();
  });

  function resolverAt(clock: { now: number }, extra: Partial<MtaStsOptions> = {}) {
    const mx = createMxResolver({ dnsServers: [dns.address], lookupTimeoutMs: 500 });
    return createMtaStsResolver({
      resolveTxt: mx.resolveTxt,
      resolveHostAddresses: mx.resolveHostAddresses,
      port,
      ca: TEST_CA_PEM,
      now: () => clock.now,
      recheckMs: 60_000,
      negativeCacheMs: 60_000,
      ...extra,
    });
  }

  it("discovers the policy by TXT, fetches it over HTTPS from mta-sts.<domain>, and caches it", async () => {
    served.requests = 0;
    const clock = { now: 1_000_000 };
    const sts = resolverAt(clock);
    const [policy, again] = await Promise.all([sts.policyFor("STS.test"), sts.policyFor("sts.test")]);
    assert.deepEqual(policy, { id: "one", mode: "enforce", mx: ["mx.sts.test", "*.sts.test"], maxAgeSeconds: 3600 });
    assert.deepEqual(again, policy);
    assert.equal(served.requests, 1, "concurrent lookups share one fetch");
    assert.equal(served.host, "mta-sts.sts.test");
    clock.now += 59_000;
    await sts.policyFor("sts.test");
    assert.equal(served.requests, 1, "cached");
    // After the recheck interval the TXT id is looked at; unchanged, nothing is fetched.
    clock.now += 2_000;
    await sts.policyFor("sts.test");
    assert.equal(served.requests, 1);
    // A new id means a new policy.
    dns.zone["_mta-sts.sts.test"] = { TXT: ["v=STSv1; id=two"] };
    served.body = "version: STSv1\nmode: testing\nmx: mx.sts.test\nmax_age: 600\n";
    clock.now += 61_000;
    const changed = await sts.policyFor("sts.test");
    assert.equal(changed?.id, "two");
    assert.equal(changed?.mode, "testing");
    assert.equal(served.requests, 2);
  });

  it("has no policy without a TXT record, and keeps a cached one until max_age when the record or server goes away", async () => {
    const clock = { now: 5_000_000 };
    const sts = resolverAt(clock);
    assert.equal(await sts.policyFor("nosts.test"), null);
    assert.equal(await sts.policyFor("unknown-domain.test"), null);
    served.status = 200;
    served.body = "version: STSv1\nmode: enforce\nmx: mx.gone.test\nmax_age: 300\n";
    assert.equal((await sts.policyFor("gone.test"))?.mode, "enforce");
    dns.zone["_mta-sts.gone.test"] = { rcode: "NXDOMAIN" };
    clock.now += 120_000;
    assert.equal((await sts.policyFor("gone.test"))?.mode, "enforce", "RFC 8461 §5.1: still cached");
    clock.now += 200_000;
    assert.equal(await sts.policyFor("gone.test"), null, "max_age over");
  });

  it("treats a failed fetch as no policy: HTTP error, redirect, untrusted certificate", async () => {
    const clock = { now: 9_000_000 };
    dns.zone["_mta-sts.gone.test"] = { TXT: ["v=STSv1; id=g2"] };
    for (const status of [404, 301]) {
      served.status = status;
      assert.equal(await resolverAt(clock).policyFor("gone.test"), null, `HTTP ${status}`);
    }
    served.status = 200;
    assert.equal(await resolverAt(clock, { ca: undefined }).policyFor("gone.test"), null, "the test CA is not trusted by default");
    assert.equal((await resolverAt(clock).policyFor("gone.test"))?.id, "g2");
  });
});
