// Traffic shaping over real sockets on loopback: the adaptive throttle against servers that
// refuse too many connections or rate-limit us, unreachable destinations, the message-rate cap,
// fairness between destinations, and one cap shared by every domain of a provider.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import type { AttemptResult, DeliveryJob } from "../mta.types.js";
import { staticDestinationLimits } from "../shaping/destination-limits.loader.js";
import type { LimitsSpec } from "../shaping/destination-limits.js";
import { createMxResolver } from "../routing/mx.resolver.js";
import { createSmtpTransport, type SmtpTransport, type SmtpTransportOptions } from "./smtp.transport.js";
import { startDnsTestServer, type DnsTestServer } from "../testing/dns-test-server.js";
import { startSmtpTestSink, type SmtpTestSink } from "../testing/smtp-test-sink.js";
import { startTlsSmtpSink } from "../testing/tls-smtp-sink.js";

const RAW = Buffer.from("From: s@sender.test\r\nTo: r@dest.test\r\nSubject: t\r\n\r\nbody\r\n");

function job(domain: string, local: string): DeliveryJob {
  return { domain, envelopeFrom: "bounces@sender.test", recipients: [`${local}@${domain}`], raw: RAW };
}

const kindOf = (r: AttemptResult) => r.outcomes[0]!.outcome.kind;
const reasonOf = (r: AttemptResult) => {
  const o = r.outcomes[0]!.outcome;
  return o.kind === "delivered" ? "" : o.reason;
};
const count = (results: AttemptResult[], kind: string) => results.filter((r) => kindOf(r) === kind).length;

describe("SMTP transport: traffic shaping", () => {
  let dns: DnsTestServer;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    dns = await startDnsTestServer({
      "dest.test": { MX: [{ priority: 10, exchange: "mx.dest.test" }] },
      "mx.dest.test": { A: ["127.0.0.1"] },
      "down.test": { MX: [{ priority: 10, exchange: "mx.down.test" }] },
      "mx.down.test": { A: ["127.0.0.1"] },
      "slow.test": { MX: [{ priority: 10, exchange: "mx.slow.test" }] },
      "mx.slow.test": { A: ["127.0.0.1"] },
      "fast.test": { MX: [{ priority: 10, exchange: "mx.fast.test" }] },
      "mx.fast.test": { A: ["127.0.0.2"] },
      "one.test": { MX: [{ priority: 10, exchange: "mx1.hosting.test" }] },
      "two.test": { MX: [{ priority: 10, exchange: "mx2.hosting.test" }] },
      "mx1.hosting.test": { A: ["127.0.0.1"] },
      "mx2.hosting.test": { A: ["127.0.0.1"] },
    });
  });

  after(async () => {
    for (const run of cleanups.splice(0)) await run();
    await dns.close();
  });

  function transportTo(port: number, limits: LimitsSpec = {}, extra: Partial<SmtpTransportOptions> = {}): SmtpTransport {
    const transport = createSmtpTransport({
      hostname: "out.posthorn.test",
      relay: null,
      port,
      resolver: createMxResolver({ dnsServers: [dns.address], lookupTimeoutMs: 500 }),
      limits: staticDestinationLimits(limits),
      mtaSts: null,
      timeouts: { connectMs: 1_000, greetingMs: 1_000, mailMs: 2_000, rcptMs: 2_000, dataInitMs: 2_000, dataBlockMs: 2_000, dataEndMs: 2_000 },
      ...extra,
    });
    cleanups.push(() => transport.close());
    return transport;
  }

  async function sink(options: Parameters<typeof startSmtpTestSink>[0] = {}): Promise<SmtpTestSink> {
    const started = await startSmtpTestSink(options);
    cleanups.push(() => started.close());
    return started;
  }

  it("opens fewer connections to a server that refuses more than it allows, and delivers everything", async () => {
    const server = await startTlsSmtpSink({ starttls: false, maxClients: 3, dataDelayMs: 20 });
    cleanups.push(() => server.close());
    const transport = transportTo(server.port, { defaults: { maxConnections: 10 } }, { throttleCooldownMs: 200 });
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => transport.deliver(job("dest.test", `r${i}`))));
    assert.equal(count(results, "delivered"), 60);
    const refused = server.stats.accepted - server.stats.sessions;
    assert.ok(refused >= 1, "the server did refuse some");
    assert.ok(refused <= 12, `${refused} refused connections`);
    const cap = transport.status().caps.find((c) => c.key === "mx mx.dest.test:" + server.port);
    assert.ok(cap && cap.connectionLimit < 10, `connection limit ${cap?.connectionLimit}`);
    assert.equal(cap?.pausedUntil, null, "too many connections is not a reason to pause");
  });

  it("pauses a destination that rate-limits us, defers its waiting jobs at once, and resumes after the pause", async () => {
    let accepted = 0;
    let limiting = true;
    const rateLimited = "421 4.7.0 [TSS04] Messages from 127.0.0.1 temporarily deferred due to unexpected volume or user complaints";
    const server = await sink({ dataDelayMs: 10, rcptTo: () => (limiting && accepted >= 5 ? rateLimited : void (accepted += 1)) });
    const transport = transportTo(server.port, { defaults: { maxConnections: 2, throttle: { pause: "300ms", maxPause: "1s" } } });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => transport.deliver(job("dest.test", `r${i}`))));
    assert.equal(count(results, "delivered"), 5);
    assert.equal(count(results, "deferred"), 25);
    assert.ok(results.some((r) => reasonOf(r).includes("[TSS04]") && reasonOf(r).includes("421")), "those in flight get the server's reply");
    assert.ok(results.some((r) => /paused until .* asked us to slow down/.test(reasonOf(r))), "the queue behind them is deferred at once");
    const connections = server.stats.connections;
    const during = await transport.deliver(job("dest.test", "during"));
    assert.match(reasonOf(during), /is paused until/);
    assert.equal(server.stats.connections, connections, "nothing is tried during the pause");
    const cap = transport.status().caps[0]!;
    assert.equal(cap.connectionLimit, 1, "and it comes back with fewer connections");
    limiting = false;
    await new Promise((r) => setTimeout(r, 350));
    assert.equal(kindOf(await transport.deliver(job("dest.test", "after"))), "delivered");
  });

  it("marks a destination unreachable when its hosts all fail, defers its jobs without trying each, and probes again later", async () => {
    let connections = 0;
    const dead = net.createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => dead.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => dead.close(() => resolve())));
    const port = (dead.address() as net.AddressInfo).port;
    const transport = transportTo(port, {}, { unreachableRetryMs: 200, maxUnreachableRetryMs: 1_000 });
    const first = await Promise.all(Array.from({ length: 20 }, (_, i) => transport.deliver(job("down.test", `r${i}`))));
    assert.equal(count(first, "deferred"), 20);
    assert.equal(connections, 1, "one connection tried for the twenty jobs (RFC 5321 §4.5.4.1)");
    const later = await Promise.all(Array.from({ length: 5 }, (_, i) => transport.deliver(job("down.test", `l${i}`))));
    assert.ok(later.every((r) => /unreachable until .*RFC 5321 §4\.5\.4\.1.*last failure/.test(reasonOf(r))), reasonOf(later[0]!));
    assert.equal(connections, 1);
    const marked = transport.status().unreachable[0]!;
    assert.ok(marked.until - Date.now() <= 200);
    await new Promise((r) => setTimeout(r, 220));
    await transport.deliver(job("down.test", "probe"));
    assert.equal(connections, 2, "one probe when the window ends");
    const again = transport.status().unreachable[0]!;
    assert.ok(again.until - Date.now() > 250, "the next window is longer");
  });

  it("spaces messages by the destination's message-rate cap, and defers what would wait too long", async () => {
    const server = await sink();
    const transport = transportTo(server.port, { destinations: { "dest.test": { messageRate: "20/s", messageBurst: 1 } } });
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => transport.deliver(job("dest.test", `r${i}`))));
    assert.equal(count(results, "delivered"), 6);
    assert.ok(Date.now() - started >= 240, `${Date.now() - started} ms for 6 messages at 20/s`);

    const strict = transportTo(server.port, { destinations: { "dest.test": { messageRate: "1/s" } } }, { maxQueueWaitMs: 300 });
    const [now, tooLate] = await Promise.all([strict.deliver(job("dest.test", "a")), strict.deliver(job("dest.test", "b"))]);
    assert.equal(kindOf(now), "delivered");
    assert.match(reasonOf(tooLate), /message rate cap of dest\.test reached/);
  });

  it("does not let a slow destination hold the jobs of another", async () => {
    const slow = await sink({ dataDelayMs: 400 });
    const fast = await sink({ host: "127.0.0.2", port: slow.port });
    const transport = transportTo(slow.port, { defaults: { maxConnections: 2 } });
    const slowJobs = Array.from({ length: 10 }, (_, i) => transport.deliver(job("slow.test", `s${i}`)));
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    const fastResults = await Promise.all(Array.from({ length: 10 }, (_, i) => transport.deliver(job("fast.test", `f${i}`))));
    assert.equal(count(fastResults, "delivered"), 10);
    assert.ok(Date.now() - started < 350, `fast destination took ${Date.now() - started} ms`);
    assert.equal(fast.messages.length, 10);
    assert.ok(slow.messages.length < 10, "the slow one is still working");
    assert.equal(count(await Promise.all(slowJobs), "delivered"), 10);
  });

  it("holds one connection cap for every domain whose MX matches a shared entry", async () => {
    const server = await sink({ dataDelayMs: 20 });
    const transport = transportTo(server.port, { destinations: { hosting: { mx: ["*.hosting.test"], maxConnections: 2 } } });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => transport.deliver(job(i % 2 ? "one.test" : "two.test", `r${i}`))));
    assert.equal(count(results, "delivered"), 30);
    assert.ok(server.stats.maxOpen <= 2, `${server.stats.maxOpen} open at once`);
    const status = transport.status();
    assert.deepEqual(status.caps.map((c) => c.key), ["limits:hosting"]);
  });

  it("defers rather than send in cleartext to a destination that requires TLS", async () => {
    const server = await sink();
    const transport = transportTo(server.port, { destinations: { "dest.test": { requireTls: true } } });
    const result = await transport.deliver(job("dest.test", "secret"));
    assert.equal(kindOf(result), "deferred");
    assert.match(reasonOf(result), /TLS is required for this destination, not sent in cleartext/);
    assert.equal(server.messages.length, 0);
    assert.deepEqual(transport.status().unreachable, [], "a TLS policy failure is not an outage");
  });
});
