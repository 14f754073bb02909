// RFC 3461 requests of SMTP submitters, honoured end to end: NOTIFY=SUCCESS (a "relayed" notice
// when the next hop will not report delivery; none when it took NOTIFY=SUCCESS itself), NOTIFY=DELAY
// (one "delayed" notice at the first deferral), NOTIFY/ORCPT/ENVID/RET passed on to a next hop
// that offers DSN, and NOTIFY=FAILURE for a bounce that comes back later by mail.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { simpleParser } from "mailparser";
import { startSmtpTestSink, type SmtpTestSink, type SinkMessage } from "../src/mta/testing/smtp-test-sink.js";
import { openSmtpDialog } from "../src/smtp/testing/smtp-dialog.js";
import { buildDsn as postfixReport } from "../src/bounces/testing/bounce-fixtures.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { sendRawSmtp } from "./support/smtp-client.js";
import { eventually } from "./support/eventually.js";

let noDsn: SmtpTestSink;
let withDsn: SmtpTestSink;
let verp: TestServer;
let plain: TestServer;
const slowTries = new Map<string, number>();

const noDns = async (name: string) => {
  throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: "ENOTFOUND" });
};

before(async () => {
  noDsn = await startSmtpTestSink({
    hide: ["DSN"],
    // Two deferrals, then accepted: a delay notice must be sent once, not at each retry.
    rcptTo: (rcpt) => {
      if (!rcpt.startsWith("slow@")) return undefined;
      const n = (slowTries.get(rcpt) ?? 0) + 1;
      slowTries.set(rcpt, n);
      return n <= 2 ? "451 4.7.1 Greylisted, try again later" : undefined;
    },
  });
  withDsn = await startSmtpTestSink();
  verp = await startTestServer(
    { POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${noDsn.port}`, POSTHORN_RETRY_SCHEDULE: "200ms", POSTHORN_INBOUND_PORT: "0", POSTHORN_INBOUND_HOST: "127.0.0.1" },
    { inboundDns: noDns },
  );
  plain = await startTestServer({ POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${withDsn.port}`, POSTHORN_VERP: "false" });
});

after(async () => {
  await verp.close();
  await plain.close();
  await noDsn.close();
  await withDsn.close();
});

let workspaces = 0;

/** Submits one message over SMTP with the given MAIL and RCPT parameters. */
async function submit(server: TestServer, from: string, mailParams: string, rcpts: Array<[string, string]>): Promise<void> {
  const token = await server.createWorkspace(`dsn-${++workspaces}`);
  const dialog = await openSmtpDialog(server.app.smtp!.submission[0]!.port);
  try {
    await dialog.command("EHLO app.shop.test");
    await dialog.startTls();
    await dialog.command("EHLO app.shop.test");
    assert.match(await dialog.command(`AUTH PLAIN ${Buffer.from(`\0${token}\0${token}`).toString("base64")}`), /^235 /);
    assert.match(await dialog.command(`MAIL FROM:<${from}>${mailParams ? ` ${mailParams}` : ""}`), /^250 /);
    for (const [rcpt, params] of rcpts) assert.match(await dialog.command(`RCPT TO:<${rcpt}>${params ? ` ${params}` : ""}`), /^250 /);
    assert.match(await dialog.command("DATA"), /^354/);
    assert.match(await dialog.data(`From: ${from}\r\nTo: ${rcpts[0]![0]}\r\nSubject: dsn request\r\n\r\nx\r\n.\r\n`), /^250 /);
  } finally {
    dialog.close();
  }
}

const noticesTo = (sink: SmtpTestSink, address: string): SinkMessage[] => sink.messages.filter((m) => m.from === "" && m.to.includes(address));

async function statusOf(notice: SinkMessage): Promise<string> {
  const parsed = await simpleParser(notice.raw, { keepDeliveryStatus: true });
  return parsed.attachments.find((a) => a.contentType === "message/delivery-status")!.content.toString();
}

test("NOTIFY=SUCCESS to a next hop without DSN: a notice with Action relayed", async () => {
  await submit(verp, "success@shop.test", "", [["ok@example.test", "NOTIFY=SUCCESS"]]);
  const notice = await eventually(async () => noticesTo(noDsn, "success@shop.test")[0]);
  const status = await statusOf(notice);
  assert.match(status, /^Final-Recipient: rfc822; ?ok@example\.test$/m);
  assert.match(status, /^Action: relayed$/m);
  assert.match(status, /^Status: 2\.0\.0$/m);
  const original = noDsn.messages.find((m) => m.to.includes("ok@example.test"))!;
  assert.equal(original.rcptArgs[0]!.NOTIFY, undefined, "no DSN parameters to a hop that does not offer DSN");
});

test("NOTIFY, ORCPT, ENVID and RET go on to a next hop that offers DSN, which then reports success itself", async () => {
  await submit(plain, "passon@shop.test", "RET=HDRS ENVID=order+2B42", [["ok@example.test", "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;customer+2Balias@example.test"]]);
  const original = await eventually(async () => withDsn.messages.find((m) => m.from === "passon@shop.test"));
  assert.equal(original.mailArgs.RET, "HDRS");
  // smtp-server hands the parameters over xtext-decoded (RFC 3461 §4).
  assert.equal(original.mailArgs.ENVID, "order+42");
  assert.equal(original.rcptArgs[0]!.NOTIFY, "SUCCESS,FAILURE");
  assert.equal(original.rcptArgs[0]!.ORCPT, "rfc822;customer+alias@example.test");
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(noticesTo(withDsn, "passon@shop.test").length, 0, "the next hop reports success; no notice of ours as well");
});

test("NOTIFY=DELAY: one delayed notice at the first deferral, not one per retry", async () => {
  await submit(verp, "delay@shop.test", "", [["slow@example.test", "NOTIFY=DELAY,FAILURE"]]);
  await eventually(async () => noDsn.messages.find((m) => m.to.includes("slow@example.test")));
  await new Promise((r) => setTimeout(r, 500));
  const notices = noticesTo(noDsn, "delay@shop.test");
  assert.equal(notices.length, 1, "exactly one notice for two deferrals");
  const status = await statusOf(notices[0]!);
  assert.match(status, /^Action: delayed$/m);
  assert.match(status, /^Status: 4\.7\.1$/m);
  assert.match(status, /^Diagnostic-Code: smtp; ?451 4\.7\.1 Greylisted/m);
});

test("a bounce that comes back later by mail gives a failure notice for NOTIFY=FAILURE, with the report's diagnostic type", async () => {
  await submit(verp, "async@shop.test", "", [["later@example.net", "NOTIFY=FAILURE"]]);
  const sent = await eventually(async () => noDsn.messages.find((m) => m.to.includes("later@example.net")));
  const messageId = /^Message-ID:\s*<([^>]+)>/im.exec(sent.raw.toString("latin1"))![1]!;
  const report = postfixReport({
    recipient: "later@example.net",
    returnPath: sent.from,
    messageId,
    status: "5.4.6",
    diagnostic: "X-Postfix; mail for example.net loops back to myself",
  });
  const result = await sendRawSmtp(verp.app.smtp!.inbound!.port, { from: "", to: [sent.from] }, report);
  assert.match(result.data!, /^250 /);
  const notice = await eventually(async () => noticesTo(noDsn, "async@shop.test")[0]);
  const status = await statusOf(notice);
  assert.match(status, /^Final-Recipient: rfc822; ?later@example\.net$/m);
  assert.match(status, /^Action: failed$/m);
  assert.match(status, /^Status: 5\.4\.6$/m);
  assert.match(status, /^Diagnostic-Code: X-Postfix; mail for example\.net loops back to myself$/m);
  assert.doesNotMatch(status, /smtp; X-Postfix/);
});
