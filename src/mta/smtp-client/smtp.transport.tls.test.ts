// TLS policy end to end: MTA-STS (RFC 8461) discovered through the in-test DNS server, the policy
// served by a local HTTPS server, and delivery to an MX with STARTTLS under the test certificate.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { AttemptResult, DeliveryJob } from "../mta.types.js";
import { staticDestinationLimits } from "../shaping/destination-limits.loader.js";
import { createMtaStsResolver } from "../routing/mta-sts.js";
import { createMxResolver } from "../routing/mx.resolver.js";
import { createSmtpTransport, type SmtpTransport } from "./smtp.transport.js";
import { startDnsTestServer, type DnsTestServer } from "../testing/dns-test-server.js";
import { TEST_CA_PEM, TEST_SERVER_CERT_PEM, TEST_SERVER_KEY_PEM } from "../testing/test-certificates.js";
import { startTlsSmtpSink, type TlsSmtpSink } from "../testing/tls-smtp-sink.js";

const RAW = Buffer.from("From: s@sender.test\r\nTo: r@enforce.test\r\nSubject: t\r\n\r\nbody\r\n");

function job(domain: string, local = "a"): DeliveryJob {
  return { domain, envelopeFrom: "bounces@sender.test", recipients: [`${local}@${domain}`], raw: RAW };
}

const reasonOf = (r: AttemptResult) => {
  const o = r.outcomes[0]!.outcome;
  return o.kind === "delivered" ? "" : o.reason;
};

describe("SMTP transport: MTA-STS and TLS", () => {
  let dns: DnsTestServer;
  let policyServer: https.Server;
  let policyPort: number;
  const policies: Record<string, string> = {};
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    dns = await startDnsTestServer({
      // enforce.test: policy in enforce mode naming its MX; the MX presents a valid certificate.
      "enforce.test": { MX: [{ priority: 10, exchange: "mx.enforce.test" }] },
      "mx.enforce.test": { A: ["127.0.0.1"] },
      "_mta-sts.enforce.test": { TXT: ["v=STSv1; id=e1"] },
      "mta-sts.enforce.test": { A: ["127.0.0.1"] },
      // sts.test: an enforce policy whose mx patterns name none of the domain's MX hosts.
      "sts.test": { MX: [{ priority: 10, exchange: "mx.sts.test" }] },
      "mx.sts.test": { A: ["127.0.0.1"] },
      "_mta-sts.sts.test": { TXT: ["v=STSv1; id=s1"] },
      "mta-sts.sts.test": { A: ["127.0.0.1"] },
      // plain.test: no policy at all.
      "plain.test": { MX: [{ priority: 10, exchange: "mx.plain.test" }] },
      "mx.plain.test": { A: ["127.0.0.1"] },
    });
    policies["mta-sts.enforce.test"] = "version: STSv1\nmode: enforce\nmx: *.enforce.test\nmax_age: 86400\n";
    policies["mta-sts.sts.test"] = "version: STSv1\nmode: enforce\nmx: mx.elsewhere.test\nmax_age: 86400\n";
    policyServer = https.createServer({ key: TEST_SERVER_KEY_PEM, cert: TEST_SERVER_CERT_PEM }, (req, res) => {
      const body = policies[String(req.headers.host)];
      if (!body || req.url !== "/.well-known/mta-sts.txt") res.writeHead(404).end();
      else res.writeHead(200, { "content-type": "text/plain" }).end(body);
    });
    await new Promise<void>((resolve) => policyServer.listen(0, "127.0.0.1", resolve));
    policyPort = (policyServer.address() as AddressInfo).port;
  });

  after(async () => {
    for (const run of cleanups.splice(0)) await run();
    await new Promise<void>((resolve) => policyServer.close(() => resolve()));
    await dns.close();
  });

  async function setup(sinkOptions: Parameters<typeof startTlsSmtpSink>[0] = {}, trust = true): Promise<{ sink: TlsSmtpSink; transport: SmtpTransport }> {
    const sink = await startTlsSmtpSink(sinkOptions);
    const resolver = createMxResolver({ dnsServers: [dns.address], lookupTimeoutMs: 500 });
    const ca = trust ? TEST_CA_PEM : undefined;
    const transport = createSmtpTransport({
      hostname: "out.posthorn.test",
      relay: null,
      port: sink.port,
      resolver,
      limits: staticDestinationLimits(),
      mtaSts: createMtaStsResolver({ resolveTxt: resolver.resolveTxt, resolveHostAddresses: resolver.resolveHostAddresses, port: policyPort, ca }),
      tlsCa: ca,
    });
    cleanups.push(async () => {
      await transport.close();
      await sink.close();
    });
    return { sink, transport };
  }

  it("delivers under an enforce policy over TLS verified for the MX name, with SNI", async () => {
    const { sink, transport } = await setup();
    const result = await transport.deliver(job("enforce.test"));
    assert.equal(result.outcomes[0]!.outcome.kind, "delivered", reasonOf(result));
    assert.equal(result.tls, true);
    assert.deepEqual(sink.messages.map((m) => [m.secure, m.servername]), [[true, "mx.enforce.test"]]);
  });

  it("defers, never sending in cleartext, when an enforce destination offers no STARTTLS", async () => {
    const { sink, transport } = await setup({ starttls: false });
    const result = await transport.deliver(job("enforce.test"));
    assert.equal(result.outcomes[0]!.outcome.kind, "deferred");
    assert.match(reasonOf(result), /TLS with a certificate valid for mx\.enforce\.test is required/);
    assert.equal(sink.messages.length, 0);
    // The same MX still takes mail for domains without a policy, in cleartext.
    assert.equal((await transport.deliver(job("plain.test"))).outcomes[0]!.outcome.kind, "delivered");
  });

  it("defers when the certificate cannot be verified under an enforce policy", async () => {
    // The policy is fetched (its server is trusted by the resolver's own CA below) but the SMTP
    // side trusts nothing: the MX certificate does not verify.
    const sink = await startTlsSmtpSink();
    const resolver = createMxResolver({ dnsServers: [dns.address], lookupTimeoutMs: 500 });
    const transport = createSmtpTransport({
      hostname: "out.posthorn.test",
      relay: null,
      port: sink.port,
      resolver,
      limits: staticDestinationLimits(),
      mtaSts: createMtaStsResolver({ resolveTxt: resolver.resolveTxt, resolveHostAddresses: resolver.resolveHostAddresses, port: policyPort, ca: TEST_CA_PEM }),
    });
    cleanups.push(async () => {
      await transport.close();
      await sink.close();
    });
    const result = await transport.deliver(job("enforce.test"));
    assert.equal(result.outcomes[0]!.outcome.kind, "deferred");
    assert.match(reasonOf(result), /certificate valid for mx\.enforce\.test is required/);
    assert.equal(sink.messages.length, 0);
    // Opportunistic TLS to a domain without a policy accepts the same certificate.
    const plain = await transport.deliver(job("plain.test"));
    assert.equal(plain.outcomes[0]!.outcome.kind, "delivered");
    assert.equal(plain.tls, true);
  });

  it("defers when no MX host matches the policy's mx patterns (RFC 8461 §4.1)", async () => {
    const { sink, transport } = await setup();
    const result = await transport.deliver(job("sts.test"));
    assert.equal(result.outcomes[0]!.outcome.kind, "deferred");
    assert.match(reasonOf(result), /no MX host of sts\.test \(mx\.sts\.test\) matches its MTA-STS policy \(mx: mx\.elsewhere\.test\)/);
    assert.equal(sink.stats.accepted, 0);
  });

  it("serves verified and unverified deliveries to one MX from separate sessions only when needed", async () => {
    const { sink, transport } = await setup();
    const results = await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => transport.deliver(job("plain.test", `p${i}`))),
      ...Array.from({ length: 5 }, (_, i) => transport.deliver(job("enforce.test", `e${i}`))),
    ]);
    assert.ok(results.every((r) => r.outcomes[0]!.outcome.kind === "delivered"));
    assert.ok(sink.messages.every((m) => m.secure));
  });
});
