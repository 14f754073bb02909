// End to end: mail goes out through the MTA with VERP return paths; remote servers' bounces and
// complaints (Postfix, Gmail, Office 365 and Yahoo/AOL feedback-loop shapes) come back to the
// inbound MX listener over real SMTP, and are matched, classified, recorded and acted on.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { ServerClient } from "postmark";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { sendRawSmtp } from "./support/smtp-client.js";
import { eventually } from "./support/eventually.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";
import { FIXTURE_MESSAGE_ID, FIXTURE_RETURN_PATH, GMAIL_DELAYED, GMAIL_NO_SUCH_USER, O365_RECIPIENT_NOT_FOUND, buildDsn } from "../src/bounces/testing/bounce-fixtures.js";
import { AOL_ARF_WITHOUT_ENVELOPE, YAHOO_ARF_ABUSE, buildComplaint } from "../src/bounces/testing/complaint-fixtures.js";

const RETURN_PATH_DOMAIN = "bounces.posthorn.test";

/** Answers every DNS question with "no such name": the tests need no DNS for bounces. */
const noDns = async (name: string) => {
  throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: "ENOTFOUND" });
};

describe("bounces and complaints received by the inbound MX listener", () => {
  let sink: SmtpSink;
  let hooks: WebhookReceiver;
  let server: TestServer;
  let pm: ServerClient;
  let inboundPort: number;
  let workspaceId: string;

  before(async () => {
    sink = await startSmtpSink();
    hooks = await startWebhookReceiver();
    server = await startTestServer(
      {
        POSTHORN_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.1/32",
        POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
        POSTHORN_INBOUND_PORT: "0",
        POSTHORN_INBOUND_HOST: "127.0.0.1",
        POSTHORN_RETURN_PATH_DOMAIN: RETURN_PATH_DOMAIN,
      },
      { inboundDns: noDns },
    );
    const token = await server.createWorkspace("acme");
    workspaceId = (await server.app.services.workspaces.get("acme")).id;
    pm = new ServerClient(token, { useHttps: false, requestHost: server.url.replace(/^http:\/\//, "") });
    inboundPort = server.app.smtp!.inbound!.port;
    await pm.createWebhook({ Url: hooks.url, MessageStream: "outbound", Triggers: { Bounce: { Enabled: true, IncludeContent: true } } });
  });

  after(async () => {
    await server.close();
    await sink.close();
    await hooks.close();
  });

  /** Sends a message to one recipient and waits until the sink has it; returns our id and the VERP return path used. */
  async function deliver(to: string): Promise<{ id: string; verp: string; messageIdHeader: string }> {
    const sent = await pm.sendEmail({ From: "billing@acme.test", To: to, Subject: "Your invoice #1042", TextBody: "Hello" });
    const received = await eventually(async () => sink.messages.find((m) => m.rcptTo.includes(to)));
    assert.match(received.mailFrom, new RegExp(`^bounce\\+[0-9a-z]+\\.[0-9a-f]+@${RETURN_PATH_DOMAIN.replace(/\./g, "\\.")}$`));
    return { id: sent.MessageID, verp: received.mailFrom, messageIdHeader: `${sent.MessageID}@posthorn.test` };
  }

  /** A fixture rewritten to answer our message: its VERP return path and Message-ID. */
  function answering(fixture: string, sent: { verp: string; messageIdHeader: string }): string {
    return fixture.split(FIXTURE_RETURN_PATH).join(sent.verp).split(FIXTURE_MESSAGE_ID).join(sent.messageIdHeader);
  }

  async function bouncesOf(messageId: string) {
    return server.app.services.store.db.selectFrom("bounces").selectAll().where("message_id", "=", messageId).orderBy("id").execute();
  }

  async function suppression(email: string) {
    return server.app.services.store.db.selectFrom("suppressions").selectAll().where("workspace_id", "=", workspaceId).where("email_key", "=", email.toLowerCase()).executeTakeFirst();
  }

  async function deliveryState(messageId: string): Promise<string> {
    const rows = await server.app.services.messages.deliveries(server.app.services.store.db, messageId);
    return rows[0]!.state;
  }

  test("a Postfix DSN to the VERP address records a hard bounce, suppresses the address and bounces the delivery; the same DSN again adds nothing", async () => {
    const sent = await deliver("bob@example.net");
    await eventually(async () => (await deliveryState(sent.id)) === "delivered");
    const dsn = buildDsn({ recipient: "bob@example.net", returnPath: sent.verp, messageId: sent.messageIdHeader });
    const result = await sendRawSmtp(inboundPort, { from: "", to: [sent.verp] }, dsn);
    assert.match(result.rcpt[0]!, /^250 /);
    assert.match(result.data!, /^250 2\.0\.0 /);

    const [bounce, ...more] = await bouncesOf(sent.id);
    assert.equal(more.length, 0);
    assert.equal(bounce!.type, "HardBounce");
    assert.equal(bounce!.email, "bob@example.net");
    assert.match(bounce!.details, /User unknown/);
    assert.equal((await suppression("bob@example.net"))?.reason, "HardBounce");
    assert.equal(await deliveryState(sent.id), "bounced");
    const details = await pm.getOutboundMessageDetails(sent.id);
    assert.ok(details.MessageEvents.some((e) => e.Type === "Bounced"), JSON.stringify(details.MessageEvents));

    // The report is the bounce's dump (GET /bounces/{id}/dump).
    const shown = await pm.getBounce(bounce!.id);
    assert.equal(shown.DumpAvailable, true);
    const { Body } = await pm.getBounceDump(bounce!.id);
    assert.match(Body, /Final-Recipient: rfc822; ?bob@example\.net/i);
    assert.ok(Body.includes(sent.verp), "the whole report, as received");
    const listed = await pm.getBounces({ count: 10, offset: 0, messageID: sent.id } as Parameters<ServerClient["getBounces"]>[0]);
    assert.equal(listed.Bounces[0]!.DumpAvailable, true);

    // The Bounce webhook (IncludeContent) carries the report as its content, as Postmark's does.
    const hook = await eventually(async () => hooks.posts.find((p) => p.json.RecordType === "Bounce" && p.json.MessageID === sent.id), 20_000);
    assert.equal(hook.json.DumpAvailable, true);
    assert.equal(hook.json.Content, Body);

    await sendRawSmtp(inboundPort, { from: "", to: [sent.verp] }, dsn);
    assert.equal((await bouncesOf(sent.id)).length, 1, "a repeated report is recorded once");
    assert.equal((await server.app.services.store.db.selectFrom("bounce_reports").select("id").where("message_id", "=", sent.id).execute()).length, 1, "and kept once");
    // The next message to the address is refused as inactive, as after a synchronous hard bounce.
    await assert.rejects(pm.sendEmail({ From: "billing@acme.test", To: "bob@example.net", Subject: "again", TextBody: "x" }), /inactive/);
  });

  test("Gmail's and Office 365's failure reports are recognised as hard bounces", async () => {
    const gmail = await deliver("nosuchuser@gmail.com");
    await sendRawSmtp(inboundPort, { from: "", to: [gmail.verp] }, answering(GMAIL_NO_SUCH_USER, gmail));
    const [gmailBounce] = await bouncesOf(gmail.id);
    assert.equal(gmailBounce?.type, "HardBounce");
    assert.match(gmailBounce!.details, /does not exist/);

    const o365 = await deliver("erin@contoso.example");
    await sendRawSmtp(inboundPort, { from: "", to: [o365.verp] }, answering(O365_RECIPIENT_NOT_FOUND, o365));
    const [o365Bounce] = await bouncesOf(o365.id);
    assert.equal(o365Bounce?.type, "HardBounce");
    assert.match(o365Bounce!.details, /RecipientNotFound|not found/i);
  });

  test("a full mailbox is a soft bounce and a delay warning is transient: neither suppresses", async () => {
    const full = await deliver("grace@example.org");
    const dsn = buildDsn({ recipient: "grace@example.org", returnPath: full.verp, messageId: full.messageIdHeader, status: "5.2.2", diagnostic: "smtp; 552 5.2.2 <grace@example.org>: Mailbox full" });
    await sendRawSmtp(inboundPort, { from: "", to: [full.verp] }, dsn);
    assert.equal((await bouncesOf(full.id))[0]?.type, "SoftBounce");
    assert.equal(await suppression("grace@example.org"), undefined);

    const delayed = await deliver("judy@example.org");
    await eventually(async () => (await deliveryState(delayed.id)) === "delivered");
    await sendRawSmtp(inboundPort, { from: "", to: [delayed.verp] }, answering(GMAIL_DELAYED, delayed));
    assert.equal((await bouncesOf(delayed.id))[0]?.type, "Transient");
    assert.equal(await deliveryState(delayed.id), "delivered", "a delay changes nothing");
    assert.equal(await suppression("judy@example.org"), undefined);
  });

  test("an ARF complaint to the VERP address records a spam complaint and suppresses the address", async () => {
    const sent = await deliver("frank@yahoo.example");
    await sendRawSmtp(inboundPort, { from: "", to: [sent.verp] }, answering(YAHOO_ARF_ABUSE, sent));
    const [complaint] = await bouncesOf(sent.id);
    assert.equal(complaint?.type, "SpamComplaint");
    assert.equal(complaint?.type_code, 100001);
    assert.equal((await suppression("frank@yahoo.example"))?.reason, "SpamComplaint");
    const details = await pm.getOutboundMessageDetails(sent.id);
    assert.ok(details.MessageEvents.some((e) => e.Type === "SpamComplaint"));
    // The recipient's complaint is not the customer's to undo: no activation, no deletion.
    const shown = await pm.getBounce(complaint!.id);
    assert.deepEqual([shown.Type, shown.Inactive, shown.CanActivate, shown.DumpAvailable], ["SpamComplaint", true, false, true]);
    assert.match((await pm.getBounceDump(complaint!.id)).Body, /Feedback-Type: abuse/i);
    await assert.rejects(pm.activateBounce(complaint!.id), { statusCode: 422, code: 300 });
    const deleted = await pm.deleteSuppressions("outbound", { Suppressions: [{ EmailAddress: "frank@yahoo.example" }] });
    assert.equal(deleted.Suppressions[0]!.Status, "Failed");
    assert.equal((await suppression("frank@yahoo.example"))?.reason, "SpamComplaint");
  });

  test("a feedback-loop report to fbl@ the return-path domain, naming no envelope, is verified by the VERP in the original's Return-Path", async () => {
    const sent = await deliver("heidi@aol.example");
    const report = answering(AOL_ARF_WITHOUT_ENVELOPE, sent);
    const result = await sendRawSmtp(inboundPort, { from: "", to: [`fbl@${RETURN_PATH_DOMAIN}`] }, report);
    assert.match(result.data!, /^250 /);
    assert.equal((await bouncesOf(sent.id))[0]?.type, "SpamComplaint");
    assert.equal((await suppression("heidi@aol.example"))?.reason, "SpamComplaint");
  });

  test("a DSN to postmaster@ is verified by the VERP in the returned original's Return-Path, and acted on", async () => {
    const sent = await deliver("kate@example.net");
    await eventually(async () => (await deliveryState(sent.id)) === "delivered");
    const dsn = buildDsn({ recipient: "kate@example.net", returnPath: sent.verp, messageId: sent.messageIdHeader });
    await sendRawSmtp(inboundPort, { from: "", to: [`postmaster@${RETURN_PATH_DOMAIN}`] }, dsn);
    assert.equal((await bouncesOf(sent.id))[0]?.type, "HardBounce");
    assert.equal((await suppression("kate@example.net"))?.reason, "HardBounce");
    assert.equal(await deliveryState(sent.id), "bounced");
  });

  /** Sends one message to a victim and to mallory, a co-recipient who sees its Message-ID and the victim's address, and her own VERP. */
  async function sentToVictimAndMallory(victim: string, mallory: string) {
    const sent = await pm.sendEmail({ From: "billing@acme.test", To: `${victim}, ${mallory}`, Subject: "Team invoice", TextBody: "Hello" });
    const verpOf = async (to: string) => (await eventually(async () => sink.messages.find((m) => m.rcptTo.includes(to)))).mailFrom;
    const [victimVerp, malloryVerp] = [await verpOf(victim), await verpOf(mallory)];
    await eventually(async () => (await server.app.services.messages.deliveries(server.app.services.store.db, sent.MessageID)).every((d) => d.state === "delivered"));
    return { id: sent.MessageID, messageIdHeader: `${sent.MessageID}@posthorn.test`, victimVerp, malloryVerp };
  }

  async function victimState(messageId: string, victim: string): Promise<string> {
    const rows = await server.app.services.messages.deliveries(server.app.services.store.db, messageId);
    return rows.find((d) => d.recipient === victim)!.state;
  }

  test("a forged DSN and a forged ARF report from a co-recipient, matched by Message-ID and recipient only, are recorded as unverified and suppress no one", async () => {
    const victim = "victim@example.org";
    const sent = await sentToVictimAndMallory(victim, "mallory@example.org");
    // Mallory sends, from anywhere, a DSN and a complaint about the victim to the report mailboxes.
    const dsn = buildDsn({ recipient: victim, returnPath: `postmaster@${RETURN_PATH_DOMAIN}`, messageId: sent.messageIdHeader });
    const dsnResult = await sendRawSmtp(inboundPort, { from: "mallory@example.org", to: [`postmaster@${RETURN_PATH_DOMAIN}`] }, dsn);
    assert.match(dsnResult.data!, /^250 /);
    const arf = buildComplaint({ recipient: victim, returnPath: `billing@acme.test`, messageId: sent.messageIdHeader });
    const arfResult = await sendRawSmtp(inboundPort, { from: "mallory@example.org", to: [`abuse@${RETURN_PATH_DOMAIN}`] }, arf);
    assert.match(arfResult.data!, /^250 /);

    assert.equal(await suppression(victim), undefined, "no suppression");
    assert.equal(await victimState(sent.id, victim), "delivered", "the delivery did not bounce");
    const records = await bouncesOf(sent.id);
    assert.deepEqual(records.map((b) => [b.email, b.type, b.inactive, b.description]), [[victim, "Unknown", 0, "Unverified report"], [victim, "Unknown", 0, "Unverified report"]]);
    assert.match(records[0]!.details, /^Unverified bounce report, not acted on .*claims HardBounce: .*User unknown/);
    assert.match(records[1]!.details, /^Unverified complaint report, not acted on .*claims SpamComplaint: Feedback-Type: abuse/);
    // Through the API: the message's events show the two records as Unknown bounces, never as a
    // hard bounce or a complaint; the message is not failed.
    const details = await pm.getOutboundMessageDetails(sent.id);
    const shown = details.MessageEvents.filter((e) => e.Recipient === victim && e.Type !== "Delivered").map((e) => [e.Type, (e.Details as unknown as Record<string, string>).BounceType, (e.Details as unknown as Record<string, string>).ClaimedBounceType]);
    assert.deepEqual(shown, [["Bounced", "Unknown", "HardBounce"], ["Bounced", "Unknown", "SpamComplaint"]]);
    assert.notEqual(details.Status, "Bounced");
    // The victim can still be mailed.
    await pm.sendEmail({ From: "billing@acme.test", To: victim, Subject: "still active", TextBody: "x" });
  });

  test("a report carrying a VERP address whose signature is wrong suppresses no one, in the envelope (refused) or in the original's Return-Path", async () => {
    const victim = "target@example.org";
    const sent = await sentToVictimAndMallory(victim, "eve@example.org");
    const forgedVerp = sent.victimVerp.replace(/\.([0-9a-f]+)@/, (_, sig: string) => `.${sig.replace(/^./, (c) => (c === "0" ? "1" : "0"))}@`);
    // Mallory's own valid signature on the victim's delivery id: the signature covers the id.
    const swapped = sent.victimVerp.replace(/\.[0-9a-f]+@/, `.${/\.([0-9a-f]+)@/.exec(sent.malloryVerp)![1]}@`);
    for (const verp of [forgedVerp, swapped]) {
      const atEnvelope = await sendRawSmtp(inboundPort, { from: "", to: [verp] }, buildDsn({ recipient: victim, returnPath: verp, messageId: sent.messageIdHeader }));
      assert.match(atEnvelope.rcpt[0]!, /^550 5\.7\.1 /);
      const inOriginal = await sendRawSmtp(inboundPort, { from: "", to: [`fbl@${RETURN_PATH_DOMAIN}`] }, buildComplaint({ recipient: victim, returnPath: verp, messageId: sent.messageIdHeader }));
      assert.match(inOriginal.data!, /^250 /);
      const dsnInOriginal = await sendRawSmtp(inboundPort, { from: "", to: [`postmaster@${RETURN_PATH_DOMAIN}`] }, buildDsn({ recipient: victim, returnPath: verp, messageId: sent.messageIdHeader }));
      assert.match(dsnInOriginal.data!, /^250 /);
    }
    assert.equal(await suppression(victim), undefined);
    assert.equal(await victimState(sent.id, victim), "delivered");
    assert.ok((await bouncesOf(sent.id)).every((b) => b.type === "Unknown" && b.inactive === 0));
  });

  test("forged VERP addresses and foreign recipients are refused at RCPT with 550 5.7.1 (never an open relay)", async () => {
    const sent = await deliver("ivan@example.net");
    const forged = sent.verp.replace(/\.([0-9a-f]+)@/, (_, sig: string) => `.${sig.replace(/^./, (c) => (c === "0" ? "1" : "0"))}@`);
    const result = await sendRawSmtp(
      inboundPort,
      { from: "spammer@evil.test", to: [forged, "victim@elsewhere.test", `bounce+1.0000000000@${RETURN_PATH_DOMAIN}`, "postmaster@elsewhere.test"] },
      "From: spammer@evil.test\r\nSubject: relay?\r\n\r\nhi\r\n",
    );
    for (const reply of result.rcpt) assert.match(reply, /^550 5\.7\.1 /);
    assert.equal(result.data, null);
    assert.equal((await bouncesOf(sent.id)).length, 0);
    const stored = await server.app.services.store.db.selectFrom("inbound_messages").select("id").execute();
    assert.equal(stored.length, 0);
  });

  test("a report that matches nothing, or is not a report, is accepted and dropped", async () => {
    const unknown = buildDsn({ recipient: "nobody@example.net", returnPath: `postmaster@${RETURN_PATH_DOMAIN}`, messageId: "not-ours@elsewhere.test" });
    const result = await sendRawSmtp(inboundPort, { from: "", to: [`postmaster@${RETURN_PATH_DOMAIN}`] }, unknown);
    assert.match(result.data!, /^250 /);
    const reply = await sendRawSmtp(inboundPort, { from: "person@example.net", to: [`abuse@${RETURN_PATH_DOMAIN}`] }, "From: person@example.net\r\nSubject: hello\r\n\r\nJust saying hi.\r\n");
    assert.match(reply.data!, /^250 /);
  });
});
