import { describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { openSmtpSession, parseSmtpReply, SmtpSessionError, type SmtpSessionOptions } from "./smtp.session.js";
import { startSmtpTestSink, type SmtpTestSink, type SmtpTestSinkOptions } from "../testing/smtp-test-sink.js";

const RAW = Buffer.from("From: a@sender.test\r\nTo: b@dest.test\r\nSubject: hi\r\n\r\nHello.\r\n.leading dot\r\n");

async function withSink(options: SmtpTestSinkOptions, run: (sink: SmtpTestSink) => Promise<void>): Promise<void> {
  const sink = await startSmtpTestSink(options);
  try {
    await run(sink);
  } finally {
    await sink.close();
  }
}

function sessionOptions(sink: { host: string; port: number }, extra: Partial<SmtpSessionOptions> = {}): SmtpSessionOptions {
  return { host: "mx.dest.test", address: sink.host, port: sink.port, hostname: "out.posthorn.test", ...extra };
}

async function expectSessionError(promise: Promise<unknown>): Promise<SmtpSessionError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SmtpSessionError, `expected SmtpSessionError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected the promise to reject");
}

describe("parseSmtpReply", () => {
  it("reads the code, the enhanced status and keeps the whole multi-line text", () => {
    const reply = parseSmtpReply("550-5.1.1 The email account that you tried to reach does not exist.\n550 5.1.1 https://support.google.com/mail/?p=NoSuchUser x1-20020a.123 - gsmtp\r\n");
    assert.equal(reply.code, 550);
    assert.equal(reply.enhanced, "5.1.1");
    assert.match(reply.text, /^550-5\.1\.1 The email account.*\n550 5\.1\.1 https/s);
  });

  it("leaves enhanced null when the server sent none, and code 0 for garbage", () => {
    assert.deepEqual(parseSmtpReply("554 delivery error: dd This user doesn't have a yahoo.com account"), {
      code: 554,
      enhanced: null,
      text: "554 delivery error: dd This user doesn't have a yahoo.com account",
    });
    assert.equal(parseSmtpReply("5.1.1 no code").code, 0);
    assert.equal(parseSmtpReply("250 2.6.0 <id@host> Queued").enhanced, "2.6.0");
    assert.equal(parseSmtpReply("451 4.7.650 The mail server has been temporarily rate limited").enhanced, "4.7.650");
  });
});

describe("SMTP session", () => {
  it("delivers one message to three recipients in one transaction, EHLO with our hostname", async () => {
    let ehloName = "";
    await withSink({ mailFrom: (_a, session) => void (ehloName = session.hostNameAppearsAs) }, async (sink) => {
      const session = await openSmtpSession(sessionOptions(sink));
      const replies = await session.send("bounce@sender.test", ["a@dest.test", "b@dest.test", "c@dest.test"], RAW);
      assert.deepEqual(replies.map((r) => [r.recipient, r.reply.code, r.reply.enhanced]), [
        ["a@dest.test", 250, "2.0.0"],
        ["b@dest.test", 250, "2.0.0"],
        ["c@dest.test", 250, "2.0.0"],
      ]);
      assert.equal(sink.messages.length, 1);
      assert.deepEqual(sink.messages[0]?.to, ["a@dest.test", "b@dest.test", "c@dest.test"]);
      assert.equal(sink.messages[0]?.raw.toString(), RAW.toString(), "dot-stuffing is undone by the server");
      assert.equal(ehloName, "out.posthorn.test");
      assert.equal(session.tls, false);
      assert.equal(session.remoteIp, "127.0.0.1");
      await session.quit();
      assert.equal(session.open, false);
    });
  });

  it("reports each recipient's own RCPT reply next to the DATA reply of the accepted ones", async () => {
    const rcptTo = (address: string) => (address.startsWith("unknown") ? "550 5.1.1 User unknown" : address.startsWith("full") ? "452 4.2.2 Mailbox full" : undefined);
    await withSink({ rcptTo }, async (sink) => {
      const session = await openSmtpSession(sessionOptions(sink));
      const replies = await session.send("s@sender.test", ["ok@dest.test", "unknown@dest.test", "full@dest.test"], RAW);
      assert.deepEqual(replies.map((r) => r.reply.text), ["250 2.0.0 queued", "550 5.1.1 User unknown", "452 4.2.2 Mailbox full"]);
      assert.deepEqual(sink.messages[0]?.to, ["ok@dest.test"]);
      assert.equal(session.needsReset, false);
      session.close();
    });
  });

  it("returns every refusal when all recipients are refused, then resets and carries the next message", async () => {
    const rcptTo = (address: string) => (address.startsWith("unknown") ? "550 5.1.1 User unknown" : undefined);
    await withSink({ rcptTo }, async (sink) => {
      const session = await openSmtpSession(sessionOptions(sink));
      const refused = await session.send("s@sender.test", ["unknown1@dest.test", "unknown2@dest.test"], RAW);
      assert.deepEqual(refused.map((r) => r.reply.code), [550, 550]);
      assert.equal(session.needsReset, true);
      await session.reset();
      assert.equal(session.needsReset, false);
      const accepted = await session.send("s@sender.test", ["ok@dest.test"], RAW);
      assert.equal(accepted[0]?.reply.code, 250);
      assert.equal(sink.stats.connections, 1);
      assert.equal(session.messagesSent, 2);
      await session.quit();
    });
  });

  it("gives every recipient the MAIL FROM refusal, and the DATA refusal to the accepted ones", async () => {
    await withSink({ mailFrom: () => "550 5.7.1 Sender rejected" }, async (sink) => {
      const session = await openSmtpSession(sessionOptions(sink));
      const replies = await session.send("s@sender.test", ["a@dest.test", "b@dest.test"], RAW);
      assert.deepEqual(replies.map((r) => r.reply.text), ["550 5.7.1 Sender rejected", "550 5.7.1 Sender rejected"]);
      session.close();
    });
    await withSink({ data: () => "451 4.7.1 Greylisted, try again later" }, async (sink) => {
      const session = await openSmtpSession(sessionOptions(sink));
      const replies = await session.send("s@sender.test", ["a@dest.test", "b@dest.test"], RAW);
      assert.deepEqual(replies.map((r) => r.reply.code), [451, 451]);
      // The transaction ended with the DATA reply: the next MAIL needs no RSET.
      assert.equal(session.needsReset, false);
      assert.equal((await session.send("s@sender.test", ["c@dest.test"], RAW))[0]?.reply.code, 451);
      session.close();
    });
  });

  it("answers an address that cannot be sent with 553 and sends the rest", async () => {
    await withSink({}, async (sink) => {
      const session = await openSmtpSession(sessionOptions(sink));
      const replies = await session.send("s@sender.test", ["ok@dest.test", "bad>\r\nRSET@dest.test"], RAW);
      assert.deepEqual(replies.map((r) => [r.reply.code, r.reply.enhanced]), [[250, "2.0.0"], [553, "5.1.3"]]);
      assert.deepEqual(sink.messages[0]?.to, ["ok@dest.test"]);
      session.close();
    });
  });

  it("sends MAIL FROM:<> for a null reverse-path", async () => {
    await withSink({}, async (sink) => {
      const session = await openSmtpSession(sessionOptions(sink));
      await session.send("", ["a@dest.test"], RAW);
      assert.equal(sink.messages[0]?.from, "");
      session.close();
    });
  });

  it("does not send a message larger than the SIZE the server announced", async () => {
    await withSink({ sizeLimit: 100 }, async (sink) => {
      const session = await openSmtpSession(sessionOptions(sink));
      const replies = await session.send("s@sender.test", ["a@dest.test"], Buffer.alloc(500, "a"));
      assert.equal(replies[0]?.reply.code, 552);
      assert.equal(replies[0]?.reply.enhanced, "5.3.4");
      assert.equal(sink.messages.length, 0);
      assert.equal((await session.send("s@sender.test", ["a@dest.test"], RAW))[0]?.reply.code, 250, "the session stays usable");
      session.close();
    });
  });

  it("uses STARTTLS when offered, accepting the self-signed certificate", async () => {
    await withSink({ starttls: true }, async (sink) => {
      const session = await openSmtpSession(sessionOptions(sink));
      assert.equal(session.tls, true);
      await session.send("s@sender.test", ["a@dest.test"], RAW);
      assert.equal(sink.messages[0]?.secure, true);
      await session.quit();
    });
  });

  it("falls back to cleartext when the TLS handshake fails (opportunistic TLS)", async () => {
    await withSink({ starttls: true, tlsMaxVersion: "TLSv1.1" }, async (sink) => {
      const session = await openSmtpSession(sessionOptions(sink));
      assert.equal(session.tls, false);
      assert.equal((await session.send("s@sender.test", ["a@dest.test"], RAW))[0]?.reply.code, 250);
      assert.equal(sink.messages[0]?.secure, false);
      assert.equal(sink.stats.connections, 2, "the failed handshake, then a session without STARTTLS");
      session.close();
    });
  });

  it("fails rather than send in cleartext when TLS is required and the server offers no STARTTLS", async () => {
    await withSink({}, async (sink) => {
      for (const tls of ["encrypt", "verify"] as const) {
        const err = await expectSessionError(openSmtpSession(sessionOptions(sink, { tls })));
        assert.equal(err.phase, "setup");
        assert.equal(err.code, "ETLS");
        assert.match(err.message, /TLS.* is required for this destination, not sent in cleartext/);
      }
      assert.equal(sink.messages.length, 0);
    });
  });

  it("does not fall back to cleartext after a failed TLS handshake when TLS is required", async () => {
    await withSink({ starttls: true, tlsMaxVersion: "TLSv1.1" }, async (sink) => {
      const err = await expectSessionError(openSmtpSession(sessionOptions(sink, { tls: "encrypt" })));
      assert.equal(err.code, "ETLS");
      assert.match(err.message, /not sent in cleartext/);
      assert.equal(sink.stats.connections, 1, "no second, cleartext connection");
      assert.equal(sink.messages.length, 0);
    });
  });

  it("fails with a connect-phase error when the connection is refused", async () => {
    const port = await unusedPort();
    const err = await expectSessionError(openSmtpSession({ host: "mx.dest.test", address: "127.0.0.1", port, hostname: "h.test" }));
    assert.equal(err.phase, "connect");
    assert.equal(err.code, "ECONNREFUSED");
  });

  it("fails with a setup-phase error carrying the reply on a 421 greeting", async () => {
    await withSink({ greeting: "421 4.3.2 Too busy, come back later" }, async (sink) => {
      const err = await expectSessionError(openSmtpSession(sessionOptions(sink)));
      assert.equal(err.phase, "setup");
      assert.equal(err.reply?.code, 421);
      assert.equal(err.reply?.enhanced, "4.3.2");
    });
  });

  it("times out a server that never greets", async () => {
    const accepted: net.Socket[] = [];
    const silent = net.createServer((socket) => void accepted.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      const err = await expectSessionError(
        openSmtpSession({ host: "mx.dest.test", address: "127.0.0.1", port, hostname: "h.test", timeouts: { greetingMs: 200 } }),
      );
      assert.equal(err.phase, "setup");
      assert.equal(err.code, "ETIMEDOUT");
      assert.ok(Date.now() - started < 2_000);
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it("reports a connection dropped after the message was sent as a failure with bodySent", async () => {
    await withSink({ data: () => "drop" }, async (sink) => {
      const session = await openSmtpSession(sessionOptions(sink));
      const err = await expectSessionError(session.send("s@sender.test", ["a@dest.test"], RAW));
      assert.equal(err.phase, "transaction");
      assert.equal(err.bodySent, true);
      assert.equal(session.open, false);
      assert.equal(sink.messages.length, 1, "the server did read the message");
    });
  });

  it("times out a server that does not answer the end of DATA within dataEndMs", async () => {
    await withSink({ dataDelayMs: 600 }, async (sink) => {
      const session = await openSmtpSession(sessionOptions(sink, { timeouts: { dataEndMs: 200 } }));
      const err = await expectSessionError(session.send("s@sender.test", ["a@dest.test"], RAW));
      assert.equal(err.code, "ETIMEDOUT");
      assert.match(err.message, /DATA termination timed out after 200 ms/);
      assert.equal(err.bodySent, true);
    });
  });

  it("notices when the server closes an idle connection", async () => {
    await withSink({}, async (sink) => {
      const session = await openSmtpSession(sessionOptions(sink));
      const closed = new Promise<void>((resolve) => session.onClose(resolve));
      await sink.close();
      await closed;
      assert.equal(session.open, false);
      const err = await expectSessionError(session.send("s@sender.test", ["a@dest.test"], RAW));
      assert.equal(err.bodySent, false);
    });
  });
});

async function unusedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
