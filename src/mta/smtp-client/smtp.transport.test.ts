import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { AttemptResult, DeliveryJob, Transport } from "../mta.types.js";
import { createMxResolver } from "../routing/mx.resolver.js";
import { createSmtpTransport, type SmtpTransportOptions } from "./smtp.transport.js";
import { startDnsTestServer, type DnsTestServer } from "../testing/dns-test-server.js";
import { startSmtpTestSink, type SmtpTestSinkOptions } from "../testing/smtp-test-sink.js";

const RAW = Buffer.from("From: s@sender.test\r\nTo: r@dest.test\r\nSubject: t\r\n\r\nbody\r\n");

function job(domain: string, ...locals: string[]): DeliveryJob {
  return { domain, envelopeFrom: "bounces@sender.test", recipients: locals.map((l) => `${l}@${domain}`), raw: RAW };
}

function kinds(result: AttemptResult): string[] {
  return result.outcomes.map(({ outcome }) => (outcome.kind === "bounced" ? `bounced:${outcome.bounceType}` : outcome.kind));
}

describe("SMTP transport", () => {
  let dns: DnsTestServer;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    dns = await startDnsTestServer({
      "dest.test": { MX: [{ priority: 10, exchange: "mx.dest.test" }] },
      "mx.dest.test": { A: ["127.0.0.1"] },
      "fallback.test": { MX: [{ priority: 10, exchange: "dead.fallback.test" }, { priority: 20, exchange: "live.fallback.test" }] },
      "dead.fallback.test": { A: ["127.0.0.2"] },
      "live.fallback.test": { A: ["127.0.0.1"] },
      "busy.test": { MX: [{ priority: 10, exchange: "busy.busy.test" }, { priority: 20, exchange: "ok.busy.test" }] },
      "busy.busy.test": { A: ["127.0.0.1"] },
      "ok.busy.test": { A: ["127.0.0.2"] },
      "alldead.test": { MX: [{ priority: 10, exchange: "dead.fallback.test" }] },
      "nullmx.test": { MX: [{ priority: 0, exchange: "." }] },
      "servfail.test": { rcode: "SERVFAIL" },
    });
  });

  after(async () => {
    await dns.close();
  });

  /** A sink plus a transport delivering to it by MX; both closed after the test. */
  async function setup(sinkOptions: SmtpTestSinkOptions = {}, transportOptions: Partial<SmtpTransportOptions> = {}) {
    const sink = await startSmtpTestSink(sinkOptions);
    const transport = createSmtpTransport({
      hostname: "out.posthorn.test",
      relay: null,
      port: sink.port,
      resolver: createMxResolver({ dnsServers: [dns.address], lookupTimeoutMs: 500 }),
      timeouts: { connectMs: 1_000, greetingMs: 1_000, mailMs: 2_000, rcptMs: 2_000, dataInitMs: 2_000, dataBlockMs: 2_000, dataEndMs: 2_000 },
      ...transportOptions,
    });
    cleanups.push(async () => {
      await transport.close();
      await sink.close();
    });
    return { sink, transport };
  }

  async function cleanup(): Promise<void> {
    for (const run of cleanups.splice(0)) await run();
  }

  it("delivers one message to three recipients in one transaction", async (t) => {
    t.after(cleanup);
    const { sink, transport } = await setup();
    const result = await transport.deliver(job("dest.test", "a", "b", "c"));
    assert.deepEqual(kinds(result), ["delivered", "delivered", "delivered"]);
    assert.equal(sink.messages.length, 1, "one DATA");
    assert.deepEqual(sink.messages[0]?.to, ["a@dest.test", "b@dest.test", "c@dest.test"]);
    assert.equal(result.remoteHost, "mx.dest.test");
    assert.equal(result.remoteIp, "127.0.0.1");
    assert.equal(result.tls, false);
    const first = result.outcomes[0]?.outcome;
    assert.equal(first?.kind === "delivered" && first.reply.code, 250);
  });

  it("bounces the refused recipient and delivers the others of the same transaction", async (t) => {
    t.after(cleanup);
    const { transport } = await setup({ rcptTo: (a) => (a.startsWith("ghost") ? "550 5.1.1 <ghost@dest.test>: User unknown" : undefined) });
    const result = await transport.deliver(job("dest.test", "ok", "ghost"));
    assert.deepEqual(kinds(result), ["delivered", "bounced:HardBounce"]);
    const ghost = result.outcomes[1]?.outcome;
    assert.equal(ghost?.kind === "bounced" && ghost.reason, "550 5.1.1 <ghost@dest.test>: User unknown");
  });

  it("defers on 451", async (t) => {
    t.after(cleanup);
    const { transport } = await setup({ data: () => "451 4.7.1 Greylisted, please try again later" });
    const result = await transport.deliver(job("dest.test", "a", "b"));
    assert.deepEqual(kinds(result), ["deferred", "deferred"]);
    const outcome = result.outcomes[0]?.outcome;
    assert.equal(outcome?.kind === "deferred" && outcome.reply?.enhanced, "4.7.1");
  });

  it("uses the second MX when the first refuses connections", async (t) => {
    t.after(cleanup);
    // The sink listens on 127.0.0.1 only, so 127.0.0.2 (still loopback) refuses the same port.
    const { sink, transport } = await setup();
    const result = await transport.deliver(job("fallback.test", "a"));
    assert.deepEqual(kinds(result), ["delivered"]);
    assert.equal(result.remoteHost, "live.fallback.test");
    assert.equal(sink.messages.length, 1);
  });

  it("moves on to the next MX after a 421 greeting", async (t) => {
    t.after(cleanup);
    const { sink: busy, transport } = await setup({ greeting: "421 4.3.2 Too many connections" });
    const ok = await startSmtpTestSink({ host: "127.0.0.2", port: busy.port });
    cleanups.push(() => ok.close());
    const result = await transport.deliver(job("busy.test", "a"));
    assert.deepEqual(kinds(result), ["delivered"]);
    assert.equal(result.remoteHost, "ok.busy.test");
    assert.equal(result.remoteIp, "127.0.0.2");
    assert.equal(ok.messages.length, 1);
  });

  it("defers every recipient with the last error when no MX can be reached", async (t) => {
    t.after(cleanup);
    const { transport } = await setup();
    const result = await transport.deliver(job("alldead.test", "a", "b"));
    assert.deepEqual(kinds(result), ["deferred", "deferred"]);
    const outcome = result.outcomes[0]?.outcome;
    assert.match(outcome?.kind === "deferred" ? outcome.reason : "", /dead\.fallback\.test \[127\.0\.0\.2\].*ECONNREFUSED/);
    assert.equal(result.remoteHost, null);
  });

  it("bounces at once for a null MX or a missing domain, defers on a DNS failure", async (t) => {
    t.after(cleanup);
    const { sink, transport } = await setup();
    const nullMx = await transport.deliver(job("nullmx.test", "a", "b"));
    assert.deepEqual(kinds(nullMx), ["bounced:BadEmailAddress", "bounced:BadEmailAddress"]);
    const reason = nullMx.outcomes[0]?.outcome;
    assert.equal(reason?.kind === "bounced" && reason.reason, "domain does not accept mail (null MX, RFC 7505)");
    assert.deepEqual(kinds(await transport.deliver(job("nowhere.test", "a"))), ["bounced:DnsError"]);
    assert.deepEqual(kinds(await transport.deliver(job("servfail.test", "a"))), ["deferred"]);
    assert.equal(sink.stats.connections, 0);
  });

  it("carries 50 sequential messages over one connection", async (t) => {
    t.after(cleanup);
    const { sink, transport } = await setup();
    for (let i = 0; i < 50; i += 1) {
      assert.deepEqual(kinds(await transport.deliver(job("dest.test", `r${i}`))), ["delivered"]);
    }
    assert.equal(sink.messages.length, 50);
    assert.equal(sink.stats.connections, 1);
  });

  it("keeps 200 concurrent jobs within the connection cap", async (t) => {
    t.after(cleanup);
    // Enough messages per connection that none retires: this is about the cap, not reuse.
    const { sink, transport } = await setup({}, { maxConnectionsPerDestination: 4, maxMessagesPerConnection: 1_000 });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => transport.deliver(job("dest.test", `r${i}`))));
    assert.ok(results.every((r) => kinds(r)[0] === "delivered"));
    assert.equal(sink.messages.length, 200);
    assert.ok(sink.stats.connections <= 4, `${sink.stats.connections} connections`);
    assert.ok(sink.stats.maxOpen <= 4);
  });

  it("retires a connection after maxMessagesPerConnection and closes idle ones", async (t) => {
    t.after(cleanup);
    const { sink, transport } = await setup({}, { maxMessagesPerConnection: 2, idleTimeoutMs: 100 });
    for (let i = 0; i < 5; i += 1) await transport.deliver(job("dest.test", `r${i}`));
    assert.equal(sink.stats.connections, 3);
    await waitFor(() => sink.stats.open === 0, 2_000);
  });

  it("retries on a fresh connection when a reused one fails before the message was sent", async (t) => {
    t.after(cleanup);
    // The server ends the session at the second transaction, as one closing an idle client does.
    const { sink, transport } = await setup({ mailFrom: (_a, session) => (session.transaction > 1 ? "421 4.4.2 Idle timeout, closing" : undefined) });
    assert.deepEqual(kinds(await transport.deliver(job("dest.test", "a"))), ["delivered"]);
    assert.deepEqual(kinds(await transport.deliver(job("dest.test", "b"))), ["delivered"]);
    assert.equal(sink.stats.connections, 2);
    assert.equal(sink.messages.length, 2);
  });

  it("uses STARTTLS when the server offers it", async (t) => {
    t.after(cleanup);
    const { sink, transport } = await setup({ starttls: true });
    const result = await transport.deliver(job("dest.test", "a"));
    assert.deepEqual(kinds(result), ["delivered"]);
    assert.equal(result.tls, true);
    assert.equal(sink.messages[0]?.secure, true);
  });

  it("defers when the connection drops after DATA, though the server may have the message", async (t) => {
    t.after(cleanup);
    const { sink, transport } = await setup({ data: () => "drop" });
    const result = await transport.deliver(job("dest.test", "a", "b"));
    assert.deepEqual(kinds(result), ["deferred", "deferred"]);
    assert.equal(sink.messages.length, 1, "received once: a retry may duplicate it (at least once)");
    assert.equal(sink.stats.connections, 1, "not retried at once on another connection");
  });

  it("delivers through the relay without MX lookups", async (t) => {
    t.after(cleanup);
    const sink = await startSmtpTestSink();
    const transport: Transport = createSmtpTransport({
      hostname: "out.posthorn.test",
      relay: { host: "localhost", port: sink.port },
      port: 25,
      resolver: createMxResolver({ dnsServers: [dns.address] }),
    });
    cleanups.push(async () => {
      await transport.close();
      await sink.close();
    });
    const queries = dns.queries.length;
    const result = await transport.deliver(job("anywhere.example", "a"));
    assert.deepEqual(kinds(result), ["delivered"]);
    assert.equal(result.remoteHost, "localhost");
    assert.equal(dns.queries.length, queries);
  });

  it("lets in-flight deliveries finish on close, then closes every connection", async (t) => {
    t.after(cleanup);
    const { sink, transport } = await setup({ dataDelayMs: 50 });
    const pending = Array.from({ length: 20 }, (_, i) => transport.deliver(job("dest.test", `r${i}`)));
    await transport.close();
    const results = await Promise.all(pending);
    assert.ok(results.every((r) => kinds(r)[0] === "delivered"));
    await waitFor(() => sink.stats.open === 0, 2_000);
    assert.deepEqual(kinds(await transport.deliver(job("dest.test", "late"))), ["deferred"]);
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
