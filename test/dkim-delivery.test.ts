// A verified sending domain's mail leaves signed and with its own return path: add the domain
// through the account API, publish its records in a DNS server of the test's own, verify, send
// through the Postmark API, and check what the destination received with an independent DKIM
// verifier (dkimpy, not the mailauth that signed).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { AccountClient, ServerClient } from "postmark";
import { startDnsZoneServer, type DnsZoneServer } from "../src/sending-domains/testing/dns-zone-server.js";
import { dkimpyVerify, findDkimpy } from "../src/sending-domains/testing/dkimpy.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { eventually } from "./support/eventually.js";
import { sendRawSmtp } from "./support/smtp-client.js";

const python = findDkimpy();
let dns: DnsZoneServer;
let sink: SmtpSink;
let server: TestServer;

before(async () => {
  sink = await startSmtpSink();
  dns = await startDnsZoneServer({ "rcpt.test": { MX: [{ priority: 10, exchange: "mx.rcpt.test" }] }, "mx.rcpt.test": { A: ["127.0.0.1"] } });
  server = await startTestServer({
    POSTHORN_DNS_SERVERS: dns.address,
    POSTHORN_DELIVERY_PORT: String(sink.port),
    POSTHORN_DKIM_ED25519: "true",
    // SMTP submission from loopback without AUTH, into the workspace "brand" (second test).
    POSTHORN_SMTP_TRUSTED_NETWORKS: "127.0.0.1/32=brand",
  });
});

after(async () => {
  await server.close();
  await sink.close();
  await dns.close();
});

test("mail from a verified domain is DKIM-signed (RSA and Ed25519) and uses the domain's return path", { skip: python ? false : "python3-dkim is not installed (.ci/run installs it)" }, async () => {
  const host = server.url.replace(/^http:\/\//, "");
  const account = new AccountClient(await server.app.services.workspaces.createAccountToken(), { useHttps: false, requestHost: host });
  const domain = await account.createDomain({ Name: "brand.test" });
  const records: Record<string, string> = {};
  const publish = (name: string, value: string) => {
    records[name] = value;
    dns.zone[name] = { ...dns.zone[name], TXT: [value] };
  };
  const extra = domain as unknown as Record<string, string>;
  publish(domain.DKIMPendingHost, domain.DKIMPendingTextValue);
  publish(extra.DKIMEd25519PendingHost!, extra.DKIMEd25519PendingTextValue!);
  dns.zone[domain.ReturnPathDomain] = { CNAME: domain.ReturnPathDomainCNAMEValue };
  assert.equal((await account.verifyDomainDKIM(domain.ID)).DKIMVerified, true);
  assert.equal((await account.verifyDomainReturnPath(domain.ID)).ReturnPathDomainVerified, true);

  const pm = new ServerClient(await server.createWorkspace("brand"), { useHttps: false, requestHost: host });
  const sent = await pm.sendEmail({
    From: "Brand <news@brand.test>",
    To: "reader@rcpt.test",
    Subject: "Signed ✓",
    TextBody: "hello",
    HtmlBody: "<p>hello</p>",
    Headers: [
      { Name: "List-Unsubscribe", Value: "<https://brand.test/u/1>" },
      { Name: "List-Unsubscribe-Post", Value: "List-Unsubscribe=One-Click" },
    ],
  });
  const received = await eventually(async () => sink.messages.find((m) => m.messageId?.includes(sent.MessageID)));

  assert.match(received.mailFrom, /^bounce\+[0-9a-z]+\.[0-9a-f]{10}@pm-bounces\.brand\.test$/);
  const results = dkimpyVerify(python!, received.raw, records);
  assert.deepEqual(results.map((r) => [r.algorithm, r.ok]).sort(), [["ed25519-sha256", true], ["rsa-sha256", true]]);
  const signature = received.raw.toString("utf8").split("\r\n\r\n")[0]!;
  assert.match(signature, /h=[^;]*list-unsubscribe-post/i);

  // Mail from a domain that is not set up goes out unsigned, with the default return path.
  const other = await pm.sendEmail({ From: "someone@elsewhere.test", To: "reader@rcpt.test", Subject: "x", TextBody: "y" });
  const plain = await eventually(async () => sink.messages.find((m) => m.messageId?.includes(other.MessageID)));
  assert.equal(/^DKIM-Signature:/im.test(plain.raw.toString("utf8")), false);
  assert.match(plain.mailFrom, /@posthorn\.test$/);
});

test("SMTP mail is signed for its From header's domain and takes that domain's return path, whatever its MAIL FROM", { skip: python ? false : "python3-dkim is not installed (.ci/run installs it)" }, async () => {
  // The first test set up and verified brand.test and created the workspace "brand".
  const records: Record<string, string> = {};
  for (const [name, entry] of Object.entries(dns.zone)) if (entry.TXT) records[name] = entry.TXT.join("");
  const port = server.app.smtp!.submission[0]!.port;
  const raw = [
    "From: Brand <news@brand.test>",
    "To: reader@rcpt.test",
    "Subject: Sent over SMTP",
    "Message-ID: <smtp-from-domain@app.elsewhere.test>",
    "X-PM-KeepID: true",
    "",
    "hello over SMTP",
    "",
  ].join("\r\n");
  const result = await sendRawSmtp(port, { from: "app@elsewhere.test", to: ["reader@rcpt.test"] }, raw);
  assert.match(result.data ?? "", /^250/);
  const received = await eventually(async () => sink.messages.find((m) => m.messageId?.includes("smtp-from-domain@app.elsewhere.test")));

  assert.match(received.mailFrom, /^bounce\+[0-9a-z]+\.[0-9a-f]{10}@pm-bounces\.brand\.test$/);
  const results = dkimpyVerify(python!, received.raw, records);
  assert.deepEqual(results.map((r) => [r.algorithm, r.ok]).sort(), [["ed25519-sha256", true], ["rsa-sha256", true]]);
  assert.match(received.raw.toString("utf8").split("\r\n\r\n")[0]!, /^DKIM-Signature:[^]*?\bd=brand\.test;/m);
});
