// The Bounces API end to end with the official client against a running server whose MTA delivers
// to a local SMTP sink: a recipient refused with 550 during our session becomes a hard bounce and
// a suppression (the next send answers 422/406), the bounce is found by every filter, counted in
// the delivery statistics, and once activated the next send is delivered. Also: an archived
// stream refuses mail at SMTP submission, and every call is confined to its workspace.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import { Models, ServerClient } from "postmark";
import { createRequire } from "node:module";
import { startDnsTestServer, type DnsTestServer } from "../src/mta/testing/dns-test-server.js";
import { failure } from "../src/api/postmark/testing/client-failure.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { eventually } from "./support/eventually.js";

/** nodemailer-postmark-transport is CommonJS whose typings declare an ES default export; loaded as what it is. */
const postmarkTransport = createRequire(import.meta.url)("nodemailer-postmark-transport") as (options: { auth: { apiKey: string }; postmarkOptions: object }) => Parameters<typeof nodemailer.createTransport>[0];

describe("bounces through the Postmark API, from a real SMTP session", () => {
  let dns: DnsTestServer;
  let sink: SmtpSink;
  let server: TestServer;
  let pm: ServerClient;
  let other: ServerClient;
  let token: string;
  /** Addresses the sink refuses with 550 5.1.1. */
  const gone = new Set(["gone@bounce.test", "lost@bounce.test"]);

  before(async () => {
    sink = await startSmtpSink({ rcptReply: (rcpt) => (gone.has(rcpt.toLowerCase()) ? { code: 550, message: "5.1.1 <" + rcpt + ">: Recipient address rejected: User unknown" } : null) });
    dns = await startDnsTestServer({ "bounce.test": { MX: [{ priority: 10, exchange: "mx.bounce.test" }] }, "mx.bounce.test": { A: ["127.0.0.1"] } });
    server = await startTestServer({ POSTHORN_DNS_SERVERS: dns.address, POSTHORN_DELIVERY_PORT: String(sink.port), POSTHORN_RETRY_SCHEDULE: "200ms" });
    const host = server.url.replace(/^http:\/\//, "");
    token = await server.createWorkspace("acme");
    pm = new ServerClient(token, { useHttps: false, requestHost: host, timeout: 10 });
    other = new ServerClient(await server.createWorkspace("globex"), { useHttps: false, requestHost: host, timeout: 10 });
  });

  after(async () => {
    await server.close();
    await sink.close();
    await dns.close();
  });

  const bounceOf = (messageId: string) =>
    eventually(async () => {
      const found = await pm.getBounces({ count: 10, offset: 0, messageID: messageId } as Models.BounceFilteringParameters);
      return found.Bounces[0] ?? null;
    });

  test("hard bounce → suppressed (406) → activate → delivered", async () => {
    const sent = await pm.sendEmail({ From: "app@acme.test", To: "gone@bounce.test", Subject: "first", TextBody: "x", Tag: "welcome" });
    const bounce = await bounceOf(sent.MessageID);
    assert.equal(bounce.Type, "HardBounce");
    assert.equal(bounce.TypeCode, 1);
    assert.equal(bounce.Name, "Hard bounce");
    assert.equal(bounce.Email, "gone@bounce.test");
    assert.equal(bounce.MessageID, sent.MessageID);
    assert.equal(bounce.MessageStream, "outbound");
    assert.equal(bounce.Tag, "welcome");
    assert.equal(bounce.Subject, "first");
    assert.equal(bounce.From, "app@acme.test");
    assert.equal(bounce.Inactive, true);
    assert.equal(bounce.CanActivate, true);
    assert.equal(bounce.DumpAvailable, false);
    assert.match(bounce.Details, /User unknown/);
    assert.deepEqual(await pm.getBounce(bounce.ID), bounce);
    assert.deepEqual(await pm.getBounceDump(bounce.ID), { Body: "" });

    const stats = await pm.getDeliveryStatistics();
    assert.deepEqual(stats, { InactiveMails: 1, Bounces: [{ Name: "All", Count: 1 }, { Type: "HardBounce", Name: "Hard bounce", Count: 1 }] });
    const suppressed = await pm.getSuppressions("outbound");
    assert.deepEqual(suppressed.Suppressions.map((s) => [s.EmailAddress, s.SuppressionReason, s.Origin]), [["gone@bounce.test", "HardBounce", "Recipient"]]);

    const refused = await failure(pm.sendEmail({ From: "app@acme.test", To: "Gone@Bounce.test", Subject: "second", TextBody: "x" }));
    assert.deepEqual([refused.name, refused.statusCode, refused.code], ["InactiveRecipientsError", 422, 406]);
    // The same refusal through a second, independent library (nodemailer-postmark-transport).
    const viaNodemailer = nodemailer.createTransport(postmarkTransport({ auth: { apiKey: token }, postmarkOptions: { useHttps: false, requestHost: server.url.replace(/^http:\/\//, ""), timeout: 10 } }));
    await assert.rejects(viaNodemailer.sendMail({ from: "app@acme.test", to: "gone@bounce.test", subject: "second", text: "x" }), { code: 406, statusCode: 422 });

    gone.delete("gone@bounce.test");
    const activated = await pm.activateBounce(bounce.ID);
    assert.equal(activated.Message, "OK");
    assert.equal(activated.Bounce.ID, bounce.ID);
    assert.equal(activated.Bounce.Inactive, false);
    assert.equal(activated.Bounce.CanActivate, false);
    assert.deepEqual((await pm.getSuppressions("outbound")).Suppressions, []);
    assert.equal((await pm.getDeliveryStatistics()).InactiveMails, 0);
    const again = await failure(pm.activateBounce(bounce.ID));
    assert.deepEqual([again.statusCode, again.code], [422, 300]);

    const third = await pm.sendEmail({ From: "app@acme.test", To: "gone@bounce.test", Subject: "third", TextBody: "x" });
    await eventually(async () => sink.messages.find((m) => m.messageId?.includes(third.MessageID)) ?? null);
    const fourth = await viaNodemailer.sendMail({ from: "app@acme.test", to: "gone@bounce.test", subject: "fourth", text: "x" });
    await eventually(async () => sink.messages.find((m) => m.messageId?.includes(fourth.messageId)) ?? null);
    const removed = await server.app.services.store.db.selectFrom("events").select(["recipient", "data_json"]).where("type", "=", "suppression.removed").execute();
    assert.deepEqual(removed.map((e) => [e.recipient, JSON.parse(e.data_json)]), [["gone@bounce.test", { stream: "outbound", reason: "HardBounce", origin: "Customer" }]]);
  });

  test("GET /bounces filters by type, inactive, address, tag, message, stream and dates, and pages", async () => {
    const a = await pm.sendEmail({ From: "app@acme.test", To: "lost@bounce.test", Subject: "a", TextBody: "x", Tag: "tag-a" });
    const first = await bounceOf(a.MessageID);
    await pm.createMessageStream({ ID: "billing", Name: "Billing", MessageStreamType: "Transactional" });
    const b = await pm.sendEmail({ From: "app@acme.test", To: "lost@bounce.test", Subject: "b", TextBody: "x", Tag: "tag-b", MessageStream: "billing" });
    const second = await bounceOf(b.MessageID);

    const ids = async (filter: Record<string, unknown>) =>
      (await pm.getBounces({ count: 100, offset: 0, ...filter } as Models.BounceFilteringParameters)).Bounces.map((x) => x.ID).sort((x, y) => x - y);
    const all = await pm.getBounces({ count: 100, offset: 0 } as Models.BounceFilteringParameters);
    assert.equal(all.TotalCount, 3);
    assert.deepEqual(await ids({ messageStream: "billing" }), [second.ID]);
    assert.deepEqual(await ids({ tag: "tag-a" }), [first.ID]);
    assert.deepEqual(await ids({ emailFilter: "LOST@" }), [first.ID, second.ID]);
    assert.deepEqual(await ids({ emailFilter: "%" }), []);
    assert.deepEqual(await ids({ type: "HardBounce", inactive: true }), [first.ID, second.ID]);
    assert.equal((await ids({ inactive: false })).length, 1);
    assert.deepEqual(await ids({ type: "SoftBounce" }), []);
    assert.deepEqual(await ids({ messageID: b.MessageID }), [second.ID]);
    const today = new Date().toISOString().slice(0, 10);
    assert.equal((await ids({ fromDate: today, toDate: today })).length, 3);
    assert.deepEqual(await ids({ toDate: "2020-01-01" }), []);

    const page = await pm.getBounces({ count: 1, offset: 1 } as Models.BounceFilteringParameters);
    assert.equal(page.TotalCount, 3);
    assert.equal(page.Bounces.length, 1);
    assert.equal(page.Bounces[0]!.ID, all.Bounces[1]!.ID, "newest first, the same order page by page");
    for (const bad of [{ count: 501, offset: 0 }, { count: 500, offset: 9_501 }, { count: 10, offset: 0, type: "Bogus" }, { count: 10, offset: 0, inactive: "maybe" }]) {
      const err = await failure(pm.getBounces(bad as unknown as Models.BounceFilteringParameters));
      assert.deepEqual([err.statusCode, err.code], [422, 300], JSON.stringify(bad));
    }
    // The client replaces a count of 0 by its default; sent as such it is refused.
    const zero = await fetch(`${server.url}/bounces?count=0&offset=0`, { headers: { "X-Postmark-Server-Token": token } });
    assert.equal(zero.status, 422);
    // Bounces on each stream suppress on that stream only.
    assert.equal((await pm.getSuppressions("billing")).Suppressions.length, 1);
    const stats = await pm.getDeliveryStatistics();
    assert.deepEqual(stats.Bounces[0], { Name: "All", Count: 3 });
    assert.equal(stats.InactiveMails, 1, "one address, inactive on two streams");
  });

  test("another workspace sees none of it", async () => {
    const { Bounces } = await pm.getBounces({ count: 1, offset: 0 } as Models.BounceFilteringParameters);
    const id = Bounces[0]!.ID;
    for (const call of [() => other.getBounce(id), () => other.getBounceDump(id), () => other.activateBounce(id), () => pm.getBounce(999_999_999), () => pm.getBounce("abc" as unknown as number)]) {
      const err = await failure(call());
      assert.deepEqual([err.statusCode, err.code], [422, 701]);
    }
    assert.deepEqual(await other.getBounces({ count: 10, offset: 0 } as Models.BounceFilteringParameters), { TotalCount: 0, Bounces: [] });
    assert.deepEqual(await other.getDeliveryStatistics(), { InactiveMails: 0, Bounces: [{ Name: "All", Count: 0 }] });
    assert.deepEqual((await other.getSuppressions("outbound")).Suppressions, []);
  });

  test("an archived stream refuses mail at SMTP submission too", async () => {
    await pm.createMessageStream({ ID: "old", Name: "Old", MessageStreamType: "Transactional" });
    await pm.archiveMessageStream("old");
    const port = server.app.smtp!.submission[0]!.port;
    const transport = nodemailer.createTransport({ host: "127.0.0.1", port, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: token, pass: token } } as SMTPTransport.Options);
    const mail = { from: "app@acme.test", to: "ok@bounce.test", subject: "x", text: "x", headers: { "X-PM-Message-Stream": "old" } };
    await assert.rejects(transport.sendMail(mail), /550 5\.7\.1 .*archived/);
    await pm.unarchiveMessageStream("old");
    const info = await transport.sendMail(mail);
    assert.match(info.response, /^250/);
    transport.close();
  });
});
