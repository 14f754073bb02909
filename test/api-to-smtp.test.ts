// End to end: the official postmark client against a listening Posthorn, delivering through
// Posthorn's MTA to a real SMTP server on loopback.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { ServerClient, Models } from "postmark";
import { simpleParser } from "mailparser";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { eventually } from "./support/eventually.js";

function client(server: TestServer, token: string): ServerClient {
  return new ServerClient(token, { useHttps: false, requestHost: server.url.replace(/^http:\/\//, ""), timeout: 30 });
}

describe("sending through the Postmark API to a real SMTP server", () => {
  let sink: SmtpSink;
  let server: TestServer;
  let token: string;

  before(async () => {
    sink = await startSmtpSink({
      rcptReply: (rcpt, attempt) => {
        if (rcpt.startsWith("greylist")) return attempt === 1 ? { code: 451, message: "4.7.1 Greylisted, try again later" } : null;
        if (rcpt.startsWith("unknown")) return { code: 550, message: "5.1.1 The email account that you tried to reach does not exist" };
        return null;
      },
    });
    server = await startTestServer({
      POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
      POSTHORN_RETRY_SCHEDULE: "300ms",
      // Envelope sender = From, so recipients of one message share a transaction; the VERP
      // default (one transaction per recipient) is covered in mx-delivery.test.ts.
      POSTHORN_VERP: "false",
    });
    token = await server.createWorkspace("acme");
  });

  after(async () => {
    await server.close();
    await sink.close();
  });

  test("delivers a message with attachments and reports the Delivered event with the remote reply", async () => {
    const pm = client(server, token);
    const sent = await pm.sendEmail({
      From: "Acme Support <support@acme.test>",
      To: "Ada Lovelace <ada@example.test>, bob@example.test",
      Cc: "carol@other.test",
      Bcc: "dave@example.test",
      Subject: "Your receipt ✓",
      TextBody: "Thanks for your order.",
      HtmlBody: '<p>Thanks for your order.</p><img src="cid:logo">',
      ReplyTo: "help@acme.test",
      Tag: "receipt",
      Headers: [{ Name: "X-Order", Value: "1234" }],
      Metadata: { order: "1234" },
      Attachments: [
        { Name: "receipt.txt", Content: Buffer.from("total: 42").toString("base64"), ContentType: "text/plain", ContentID: null as unknown as string },
        { Name: "logo.png", Content: Buffer.from("png-bytes").toString("base64"), ContentType: "image/png", ContentID: "cid:logo" },
      ],
      MessageStream: "outbound",
    });
    assert.equal(sent.ErrorCode, 0);
    assert.equal(sent.Message, "OK");
    assert.match(sent.MessageID, /^[0-9a-f-]{36}$/);

    // example.test recipients share one SMTP transaction; other.test gets its own.
    const received = await eventually(async () => {
      const mine = sink.messages.filter((m) => m.messageId?.includes(sent.MessageID));
      return mine.length === 2 ? mine : null;
    });
    const sameDomain = received.find((m) => m.rcptTo.length === 3)!;
    assert.deepEqual([...sameDomain.rcptTo].sort(), ["ada@example.test", "bob@example.test", "dave@example.test"]);
    assert.equal(sameDomain.mailFrom, "support@acme.test");

    const parsed = await simpleParser(sameDomain.raw);
    assert.equal(parsed.subject, "Your receipt ✓");
    assert.equal(parsed.text?.trim(), "Thanks for your order.");
    assert.match(String(parsed.html), /Thanks for your order/);
    assert.equal(parsed.headers.get("x-order"), "1234");
    assert.equal(parsed.headers.get("bcc"), undefined, "Bcc must not be written into the headers");
    assert.equal(parsed.replyTo?.value[0]?.address, "help@acme.test");
    assert.equal(parsed.messageId, `<${sent.MessageID}@posthorn.test>`);
    const byName = new Map(parsed.attachments.map((a) => [a.filename, a]));
    assert.equal(byName.get("receipt.txt")?.content.toString(), "total: 42");
    assert.equal(byName.get("logo.png")?.contentId, "<logo>");

    const details = await eventually(async () => {
      const d = await pm.getOutboundMessageDetails(sent.MessageID);
      return d.MessageEvents.filter((e) => e.Type === "Delivered").length === 4 ? d : null;
    });
    assert.equal(details.Status, "Sent");
    assert.equal(details.Tag, "receipt");
    assert.deepEqual(details.Metadata, { order: "1234" });
    const delivered = details.MessageEvents.find((e) => e.Recipient === "ada@example.test")!;
    assert.match(JSON.stringify(delivered.Details), /250 .*queued as test/);

    const dump = await pm.getOutboundMessageDump(sent.MessageID);
    assert.match(dump.Body, /Subject: /);

    const search = await pm.getOutboundMessages({ count: 10, offset: 0, recipient: "ADA@example.test", tag: "receipt" });
    assert.equal(Number(search.TotalCount), 1);
    assert.equal(search.Messages[0]!.MessageID, sent.MessageID);
    assert.deepEqual(search.Messages[0]!.Recipients, ["ada@example.test", "bob@example.test", "carol@other.test", "dave@example.test"]);
  });

  test("a deferred recipient is retried on the schedule and then delivered", async () => {
    const pm = client(server, token);
    const sent = await pm.sendEmail({ From: "a@acme.test", To: "greylist@example.test", Subject: "hi", TextBody: "hello" });
    const details = await eventually(async () => {
      const d = await pm.getOutboundMessageDetails(sent.MessageID);
      return d.MessageEvents.some((e) => e.Type === "Delivered") ? d : null;
    });
    const types = details.MessageEvents.map((e) => e.Type);
    assert.deepEqual(types, ["Transient", "Delivered"]);
    assert.match(JSON.stringify(details.MessageEvents[0]!.Details), /451 .*Greylisted/);
  });

  test("a hard bounce is recorded and suppresses the address for the next send", async () => {
    const pm = client(server, token);
    const sent = await pm.sendEmail({ From: "a@acme.test", To: "unknown@example.test", Subject: "hi", TextBody: "hello" });
    const details = await eventually(async () => {
      const d = await pm.getOutboundMessageDetails(sent.MessageID);
      return d.MessageEvents.some((e) => e.Type === "Bounced") ? d : null;
    });
    assert.match(JSON.stringify(details.MessageEvents[0]!.Details), /550 .*5\.1\.1/);

    await assert.rejects(
      pm.sendEmail({ From: "a@acme.test", To: "unknown@example.test", Subject: "again", TextBody: "hello" }),
      (err: { name: string; code: number; statusCode: number; recipients: string[] }) => {
        assert.equal(err.name, "InactiveRecipientsError");
        assert.equal(err.statusCode, 422);
        assert.equal(err.code, 406);
        assert.deepEqual(err.recipients, ["unknown@example.test"]);
        return true;
      },
    );

    // With another, active recipient the message is accepted and the inactive one reported.
    const partly = await pm.sendEmail({ From: "a@acme.test", To: "unknown@example.test, fine@example.test", Subject: "x", TextBody: "y" });
    assert.equal(partly.ErrorCode, 0);
    assert.equal(partly.Message, "Message OK, but will not deliver to these inactive addresses: unknown@example.test");
  });

  test("a batch answers each message in order, with its own ErrorCode", async () => {
    const pm = client(server, token);
    const results = await pm.sendEmailBatch([
      { From: "a@acme.test", To: "one@example.test", Subject: "1", TextBody: "1" },
      { From: "a@acme.test", To: "not-an-address", Subject: "2", TextBody: "2" },
      { From: "a@acme.test", To: "three@example.test", Subject: "3" },
      { From: "a@acme.test", To: "four@example.test", Subject: "4", HtmlBody: "<b>4</b>" },
    ]);
    assert.equal(results.length, 4);
    assert.equal(results[0]!.ErrorCode, 0);
    assert.equal(results[1]!.ErrorCode, 300);
    assert.match(results[1]!.Message, /Invalid 'To' address/);
    assert.equal(results[2]!.ErrorCode, 300);
    assert.equal(results[3]!.ErrorCode, 0);
    await eventually(async () => sink.messages.some((m) => m.rcptTo.includes("four@example.test")));
    assert.equal(sink.messages.some((m) => m.rcptTo.includes("three@example.test")), false);
  });

  test("a bad or missing token is refused with 401 and ErrorCode 10", async () => {
    await assert.rejects(client(server, "not-a-token").sendEmail({ From: "a@acme.test", To: "x@example.test", Subject: "s", TextBody: "t" }), (err: { name: string; code: number; statusCode: number }) => {
      assert.equal(err.name, "InvalidAPIKeyError");
      assert.equal(err.statusCode, 401);
      assert.equal(err.code, 10);
      return true;
    });
    const res = await fetch(`${server.url}/email`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { ErrorCode: 10, Message: "Request does not contain a valid Server token." });
  });

  test("the test token validates without accepting anything", async () => {
    const before = sink.messages.length;
    const pm = client(server, "POSTMARK_API_TEST");
    const sent = await pm.sendEmail({ From: "a@acme.test", To: "testtoken@example.test", Subject: "s", TextBody: "t" });
    assert.equal(sent.ErrorCode, 0);
    await assert.rejects(pm.sendEmail({ From: "a@acme.test", To: "bad", Subject: "s", TextBody: "t" }), { code: 300 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sink.messages.length, before);
    assert.equal(sink.messages.some((m) => m.rcptTo.includes("testtoken@example.test")), false);
  });

  test("a sandboxed workspace records messages and delivers nothing", async () => {
    const sandboxToken = await server.createWorkspace("sandboxed", { sandbox: true });
    const pm = client(server, sandboxToken);
    const sent = await pm.sendEmail({ From: "a@acme.test", To: "sandbox@example.test", Subject: "s", TextBody: "t" });
    assert.equal(sent.ErrorCode, 0);
    const details = await pm.getOutboundMessageDetails(sent.MessageID);
    assert.equal(details.Status, "Processed");
    assert.equal((details as unknown as { Sandboxed: boolean }).Sandboxed, true);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sink.messages.some((m) => m.rcptTo.includes("sandbox@example.test")), false);
    // Tenants are isolated: the other workspace cannot see this message.
    await assert.rejects(client(server, token).getOutboundMessageDetails(sent.MessageID), { statusCode: 422, code: 701 });
    await assert.rejects(client(server, token).getOutboundMessageDump(sent.MessageID), { statusCode: 422, code: 701 });
    const theirs = await client(server, token).getOutboundMessages({ count: 100, offset: 0, recipient: "sandbox@example.test" });
    assert.equal(Number(theirs.TotalCount), 0);
    const mine = await pm.getOutboundMessages({ count: 100, offset: 0, status: Models.OutboundMessageStatus.Processed });
    assert.deepEqual(mine.Messages.map((m) => m.MessageID), [sent.MessageID]);
  });
});

describe("Postmark HTTP conventions", () => {
  let server: TestServer;
  let token: string;
  before(async () => {
    server = await startTestServer({ POSTHORN_ROLES: "api" });
    token = await server.createWorkspace("conventions");
  });
  after(() => server.close());

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", "x-postmark-server-token": token, ...headers },
      body,
    });

  test("invalid JSON answers 422 with ErrorCode 402", async () => {
    const res = await post("/email", "{not json");
    assert.equal(res.status, 422);
    assert.equal(((await res.json()) as { ErrorCode: number }).ErrorCode, 402);
  });

  test("a body that is not JSON answers 422 with ErrorCode 409", async () => {
    const res = await post("/email", "From=a", { "content-type": "application/x-www-form-urlencoded" });
    assert.equal(res.status, 422);
    assert.equal(((await res.json()) as { ErrorCode: number }).ErrorCode, 409);
  });

  test("an empty JSON body is parsed as {} and validated", async () => {
    const res = await post("/email", "");
    assert.equal(res.status, 422);
    assert.equal(((await res.json()) as { ErrorCode: number }).ErrorCode, 300);
  });

  test("more than 500 messages in a batch answers ErrorCode 410", async () => {
    const one = { From: "a@acme.test", To: "b@example.test", Subject: "s", TextBody: "t" };
    const res = await post("/email/batch", JSON.stringify(Array.from({ length: 501 }, () => one)));
    assert.equal(res.status, 422);
    assert.equal(((await res.json()) as { ErrorCode: number }).ErrorCode, 410);
  });

  test("paths and query keys match case-insensitively, with or without a trailing slash", async () => {
    const ok = await post("/EMAIL/", JSON.stringify({ From: "a@acme.test", To: "b@example.test", Subject: "s", TextBody: "t", Tag: "caps" }));
    assert.equal(ok.status, 200);
    const res = await fetch(`${server.url}/Messages/Outbound?Count=5&OFFSET=0&tag=caps`, { headers: { "x-postmark-server-token": token } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { TotalCount: number };
    assert.equal(body.TotalCount, 1);
  });

  test("health and readiness", async () => {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
  });
});
