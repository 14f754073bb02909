// What the session puts on the wire and when: PIPELINING, the RFC 5321 §4.5.3.2 timeout of each
// phase, and TLS with SNI and certificate checks. Scripted servers and smtp-server on loopback.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { openSmtpSession, SmtpSessionError, type SmtpSessionOptions } from "./smtp.session.js";
import { startScriptedSmtpServer, type ScriptedSmtpOptions, type ScriptedSmtpServer } from "../testing/scripted-smtp-server.js";
import { TEST_CA_PEM } from "../testing/test-certificates.js";
import { startTlsSmtpSink } from "../testing/tls-smtp-sink.js";

const RAW = Buffer.from("From: a@sender.test\r\nTo: b@dest.test\r\nSubject: hi\r\n\r\nHello.\r\n");

async function withScripted(options: ScriptedSmtpOptions, run: (server: ScriptedSmtpServer) => Promise<void>): Promise<void> {
  const server = await startScriptedSmtpServer(options);
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

function optionsFor(port: number, extra: Partial<SmtpSessionOptions> = {}): SmtpSessionOptions {
  return { host: "mx.dest.test", address: "127.0.0.1", port, hostname: "out.posthorn.test", ...extra };
}

async function sessionError(promise: Promise<unknown>): Promise<SmtpSessionError> {
  const err = await promise.then(
    () => assert.fail("expected the promise to reject"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SmtpSessionError, `expected SmtpSessionError, got ${String(err)}`);
  return err;
}

describe("SMTP session: pipelining and phase timeouts", () => {
  it("sends MAIL, every RCPT and DATA in one write when the server offers PIPELINING", async () => {
    await withScripted({ extensions: ["PIPELINING"], replies: { MAIL: { reply: "250 2.1.0 OK", delayMs: 50 } } }, async (server) => {
      const session = await openSmtpSession(optionsFor(server.port));
      assert.equal(session.pipelining, true);
      const replies = await session.send("s@sender.test", ["a@dest.test", "b@dest.test"], RAW);
      assert.deepEqual(replies.map((r) => r.reply.code), [250, 250]);
      const envelope = server.commands.filter((c) => /^(MAIL|RCPT|DATA)/.test(c));
      assert.deepEqual(envelope.map((c) => server.batchSizes.get(c)), [4, 4, 4, 4], "one read held the whole envelope");
      await session.quit();
    });
  });

  it("waits for each reply without PIPELINING", async () => {
    await withScripted({}, async (server) => {
      const session = await openSmtpSession(optionsFor(server.port));
      assert.equal(session.pipelining, false);
      await session.send("s@sender.test", ["a@dest.test", "b@dest.test"], RAW);
      const envelope = server.commands.filter((c) => /^(MAIL|RCPT|DATA)/.test(c));
      assert.deepEqual(envelope.map((c) => server.batchSizes.get(c)), [1, 1, 1, 1]);
      session.close();
    });
  });

  const silentCases: Array<{ name: string; script: ScriptedSmtpOptions; expected: RegExp; bodySent: boolean }> = [
    { name: "MAIL", script: { replies: { MAIL: "silent" } }, expected: /^MAIL timed out after 150 ms/, bodySent: false },
    { name: "RCPT", script: { replies: { RCPT: "silent" } }, expected: /^RCPT timed out after 150 ms/, bodySent: false },
    { name: "DATA initiation", script: { replies: { DATA: "silent" } }, expected: /^DATA initiation timed out after 150 ms/, bodySent: false },
    { name: "DATA termination", script: { dataEnd: "silent" }, expected: /^DATA termination timed out after 150 ms/, bodySent: true },
  ];
  for (const { name, script, expected, bodySent } of silentCases) {
    it(`gives up on a server silent at ${name} after that phase's timeout`, async () => {
      for (const extensions of [[], ["PIPELINING"]]) {
        await withScripted({ ...script, extensions }, async (server) => {
          const timeouts = { mailMs: 150, rcptMs: 150, dataInitMs: 150, dataEndMs: 150 };
          const session = await openSmtpSession(optionsFor(server.port, { timeouts }));
          const started = Date.now();
          const err = await sessionError(session.send("s@sender.test", ["a@dest.test"], RAW));
          assert.equal(err.code, "ETIMEDOUT");
          assert.match(err.message, expected);
          assert.equal(err.bodySent, bodySent);
          assert.ok(Date.now() - started < 1_500);
          assert.equal(session.open, false);
        });
      }
    });
  }

  it("lets a slow answer to the end of DATA take longer than the short MAIL and RCPT limits", async () => {
    await withScripted({ extensions: ["PIPELINING"], dataEnd: { reply: "250 2.0.0 queued after a scan", delayMs: 400 } }, async (server) => {
      const timeouts = { mailMs: 100, rcptMs: 100, dataInitMs: 100, dataBlockMs: 100, dataEndMs: 2_000 };
      const session = await openSmtpSession(optionsFor(server.port, { timeouts }));
      const replies = await session.send("s@sender.test", ["a@dest.test"], RAW);
      assert.equal(replies[0]?.reply.text, "250 2.0.0 queued after a scan");
      // Idle between messages does not count against the next message's MAIL limit.
      await new Promise((r) => setTimeout(r, 250));
      assert.equal((await session.send("s@sender.test", ["b@dest.test"], RAW))[0]?.reply.code, 250);
      await session.quit();
    });
  });
});

describe("SMTP session: TLS", () => {
  it("sends the MX host name as SNI, not the address it connects to", async () => {
    const sink = await startTlsSmtpSink();
    try {
      const session = await openSmtpSession(optionsFor(sink.port, { host: "mx.sts.test" }));
      await session.send("s@sender.test", ["a@sts.test"], RAW);
      assert.deepEqual(sink.messages.map((m) => m.servername), ["mx.sts.test"]);
      assert.equal(session.tls, true);
      assert.equal(session.tlsVerified, false, "the test CA is not trusted unless given");
      await session.quit();
    } finally {
      await sink.close();
    }
  });

  it("verifies the certificate against the MX name in verify mode, and refuses a mismatch", async () => {
    const sink = await startTlsSmtpSink();
    try {
      const good = await openSmtpSession(optionsFor(sink.port, { host: "mx.sts.test", tls: "verify", ca: TEST_CA_PEM }));
      assert.equal(good.tlsVerified, true);
      await good.send("s@sender.test", ["a@sts.test"], RAW);
      await good.quit();

      const wrongName = await sessionError(openSmtpSession(optionsFor(sink.port, { host: "mx.elsewhere.test", tls: "verify", ca: TEST_CA_PEM })));
      assert.equal(wrongName.code, "ETLS");
      assert.match(wrongName.message, /certificate valid for mx\.elsewhere\.test is required.*not sent in cleartext/);
      const untrusted = await sessionError(openSmtpSession(optionsFor(sink.port, { host: "mx.sts.test", tls: "verify" })));
      assert.equal(untrusted.code, "ETLS");

      // Opportunistic TLS still encrypts to the mismatched name, and says it is not verified.
      const opportunistic = await openSmtpSession(optionsFor(sink.port, { host: "mx.elsewhere.test", ca: TEST_CA_PEM }));
      assert.equal(opportunistic.tls, true);
      assert.equal(opportunistic.tlsVerified, false);
      await opportunistic.send("s@sender.test", ["b@sts.test"], RAW);
      await opportunistic.quit();
      assert.equal(sink.messages.length, 2);
    } finally {
      await sink.close();
    }
  });
});
