// Failure notices (RFC 3464) to the sender, when asked for: here for API mail through
// POSTHORN_DSN_FOR_API. A notice has a null envelope sender and is never bounced back.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ServerClient } from "postmark";
import { simpleParser } from "mailparser";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { eventually } from "./support/eventually.js";
import { startDnsTestServer, type DnsTestServer } from "../src/mta/testing/dns-test-server.js";

let sink: SmtpSink;
let withNotices: TestServer;
let without: TestServer;
let dns: DnsTestServer;
let byMx: TestServer;

before(async () => {
  sink = await startSmtpSink({
    rcptReply: (rcpt) =>
      rcpt.startsWith("gone@") || rcpt.startsWith("sender-gone@") ? { code: 550, message: "5.1.1 <" + rcpt + ">: Recipient address rejected: User unknown" } : null,
  });
  const relay = { POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}` };
  withNotices = await startTestServer({ ...relay, POSTHORN_DSN_FOR_API: "true" });
  without = await startTestServer(relay);
  // Delivery by MX lookup: shop.test (where notices go) is the sink; nowhere.test does not exist.
  dns = await startDnsTestServer({ "shop.test": { MX: [{ priority: 10, exchange: "mx.shop.test" }] }, "mx.shop.test": { A: ["127.0.0.1"] } });
  byMx = await startTestServer({ POSTHORN_DNS_SERVERS: dns.address, POSTHORN_DELIVERY_PORT: String(sink.port), POSTHORN_DSN_FOR_API: "true" });
});

after(async () => {
  await withNotices.close();
  await without.close();
  await byMx.close();
  await dns.close();
  await sink.close();
});

let workspaces = 0;
const clientOf = async (server: TestServer) =>
  new ServerClient(await server.createWorkspace(`notices-${++workspaces}`), { useHttps: false, requestHost: server.url.replace(/^http:\/\//, "") });

test("a bounced recipient produces a delivery status notification to the sender", async () => {
  const pm = await clientOf(withNotices);
  const sent = await pm.sendEmail({ From: "App <app@shop.test>", To: "gone@example.test, ok@example.test", Subject: "Order", TextBody: "x" });
  const notice = await eventually(async () => sink.messages.find((m) => m.rcptTo.includes("app@shop.test")));
  assert.equal(notice.mailFrom, "", "a notice has a null envelope sender");
  const parsed = await simpleParser(notice.raw, { keepDeliveryStatus: true });
  assert.match(notice.raw.toString(), /^Content-Type: multipart\/report;[^]*?report-type=delivery-status/im);
  assert.equal(parsed.subject, "Undelivered Mail Returned to Sender");
  const status = parsed.attachments.find((a) => a.contentType === "message/delivery-status")!.content.toString();
  assert.match(status, /^Final-Recipient: rfc822; ?gone@example\.test$/m);
  assert.match(status, /^Action: failed$/m);
  assert.match(status, /^Status: 5\.1\.1$/m);
  assert.match(status, /^Diagnostic-Code: smtp; ?550 5\.1\.1/m);
  assert.equal(/ok@example\.test/.test(status), false, "only failed recipients are reported");
  const headers = parsed.attachments.find((a) => a.contentType === "text/rfc822-headers")!.content.toString();
  assert.match(headers, new RegExp(sent.MessageID));
});

test("a notice that cannot be delivered is not bounced back", async () => {
  const pm = await clientOf(withNotices);
  await pm.sendEmail({ From: "sender-gone@shop.test", To: "gone@example.test", Subject: "x", TextBody: "y" });
  // The notice to sender-gone@ is refused too; wait until that refusal is recorded.
  await eventually(async () => {
    const list = await pm.getOutboundMessages({ count: 10, offset: 0, recipient: "sender-gone@shop.test" });
    return Number(list.TotalCount) > 0 && list.Messages[0]!.Status === "Sent";
  });
  await new Promise((r) => setTimeout(r, 500));
  const notices = sink.messages.filter((m) => m.mailFrom === "" && m.rcptTo.some((r) => r.startsWith("sender-gone@")));
  assert.equal(notices.length, 0, "the sink refused it at RCPT, so it never arrived");
  const all = await pm.getOutboundMessages({ count: 50, offset: 0 });
  assert.equal(all.Messages.filter((m) => m.Subject === "Undelivered Mail Returned to Sender").length, 1, "exactly one notice, none for the notice");
});

test("without the setting, API mail gets no notices", async () => {
  const pm = await clientOf(without);
  await pm.sendEmail({ From: "quiet@shop.test", To: "gone@example.test", Subject: "x", TextBody: "y" });
  await eventually(async () => (await pm.getOutboundMessages({ count: 10, offset: 0 })).Messages[0]?.Status === "Sent");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(sink.messages.some((m) => m.rcptTo.includes("quiet@shop.test")), false);
});

test("SMTP mail: NOTIFY is honoured per recipient, and ORCPT and ENVID come back in the notice", async () => {
  const token = await without.createWorkspace("notices-smtp");
  const { openSmtpDialog } = await import("../src/smtp/testing/smtp-dialog.js");
  const dialog = await openSmtpDialog(without.app.smtp!.submission[0]!.port);
  try {
    await dialog.command("EHLO app.shop.test");
    await dialog.startTls();
    await dialog.command("EHLO app.shop.test");
    assert.match(await dialog.command(`AUTH PLAIN ${Buffer.from(`\0${token}\0${token}`).toString("base64")}`), /^235 /);
    assert.match(await dialog.command("MAIL FROM:<smtp-app@shop.test> RET=HDRS ENVID=order+2B42"), /^250 /);
    // smtp-server refuses xtext that hides control characters (header injection into the notice).
    assert.match(await dialog.command("RSET"), /^250 /);
    assert.match(await dialog.command("MAIL FROM:<smtp-app@shop.test> ENVID=x+0D+0AInjected:+20yes"), /^501 /);
    assert.match(await dialog.command("MAIL FROM:<smtp-app@shop.test> RET=HDRS ENVID=order+2B42"), /^250 /);
    assert.match(await dialog.command("RCPT TO:<gone@example.test> NOTIFY=FAILURE ORCPT=rfc822;customer+2Balias@example.test"), /^250 /);
    assert.match(await dialog.command("RCPT TO:<gone@other.test> NOTIFY=NEVER"), /^250 /);
    assert.match(await dialog.command("DATA"), /^354/);
    assert.match(await dialog.data("From: smtp-app@shop.test\r\nTo: gone@example.test\r\nSubject: per-recipient\r\n\r\nx\r\n.\r\n"), /^250 2\.0\.0 /);
  } finally {
    dialog.close();
  }
  const notice = await eventually(async () => sink.messages.find((m) => m.rcptTo.includes("smtp-app@shop.test")));
  const parsed = await simpleParser(notice.raw, { keepDeliveryStatus: true });
  const status = parsed.attachments.find((a) => a.contentType === "message/delivery-status")!.content.toString();
  assert.match(status, /^Original-Envelope-Id: order\+42$/m, "ENVID is xtext-decoded");
  assert.match(status, /^Original-Recipient: rfc822; ?customer\+alias@example\.test$/m);
  assert.match(status, /^Final-Recipient: rfc822; ?gone@example\.test$/m);
  assert.doesNotMatch(status, /gone@other\.test/, "NOTIFY=NEVER is not reported");
});

test("a notice comes from the postmaster, with the display name written once", async () => {
  const pm = await clientOf(withNotices);
  await pm.sendEmail({ From: "from-check@shop.test", To: "gone@example.test", Subject: "x", TextBody: "y" });
  const notice = await eventually(async () => sink.messages.find((m) => m.rcptTo.includes("from-check@shop.test")));
  const head = notice.raw.toString("utf8").split("\r\n\r\n")[0]!;
  assert.match(head, /^From: Mail Delivery System <postmaster@posthorn\.test>$/m);
  const parsed = await simpleParser(notice.raw);
  assert.deepEqual(parsed.from?.value, [{ name: "Mail Delivery System", address: "postmaster@posthorn.test" }]);
});

test("a domain that does not exist is reported as 5.1.2 with the reason as an X-Posthorn diagnostic", async () => {
  const pm = await clientOf(byMx);
  await pm.sendEmail({ From: "dns-check@shop.test", To: "someone@nowhere.test", Subject: "x", TextBody: "y" });
  const notice = await eventually(async () => sink.messages.find((m) => m.rcptTo.includes("dns-check@shop.test")));
  const parsed = await simpleParser(notice.raw, { keepDeliveryStatus: true });
  const status = parsed.attachments.find((a) => a.contentType === "message/delivery-status")!.content.toString();
  assert.match(status, /^Final-Recipient: rfc822; ?someone@nowhere\.test$/m);
  assert.match(status, /^Action: failed$/m);
  assert.match(status, /^Status: 5\.1\.2$/m);
  assert.match(status, /^Diagnostic-Code: X-Posthorn; domain nowhere\.test does not exist/m);
});
