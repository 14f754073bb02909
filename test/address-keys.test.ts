// Internationalised addresses end to end: a hard bounce of an address with a Unicode domain
// suppresses it, however the next message spells it (case, Unicode or A-label domain), whether the
// bounce came during our SMTP session or by mail later, and whichever door the mail came in by.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { ServerClient } from "postmark";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { sendRawSmtp } from "./support/smtp-client.js";
import { eventually } from "./support/eventually.js";
import { openSmtpDialog } from "../src/smtp/testing/smtp-dialog.js";
import { buildDsn } from "../src/bounces/testing/bounce-fixtures.js";

const noDns = async (name: string) => {
  throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: "ENOTFOUND" });
};

describe("suppressions of internationalised addresses", () => {
  let sink: SmtpSink;
  let server: TestServer;
  let pm: ServerClient;

  before(async () => {
    // bücher.de is xn--bcher-kva.de (smtp-server shows RCPT domains in their Unicode form).
    sink = await startSmtpSink({ rcptReply: (rcpt) => (/@(xn--bcher-kva|bücher)\.de$/i.test(rcpt) ? { code: 550, message: "5.1.1 No such user here" } : null) });
    server = await startTestServer(
      {
        POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
        POSTHORN_SMTP_HOST: "127.0.0.1",
        POSTHORN_SMTP_TRUSTED_NETWORKS: "127.0.0.0/8=acme",
        POSTHORN_INBOUND_PORT: "0",
        POSTHORN_INBOUND_HOST: "127.0.0.1",
        POSTHORN_RETURN_PATH_DOMAIN: "bounces.posthorn.test",
      },
      { inboundDns: noDns },
    );
    const token = await server.createWorkspace("acme");
    pm = new ServerClient(token, { useHttps: false, requestHost: server.url.replace(/^http:\/\//, "") });
  });

  after(async () => {
    await server.close();
    await sink.close();
  });

  test("a hard bounce during delivery to User@Bücher.de refuses the next message to user@BÜCHER.DE and to the A-label form", async () => {
    const sent = await pm.sendEmail({ From: "app@acme.test", To: "User@Bücher.de", Subject: "Welcome", TextBody: "Hello" });
    await eventually(async () => (await pm.getOutboundMessageDetails(sent.MessageID)).MessageEvents.some((e) => e.Type === "Bounced"));
    for (const spelling of ["user@BÜCHER.DE", "USER@xn--bcher-kva.de", " User@Bücher.de "]) {
      await assert.rejects(pm.sendEmail({ From: "app@acme.test", To: spelling, Subject: "Again", TextBody: "Hello" }), /inactive/, spelling);
    }
  });

  test("a bounce reported by mail for mail submitted over SMTP to Eve@München.example suppresses eve@münchen.example", async () => {
    // Submitted with a Unicode domain (SMTPUTF8, RFC 6531) by a trusted client.
    const dialog = await openSmtpDialog(server.app.smtp!.submission[0]!.port);
    let queued: string;
    try {
      await dialog.command("EHLO app.acme.test");
      assert.match(await dialog.command("MAIL FROM:<app@acme.test> SMTPUTF8"), /^250/);
      assert.match(await dialog.command("RCPT TO:<Eve@München.example>"), /^250/);
      assert.match(await dialog.command("DATA"), /^354/);
      queued = await dialog.data(Buffer.from("From: app@acme.test\r\nTo: Eve@München.example\r\nSubject: Hallo\r\n\r\nHallo\r\n.\r\n", "utf8"));
    } finally {
      dialog.close();
    }
    const id = /queued as ([0-9a-f-]{36})/.exec(queued)![1]!;
    const received = await eventually(async () => sink.messages.find((m) => m.messageId?.includes(id)));
    const details = await eventually(async () => {
      const d = await pm.getOutboundMessageDetails(id);
      return d.Status === "Sent" ? d : null;
    });
    // Stored and delivered with the A-label domain, as API mail is.
    assert.deepEqual(details.MessageEvents.map((e) => [e.Type, e.Recipient]), [["Delivered", "Eve@xn--mnchen-3ya.example"]]);

    // The remote's report names the recipient as it knew it.
    const dsn = buildDsn({ recipient: "eve@xn--mnchen-3ya.example", returnPath: received.mailFrom, messageId: `${id}@posthorn.test` });
    const result = await sendRawSmtp(server.app.smtp!.inbound!.port, { from: "", to: [received.mailFrom] }, dsn);
    assert.match(result.data!, /^250 /);
    await assert.rejects(pm.sendEmail({ From: "app@acme.test", To: "eve@münchen.example", Subject: "Again", TextBody: "Hello" }), /inactive/);
  });
});
