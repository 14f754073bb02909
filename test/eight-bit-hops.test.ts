// 8-bit mail to next hops with and without 8BITMIME and SMTPUTF8 (RFC 6152 §3, RFC 6531 §3.4):
// an SMTP submission with an 8-bit body and raw UTF-8 header fields, from a verified (DKIM-signing)
// domain, delivered by MX lookup to two sinks of the test's own. One announces neither extension
// and must receive 7-bit bytes, signed as received; the other announces both and must receive the
// message as submitted with BODY=8BITMIME and SMTPUTF8. Signatures are checked with dkimpy.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { isAscii } from "node:buffer";
import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import { simpleParser } from "mailparser";
import { AccountClient } from "postmark";
import { startDnsZoneServer, type DnsZoneServer } from "../src/sending-domains/testing/dns-zone-server.js";
import { dkimpyVerify, findDkimpy } from "../src/sending-domains/testing/dkimpy.js";
import { startSmtpTestSink, type SmtpTestSink } from "../src/mta/testing/smtp-test-sink.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { eventually } from "./support/eventually.js";

const python = findDkimpy();
let dns: DnsZoneServer;
let old: SmtpTestSink;
let modern: SmtpTestSink;
let server: TestServer;
const records: Record<string, string> = {};
let token: string;

before(async () => {
  // Two MX hosts on one port (POSTHORN_DELIVERY_PORT is one for all), told apart by address.
  old = await startSmtpTestSink({ host: "127.0.0.1", hide: ["8BITMIME", "SMTPUTF8", "DSN"] });
  modern = await startSmtpTestSink({ host: "127.0.0.2", port: old.port });
  dns = await startDnsZoneServer({
    "old.test": { MX: [{ priority: 10, exchange: "mx.old.test" }] },
    "mx.old.test": { A: ["127.0.0.1"] },
    "modern.test": { MX: [{ priority: 10, exchange: "mx.modern.test" }] },
    "mx.modern.test": { A: ["127.0.0.2"] },
  });
  server = await startTestServer({ POSTHORN_DNS_SERVERS: dns.address, POSTHORN_DELIVERY_PORT: String(old.port), POSTHORN_SMTP_HOST: "127.0.0.1" });
  const host = server.url.replace(/^http:\/\//, "");
  const account = new AccountClient(await server.app.services.workspaces.createAccountToken(), { useHttps: false, requestHost: host });
  const domain = await account.createDomain({ Name: "brand.test" });
  records[domain.DKIMPendingHost] = domain.DKIMPendingTextValue;
  dns.zone[domain.DKIMPendingHost] = { TXT: [domain.DKIMPendingTextValue] };
  assert.equal((await account.verifyDomainDKIM(domain.ID)).DKIMVerified, true);
  token = await server.createWorkspace("eight-bit");
});

after(async () => {
  await server.close();
  await old.close();
  await modern.close();
  await dns.close();
});

const SUBJECT = "Grüße aus Köln";
const BODY = "Liebe Zoë,\r\nvielen Dank für Ihre Bestellung.\r\n";

async function submit(to: string, id: string): Promise<void> {
  const raw = Buffer.from(
    [
      "From: Jürgen Müller <news@brand.test>",
      `To: ${to}`,
      `Subject: ${SUBJECT}`,
      `Message-ID: <${id}@brand.test>`,
      "X-PM-KeepID: true",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
      "",
      BODY,
    ].join("\r\n"),
    "utf8",
  );
  const client = nodemailer.createTransport({
    host: "127.0.0.1",
    port: server.app.smtp!.submission[0]!.port,
    requireTLS: true,
    tls: { rejectUnauthorized: false },
    auth: { user: token, pass: token },
  } as SMTPTransport.Options);
  await client.sendMail({ envelope: { from: "news@brand.test", to: [to] }, raw });
}

test("a hop without 8BITMIME and SMTPUTF8 gets the message in 7 bits, signed as it is sent", { skip: python ? false : "python3-dkim is not installed" }, async () => {
  await submit("reader@old.test", "to-old");
  const received = await eventually(async () => old.messages.find((m) => m.raw.includes("to-old@brand.test")));
  assert.ok(isAscii(received.raw), "no 8-bit byte reached the hop");
  assert.equal(received.mailArgs.BODY, undefined, "no BODY=8BITMIME to a hop that did not offer it");
  assert.equal(received.mailArgs.SMTPUTF8, undefined);
  const text = received.raw.toString("latin1");
  assert.match(text, /^Content-Transfer-Encoding: quoted-printable\r$/m);
  assert.match(text, /^Subject: =\?UTF-8\?Q\?/m);
  const parsed = await simpleParser(received.raw);
  assert.equal(parsed.subject, SUBJECT);
  assert.equal(parsed.from?.value[0]?.name, "Jürgen Müller");
  assert.equal(parsed.text, BODY.replace(/\r\n/g, "\n"));
  const results = dkimpyVerify(python!, received.raw, records);
  assert.deepEqual(results.map((r) => r.ok), [true], "the signature covers the converted bytes");
});

test("a hop with 8BITMIME and SMTPUTF8 gets the message as submitted, with both parameters", { skip: python ? false : "python3-dkim is not installed" }, async () => {
  await submit("reader@modern.test", "to-modern");
  const received = await eventually(async () => modern.messages.find((m) => m.raw.includes("to-modern@brand.test")));
  assert.equal(received.mailArgs.BODY, "8BITMIME");
  assert.equal(received.mailArgs.SMTPUTF8, true, "UTF-8 header fields need SMTPUTF8 though every address is ASCII");
  const text = received.raw.toString("utf8");
  assert.match(text, new RegExp(`^Subject: ${SUBJECT}\r$`, "m"));
  assert.ok(text.includes(BODY));
  const results = dkimpyVerify(python!, received.raw, records);
  assert.deepEqual(results.map((r) => r.ok), [true]);
});
