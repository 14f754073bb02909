// Delivery by MX lookup (no relay), with a DNS server and SMTP servers of the test's own on
// loopback: preference order, null MX, and giving up after the maximum queue age.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { ServerClient } from "postmark";
import { startDnsTestServer, type DnsTestServer } from "../src/mta/testing/dns-test-server.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { eventually } from "./support/eventually.js";
import { parseVerp, verpSecret } from "../src/bounces/verp.js";
import { loadEncryptionKey } from "../src/app/encryption-key.js";

describe("delivery through MX records", () => {
  let dns: DnsTestServer;
  let sink: SmtpSink;
  let server: TestServer;
  let pm: ServerClient;

  before(async () => {
    sink = await startSmtpSink({
      rcptReply: (rcpt) => (rcpt.startsWith("later") ? { code: 451, message: "4.3.0 Temporary failure, try again" } : null),
    });
    dns = await startDnsTestServer({
      // The preferred MX resolves to an address where nothing listens; the second one is the sink.
      "mx.test": { MX: [{ priority: 10, exchange: "dead.mx.test" }, { priority: 20, exchange: "live.mx.test" }] },
      "dead.mx.test": { A: ["127.0.0.2"] },
      "live.mx.test": { A: ["127.0.0.1"] },
      "nullmx.test": { MX: [{ priority: 0, exchange: "" }] },
    });
    server = await startTestServer({
      POSTHORN_DNS_SERVERS: dns.address,
      POSTHORN_DELIVERY_PORT: String(sink.port),
      POSTHORN_RETRY_SCHEDULE: "200ms",
      POSTHORN_MAX_QUEUE_AGE: "1s",
      POSTHORN_RETURN_PATH_DOMAIN: "rp.posthorn.test",
    });
    const token = await server.createWorkspace("mx");
    pm = new ServerClient(token, { useHttps: false, requestHost: server.url.replace(/^http:\/\//, "") });
  });

  after(async () => {
    await server.close();
    await sink.close();
    await dns.close();
  });

  test("falls back to the next MX by preference when the first does not answer", async () => {
    const sent = await pm.sendEmail({ From: "a@sender.test", To: "someone@mx.test", Subject: "mx", TextBody: "via MX" });
    const details = await eventually(async () => {
      const d = await pm.getOutboundMessageDetails(sent.MessageID);
      return d.MessageEvents.some((e) => e.Type === "Delivered") ? d : null;
    });
    const delivered = details.MessageEvents.find((e) => e.Type === "Delivered")!.Details as unknown as Record<string, string>;
    assert.equal(delivered.DestinationServer, "live.mx.test");
    assert.equal(delivered.DestinationIP, "127.0.0.1");
    assert.ok(sink.messages.some((m) => m.rcptTo.includes("someone@mx.test")));
  });

  test("each delivery goes out with its own signed VERP envelope sender", async () => {
    const sent = await pm.sendEmail({ From: "a@sender.test", To: "one@mx.test, two@mx.test", Subject: "verp", TextBody: "x" });
    const received = await eventually(async () => {
      const mine = sink.messages.filter((m) => m.messageId?.includes(sent.MessageID));
      return mine.length === 2 ? mine : null;
    });
    const secret = verpSecret(loadEncryptionKey({ configured: null, dataDir: server.dataDir }).key);
    const deliveries = await server.app.services.messages.deliveries(server.app.services.store.db, sent.MessageID);
    for (const m of received) {
      assert.deepEqual(m.rcptTo.length, 1);
      assert.match(m.mailFrom, /^bounce\+[0-9a-z]+\.[0-9a-f]{10}@rp\.posthorn\.test$/);
      const parsed = parseVerp(m.mailFrom, secret);
      assert.ok(parsed, m.mailFrom);
      assert.equal(deliveries.find((d) => d.id === parsed.deliveryId)?.recipient, m.rcptTo[0]);
    }
  });

  test("a domain with a null MX (RFC 7505) bounces at once", async () => {
    const sent = await pm.sendEmail({ From: "a@sender.test", To: "nobody@nullmx.test", Subject: "x", TextBody: "y" });
    const details = await eventually(async () => {
      const d = await pm.getOutboundMessageDetails(sent.MessageID);
      return d.MessageEvents.length > 0 ? d : null;
    });
    assert.deepEqual(details.MessageEvents.map((e) => e.Type), ["Bounced"]);
    assert.match(JSON.stringify(details.MessageEvents[0]!.Details), /null MX/i);
  });

  test("a delivery still deferred at the maximum queue age gives up with the last reply", async () => {
    const sent = await pm.sendEmail({ From: "a@sender.test", To: "later@mx.test", Subject: "x", TextBody: "y" });
    const details = await eventually(async () => {
      const d = await pm.getOutboundMessageDetails(sent.MessageID);
      return d.MessageEvents.some((e) => e.Type === "Bounced") ? d : null;
    });
    const types = details.MessageEvents.map((e) => e.Type);
    assert.equal(types.at(-1), "Bounced");
    assert.ok(types.slice(0, -1).every((t) => t === "Transient") && types.length >= 2, types.join(","));
    assert.match(JSON.stringify(details.MessageEvents.at(-1)!.Details), /Gave up after \d+ attempts: 451/);
    assert.equal(details.Status, "Sent");
    // Giving up is not a hard bounce: the address stays active.
    const again = await pm.sendEmail({ From: "a@sender.test", To: "later@mx.test", Subject: "x", TextBody: "y" });
    assert.equal(again.ErrorCode, 0);
  });
});
