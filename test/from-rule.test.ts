// The From rule on both doors (Postmark API and SMTP submission) of a running Posthorn: a live
// workspace sends only From a confirmed sender signature or an address on a DKIM-verified sending
// domain; sandbox workspaces, the test token and trusted SMTP networks are not judged; the
// operator's switch turns the rule off.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import { AccountClient, ServerClient } from "postmark";
import { PostmarkTransport } from "nodemailer-postmark-transport";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { confirmationLinkFor, confirmByLink } from "./support/sender-confirmation.js";
import { startDnsZoneServer, type DnsZoneServer } from "../src/sending-domains/testing/dns-zone-server.js";
import { failure } from "../src/api/postmark/testing/client-failure.js";

const notSignature = (from: string) =>
  `The 'From' address you supplied (${from}) is not a Sender Signature on your account. Please add and confirm this address in order to be able to use it in the 'From' field of your messages.`;

function serverClient(server: TestServer, token: string): ServerClient {
  return new ServerClient(token, { useHttps: false, requestHost: server.url.replace(/^http:\/\//, ""), timeout: 30 });
}

describe("the From rule", () => {
  let sink: SmtpSink;
  let dns: DnsZoneServer;
  let server: TestServer;
  let account: AccountClient;
  let live: ServerClient;
  let liveToken: string;
  let smtpPort: number;

  before(async () => {
    sink = await startSmtpSink();
    dns = await startDnsZoneServer();
    server = await startTestServer({
      POSTHORN_REQUIRE_VERIFIED_FROM: "true",
      POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
      POSTHORN_DNS_SERVERS: dns.address,
      POSTHORN_SMTP_TRUSTED_NETWORKS: "127.0.0.2/32=relay",
    });
    account = new AccountClient(await server.app.services.workspaces.createAccountToken(), { useHttps: false, requestHost: server.url.replace(/^http:\/\//, ""), timeout: 30 });
    liveToken = await server.createWorkspace("live");
    await server.createWorkspace("relay");
    live = serverClient(server, liveToken);
    smtpPort = server.app.smtp!.submission[0]!.port;
  });

  after(async () => {
    await server.close();
    await sink.close();
    await dns.close();
  });

  function smtp(options: { auth?: boolean; localAddress?: string }) {
    return nodemailer.createTransport({
      host: "127.0.0.1",
      port: smtpPort,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      ...(options.auth ? { auth: { user: liveToken, pass: liveToken } } : {}),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    } as SMTPTransport.Options);
  }

  async function smtpRefusal(from: string, options: { auth?: boolean; localAddress?: string } = { auth: true }): Promise<{ responseCode: number; response: string }> {
    try {
      await smtp(options).sendMail({ from, to: "ada@example.test", subject: "s", text: "t" });
    } catch (err) {
      return err as { responseCode: number; response: string };
    }
    throw new Error("SMTP accepted the message");
  }

  test("an unknown From is refused on the API (422, ErrorCode 400, Postmark's text), in a batch per message, and on SMTP (550 5.7.1)", async () => {
    const refused = await failure(live.sendEmail({ From: "Shop <hello@unknown.example.test>", To: "ada@example.test", Subject: "s", TextBody: "t" }));
    assert.deepEqual(refused, { name: "ApiInputError", statusCode: 422, code: 400, message: notSignature("hello@unknown.example.test") });

    const batch = await live.sendEmailBatch([
      { From: "hello@unknown.example.test", To: "ada@example.test", Subject: "1", TextBody: "1" },
      { From: "hello@unknown.example.test", To: "bob@example.test", Subject: "2", TextBody: "2" },
    ]);
    assert.deepEqual(batch.map((r) => r.ErrorCode), [400, 400]);

    const reply = await smtpRefusal("hello@unknown.example.test");
    assert.equal(reply.responseCode, 550);
    assert.match(reply.response, /^550 5\.7\.1 The 'From' address you supplied \(hello@unknown\.example\.test\) is not a Sender Signature/);
    const rows = await server.app.services.store.db.selectFrom("messages").select("id").where("workspace_id", "=", (await server.app.services.workspaces.get("live")).id).execute();
    assert.equal(rows.length, 0);
  });

  test("a signature is refused until confirmed (ErrorCode 401), then allowed on both doors, in any case of the address", async () => {
    const created = await account.createSenderSignature({ FromEmail: "news@signed.example.test", Name: "News" });
    const unconfirmed = await failure(live.sendEmail({ From: "news@signed.example.test", To: "ada@example.test", Subject: "s", TextBody: "t" }));
    assert.deepEqual([unconfirmed.statusCode, unconfirmed.code], [422, 401]);
    assert.match(unconfirmed.message, /\(news@signed\.example\.test\) is a Sender Signature that has not been confirmed yet/);
    assert.equal((await smtpRefusal("news@signed.example.test")).responseCode, 550);
    // Another address of the same domain is no signature.
    assert.equal((await failure(live.sendEmail({ From: "other@signed.example.test", To: "ada@example.test", Subject: "s", TextBody: "t" }))).code, 400);

    await confirmByLink(server.url, await confirmationLinkFor(sink, "news@signed.example.test"));
    assert.equal((await account.getSenderSignature(created.ID)).Confirmed, true);
    const sent = await live.sendEmail({ From: "News <NEWS@Signed.Example.test>", To: "ada@example.test", Subject: "s", TextBody: "t" });
    assert.equal(sent.ErrorCode, 0);
    const info = await smtp({ auth: true }).sendMail({ from: "news@signed.example.test", to: "ada@example.test", subject: "s", text: "t" });
    assert.match(info.response, /^250 /);
    assert.equal((await failure(live.sendEmail({ From: "other@signed.example.test", To: "ada@example.test", Subject: "s", TextBody: "t" }))).code, 400);

    // Deleted: refused again at once (this process forgets what it remembered).
    await account.deleteSenderSignature(created.ID);
    assert.equal((await failure(live.sendEmail({ From: "news@signed.example.test", To: "ada@example.test", Subject: "s", TextBody: "t" }))).code, 400);
  });

  test("any address of a DKIM-verified domain is allowed; not before verification, and not its subdomains", async () => {
    const domain = await account.createDomain({ Name: "verified.example.test" });
    // Created, key pending: not verified yet.
    assert.equal((await failure(live.sendEmail({ From: "a@verified.example.test", To: "ada@example.test", Subject: "s", TextBody: "t" }))).code, 400);
    dns.zone[domain.DKIMPendingHost] = { TXT: [domain.DKIMPendingTextValue] };
    assert.equal((await account.verifyDomainDKIM(domain.ID)).DKIMVerified, true);
    for (const from of ["a@verified.example.test", "Anyone Else <b@VERIFIED.example.test>"]) {
      assert.equal((await live.sendEmail({ From: from, To: "ada@example.test", Subject: "s", TextBody: "t" })).ErrorCode, 0, from);
    }
    const info = await smtp({ auth: true }).sendMail({ from: "c@verified.example.test", to: "ada@example.test", subject: "s", text: "t" });
    assert.match(info.response, /^250 /);
    // The From header is judged, not the envelope sender.
    const headerUnknown = await smtp({ auth: true })
      .sendMail({ envelope: { from: "c@verified.example.test", to: ["ada@example.test"] }, from: "x@unknown.example.test", to: "ada@example.test", subject: "s", text: "t" })
      .then(() => null, (err: { responseCode: number }) => err.responseCode);
    assert.equal(headerUnknown, 550);
    assert.equal((await failure(live.sendEmail({ From: "a@news.verified.example.test", To: "ada@example.test", Subject: "s", TextBody: "t" }))).code, 400);
  });

  test("a second client library (nodemailer-postmark-transport) meets the same rule: refused with ErrorCode 400, then allowed", async () => {
    const mailer = nodemailer.createTransport(new PostmarkTransport({ auth: { apiKey: liveToken }, postmarkOptions: { useHttps: false, requestHost: server.url.replace(/^http:\/\//, "") } }));
    const refused = await mailer.sendMail({ from: "team@second.example.test", to: "ada@example.test", subject: "s", text: "t" }).then(
      () => null,
      (err: { code: number; statusCode: number }) => [err.statusCode, err.code],
    );
    assert.deepEqual(refused, [422, 400]);
    await account.createSenderSignature({ FromEmail: "team@second.example.test", Name: "Team" });
    await confirmByLink(server.url, await confirmationLinkFor(sink, "team@second.example.test"));
    const sent = (await mailer.sendMail({ from: "team@second.example.test", to: "ada@example.test", subject: "s", text: "t" })) as unknown as { accepted: unknown[]; rejected: unknown[] };
    assert.deepEqual([sent.accepted.length, sent.rejected.length], [1, 0]);
  });

  test("not judged: sandbox workspaces, the test token, and SMTP clients of a trusted network", async () => {
    const sandbox = serverClient(server, await server.createWorkspace("sandboxed", { sandbox: true }));
    assert.equal((await sandbox.sendEmail({ From: "anyone@unknown.example.test", To: "ada@example.test", Subject: "s", TextBody: "t" })).ErrorCode, 0);
    const testToken = serverClient(server, "POSTMARK_API_TEST");
    assert.equal((await testToken.sendEmail({ From: "anyone@unknown.example.test", To: "ada@example.test", Subject: "s", TextBody: "t" })).ErrorCode, 0);
    // 127.0.0.2 is the trusted network of the live workspace "relay": no AUTH, not judged.
    const info = await smtp({ localAddress: "127.0.0.2" }).sendMail({ from: "anyone@unknown.example.test", to: "ada@example.test", subject: "s", text: "t" });
    assert.match(info.response, /^250 /);
    // The same client authenticating as a live workspace is judged.
    assert.equal((await smtpRefusal("anyone@unknown.example.test", { auth: true, localAddress: "127.0.0.2" })).responseCode, 550);
  });
});

describe("the From rule switched off (POSTHORN_REQUIRE_VERIFIED_FROM=false)", () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ POSTHORN_REQUIRE_VERIFIED_FROM: "false" });
  });

  after(async () => {
    await server.close();
  });

  test("a live workspace sends From any address", async () => {
    const live = serverClient(server, await server.createWorkspace("live"));
    assert.equal((await live.sendEmail({ From: "anyone@unknown.example.test", To: "ada@example.test", Subject: "s", TextBody: "t" })).ErrorCode, 0);
  });
});
