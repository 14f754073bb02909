// The submission listener over real SMTP on loopback: nodemailer's client for whole sessions, a
// line-level dialog for exact replies. The domain is a fake accept function behind the listener's
// accept signature; test/smtp-submission.test.ts runs the real acceptance.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import { PosthornError } from "../shared/errors.js";
import { openSmtpDialog } from "./testing/smtp-dialog.js";
import { ACME, BENCH, ENHANCED_REPLY, MESSAGE, TOKEN, removeHarnessDirs, smtpError, start, transport } from "./testing/submission-harness.js";

after(removeHarnessDirs);


describe("SMTP submission: authentication and TLS", () => {
  test("accepts a message after STARTTLS and AUTH PLAIN with the server token, verifying the generated certificate", async () => {
    const h = await start();
    try {
      const info = await transport(h, { authMethod: "PLAIN" }).sendMail(MESSAGE);
      assert.match(info.response, /^250 2\.0\.0 OK: queued as 00000000-0000-4000-8000-000000000001$/);
      assert.equal(h.submissions.length, 1);
      const { workspace, submission } = h.submissions[0]!;
      assert.equal(workspace.id, ACME.id);
      assert.equal(submission.envelopeFrom, "support@acme.test");
      assert.deepEqual(submission.recipients, ["ada@example.test"]);
      assert.equal(submission.notifyFailure, false);
      assert.match(submission.raw.toString("utf8"), /Subject: =\?UTF-8\?.*\r\n/);
      assert.match(submission.raw.toString("utf8"), /Thanks for your order\./);
    } finally {
      await h.server.close();
    }
  });

  test("accepts AUTH LOGIN after STARTTLS; the certificate's fingerprint is the one the server reports", async () => {
    const h = await start();
    try {
      const dialog = await openSmtpDialog(h.server.port);
      await dialog.command("EHLO client.test");
      assert.equal(await dialog.startTls(), h.server.fingerprint256);
      dialog.close();
      const info = await transport(h, { authMethod: "LOGIN" }).sendMail(MESSAGE);
      assert.match(info.response, /^250 2\.0\.0 /);
      assert.equal(h.submissions.length, 1);
    } finally {
      await h.server.close();
    }
  });

  test("with implicitTls, TLS starts at the first byte (port 465 style) and AUTH works at once", async () => {
    const h = await start({ implicitTls: true });
    try {
      const info = await transport(h, { secure: true, requireTLS: false }).sendMail(MESSAGE);
      assert.match(info.response, /^250 2\.0\.0 /);
      assert.equal(h.submissions.length, 1);
    } finally {
      await h.server.close();
    }
  });

  test("reuses the generated certificate on the next start", async () => {
    const first = await start();
    await first.server.close();
    const second = await start({}, first.dataDir);
    try {
      assert.equal(second.server.fingerprint256, first.server.fingerprint256);
      assert.equal(second.certPem, first.certPem);
    } finally {
      await second.server.close();
    }
  });

  test("refuses AUTH before STARTTLS with 538 5.7.11 and does not advertise AUTH in clear text", async () => {
    const h = await start();
    try {
      const dialog = await openSmtpDialog(h.server.port);
      const ehlo = await dialog.command("EHLO client.test");
      assert.match(ehlo, /STARTTLS/);
      assert.doesNotMatch(ehlo, /AUTH/);
      const plain = Buffer.from(`\0${TOKEN}\0${TOKEN}`).toString("base64");
      assert.match(await dialog.command(`AUTH PLAIN ${plain}`), /^538 5\.7\.11 /);
      dialog.close();
      await assert.rejects(transport(h, { requireTLS: false, ignoreTLS: true }).sendMail(MESSAGE));
      assert.equal(h.submissions.length, 0);
    } finally {
      await h.server.close();
    }
  });

  test("allows AUTH without TLS when allowInsecureAuth is set", async () => {
    const h = await start({ allowInsecureAuth: true });
    try {
      const info = await transport(h, { requireTLS: false, ignoreTLS: true }).sendMail(MESSAGE);
      assert.match(info.response, /^250 2\.0\.0 /);
      assert.equal(h.submissions[0]!.workspace.id, ACME.id);
    } finally {
      await h.server.close();
    }
  });

  test("answers a wrong password with 535 5.7.8 and nothing is accepted", async () => {
    const h = await start();
    try {
      await assert.rejects(transport(h, { auth: { user: TOKEN, pass: "wrong" } }).sendMail(MESSAGE), (err) => {
        assert.equal(smtpError(err).responseCode, 535);
        assert.match(smtpError(err).response ?? "", /^535 5\.7\.8 /);
        return true;
      });
      await assert.rejects(transport(h, { auth: { user: "unknown-token", pass: "unknown-token" } }).sendMail(MESSAGE), /535 5\.7\.8/);
      assert.equal(h.submissions.length, 0);
    } finally {
      await h.server.close();
    }
  });

  test("after 5 failed AUTH attempts from one address, AUTH is refused with 421 4.7.0 even with the right token", async () => {
    const h = await start({ allowInsecureAuth: true });
    try {
      const dialog = await openSmtpDialog(h.server.port);
      await dialog.command("EHLO client.test");
      const bad = Buffer.from(`\0${TOKEN}\0nope`).toString("base64");
      for (let i = 0; i < 5; i++) assert.match(await dialog.command(`AUTH PLAIN ${bad}`), /^535 5\.7\.8 /);
      const good = Buffer.from(`\0${TOKEN}\0${TOKEN}`).toString("base64");
      assert.match(await dialog.command(`AUTH PLAIN ${good}`), /^421 4\.7\.0 /);
      await dialog.closed; // 421 closes the connection (RFC 5321 §3.8)
      await assert.rejects(transport(h, { requireTLS: false, ignoreTLS: true }).sendMail(MESSAGE), /421 4\.7\.0/);
      assert.equal(h.submissions.length, 0);
    } finally {
      await h.server.close();
    }
  });
});

describe("SMTP submission: who may submit", () => {
  test("a client in a trusted network submits without AUTH, as the workspace its network maps to", async () => {
    const h = await start({ trustedNetworks: [{ cidr: "10.0.0.0/8", workspace: ACME }, { cidr: "127.0.0.0/8", workspace: async () => BENCH }] });
    try {
      const info = await transport(h, { auth: undefined }).sendMail(MESSAGE);
      assert.match(info.response, /^250 2\.0\.0 /);
      assert.equal(h.submissions[0]!.workspace.id, BENCH.id);
    } finally {
      await h.server.close();
    }
  });

  test("a relay attempt without AUTH from an untrusted address gets 530 5.7.0 and nothing is accepted", async () => {
    const h = await start({ trustedNetworks: [{ cidr: "10.0.0.0/8", workspace: ACME }] });
    try {
      await assert.rejects(transport(h, { auth: undefined }).sendMail({ ...MESSAGE, to: "victim@elsewhere.test" }), (err) => {
        assert.match(smtpError(err).response ?? "", /^530 5\.7\.0 Authentication required/);
        return true;
      });
      const dialog = await openSmtpDialog(h.server.port);
      await dialog.command("EHLO relay.test");
      assert.match(await dialog.command("MAIL FROM:<spammer@relay.test>"), /^530 5\.7\.0 /);
      assert.match(await dialog.command("RCPT TO:<victim@elsewhere.test>"), /^503 5\.5\.1 /);
      assert.match(await dialog.command("DATA"), /^503 5\.5\.1 /);
      dialog.close();
      assert.equal(h.submissions.length, 0);
    } finally {
      await h.server.close();
    }
  });

  test("a null reverse-path is refused with 550 5.1.7", async () => {
    const h = await start({ trustedNetworks: [{ cidr: "127.0.0.1", workspace: ACME }] });
    try {
      const dialog = await openSmtpDialog(h.server.port);
      await dialog.command("EHLO client.test");
      assert.match(await dialog.command("MAIL FROM:<>"), /^550 5\.1\.7 /);
      dialog.close();
    } finally {
      await h.server.close();
    }
  });
});

describe("SMTP submission: limits, DSN and replies", () => {
  test("a message over the size limit gets 552 5.3.4, declared with SIZE or not, and nothing is accepted", async () => {
    const h = await start({ maxMessageBytes: 2000, trustedNetworks: [{ cidr: "127.0.0.1", workspace: ACME }] });
    try {
      const dialog = await openSmtpDialog(h.server.port);
      const ehlo = await dialog.command("EHLO client.test");
      assert.match(ehlo, /SIZE 2000/);
      assert.match(await dialog.command("MAIL FROM:<a@acme.test> SIZE=5000"), /^552 5\.3\.4 /);
      dialog.close();
      await assert.rejects(transport(h, { auth: undefined }).sendMail({ ...MESSAGE, text: "x".repeat(5000) }), /552 5\.3\.4/);
      assert.equal(h.submissions.length, 0);
    } finally {
      await h.server.close();
    }
  });

  test("a line over 998 octets or a NUL byte is refused at the end of DATA with 554 5.6.0 naming the line; 998 octets pass", async () => {
    const h = await start({ trustedNetworks: [{ cidr: "127.0.0.1", workspace: ACME }] });
    try {
      const dialog = await openSmtpDialog(h.server.port);
      await dialog.command("EHLO client.test");
      const send = async (body: string) => {
        await dialog.command("MAIL FROM:<a@acme.test>");
        await dialog.command("RCPT TO:<b@example.test>");
        await dialog.command("DATA");
        return dialog.data(`From: a@acme.test\r\nSubject: lines\r\n\r\n${body}\r\n.\r\n`);
      };
      const long = await send(`short\r\n${"x".repeat(1500)}\r\nend`);
      assert.match(long, /^554 5\.6\.0 Message has a line longer than 998 octets .*quoted-printable or base64.*\(line 5\)$/);
      assert.match(await send(`a\u0000b`), /^554 5\.6\.0 Message contains a NUL byte.*\(line 4\)$/);
      assert.equal(h.submissions.length, 0, "nothing refused reached acceptance");
      assert.match(await send("z".repeat(998)), /^250 2\.0\.0 /);
      dialog.close();
      assert.equal(h.submissions.length, 1);
    } finally {
      await h.server.close();
    }
  });

  test("hands acceptance the session's trace for the Received field: EHLO name, client address and RFC 3848 protocol", async () => {
    const h = await start({ allowInsecureAuth: true, trustedNetworks: [{ cidr: "127.0.0.1", workspace: ACME }] });
    try {
      await transport(h, { auth: undefined, name: "app1.client.test" }).sendMail(MESSAGE); // STARTTLS, no AUTH
      await transport(h, { name: "app2.client.test" }).sendMail(MESSAGE); // STARTTLS and AUTH
      await transport(h, { requireTLS: false, ignoreTLS: true, name: "app3.client.test" }).sendMail(MESSAGE); // AUTH in clear text
      const dialog = await openSmtpDialog(h.server.port);
      await dialog.command("HELO old.client.test");
      await dialog.command("MAIL FROM:<a@acme.test>");
      await dialog.command("RCPT TO:<b@example.test>");
      await dialog.command("DATA");
      await dialog.data("From: a@acme.test\r\n\r\nhi\r\n.\r\n");
      dialog.close();
      assert.deepEqual(
        h.submissions.map((s) => s.submission.trace),
        [
          { helo: "app1.client.test", clientAddress: "127.0.0.1", protocol: "ESMTPS" },
          { helo: "app2.client.test", clientAddress: "127.0.0.1", protocol: "ESMTPSA" },
          { helo: "app3.client.test", clientAddress: "127.0.0.1", protocol: "ESMTPA" },
          { helo: "old.client.test", clientAddress: "127.0.0.1", protocol: "SMTP" },
        ],
      );
    } finally {
      await h.server.close();
    }
  });

  test("takes 50 recipients and answers the 51st with 452 4.5.3", async () => {
    const h = await start({ trustedNetworks: [{ cidr: "127.0.0.1", workspace: ACME }] });
    try {
      const dialog = await openSmtpDialog(h.server.port);
      await dialog.command("EHLO client.test");
      await dialog.command("MAIL FROM:<a@acme.test>");
      for (let i = 1; i <= 50; i++) assert.match(await dialog.command(`RCPT TO:<r${i}@example.test>`), /^250 2\.1\.5 /);
      assert.match(await dialog.command("RCPT TO:<r51@example.test>"), /^452 4\.5\.3 /);
      assert.match(await dialog.command("DATA"), /^354/);
      assert.match(await dialog.data("From: a@acme.test\r\nSubject: many\r\n\r\nhi\r\n.\r\n"), /^250 2\.0\.0 /);
      dialog.close();
      assert.equal(h.submissions[0]!.submission.recipients.length, 50);
    } finally {
      await h.server.close();
    }
  });

  test("advertises 8BITMIME, PIPELINING, SIZE, DSN and ENHANCEDSTATUSCODES, and NOTIFY=FAILURE sets notifyFailure", async () => {
    const h = await start({ trustedNetworks: [{ cidr: "127.0.0.1", workspace: ACME }] });
    try {
      const dialog = await openSmtpDialog(h.server.port);
      const ehlo = await dialog.command("EHLO client.test");
      for (const ext of ["8BITMIME", "PIPELINING", "SIZE", "DSN", "ENHANCEDSTATUSCODES", "STARTTLS"]) assert.match(ehlo, new RegExp(`250[ -]${ext}`));
      dialog.close();
      await transport(h, { auth: undefined }).sendMail({ ...MESSAGE, to: ["a@example.test", "b@example.test"], dsn: { notify: ["failure", "delay"], ret: "HDRS", envid: "env-1", orcpt: "rfc822;a@example.test" } } as SMTPTransport.MailOptions);
      await transport(h, { auth: undefined }).sendMail({ ...MESSAGE, dsn: { notify: "never" } } as SMTPTransport.MailOptions);
      assert.deepEqual(h.submissions.map((s) => s.submission.notifyFailure), [true, false]);
    } finally {
      await h.server.close();
    }
  });

  test("SMTPUTF8 is not offered: a non-ASCII mailbox name is refused at MAIL and RCPT with 553 5.6.7; an IDN domain is taken, with the SMTPUTF8 parameter or without", async () => {
    const h = await start({ trustedNetworks: [{ cidr: "127.0.0.1", workspace: ACME }] });
    try {
      const dialog = await openSmtpDialog(h.server.port);
      assert.doesNotMatch(await dialog.command("EHLO client.test"), /SMTPUTF8/);
      assert.match(await dialog.command("MAIL FROM:<jörg@acme.test>"), /^553 5\.6\.7 Address requires SMTPUTF8, which this server does not offer/);
      assert.match(await dialog.command("MAIL FROM:<jörg@acme.test> SMTPUTF8"), /^553 5\.6\.7 /);
      assert.match(await dialog.command("MAIL FROM:<a@acme.test> SMTPUTF8"), /^250 /);
      assert.match(await dialog.command("RCPT TO:<jörg@example.test>"), /^553 5\.6\.7 /);
      assert.match(await dialog.command("RCPT TO:<ada@bücher.example>"), /^250 /);
      assert.match(await dialog.command("RCPT TO:<bob@xn--bcher-kva.example>"), /^250 /);
      assert.match(await dialog.command("DATA"), /^354/);
      assert.match(await dialog.data("From: a@acme.test\r\n\r\nhi\r\n.\r\n"), /^250 2\.0\.0 /);
      dialog.close();
      // smtp-server hands both forms over in U-labels; acceptance stores them as A-labels.
      assert.deepEqual(h.submissions[0]!.submission.recipients, ["ada@bücher.example", "bob@bücher.example"]);
      await assert.rejects(transport(h, { auth: undefined }).sendMail({ ...MESSAGE, to: "ünïcode@example.test" }), /553 5\.6\.7/);
    } finally {
      await h.server.close();
    }
  });

  const domainCases: Array<[string, RegExp]> = [
    ["MESSAGE_INVALID", /^550 5\.6\.0 The message has no From header/],
    ["MESSAGE_TOO_LARGE", /^552 5\.3\.4 /],
    ["STREAM_NOT_FOUND", /^550 5\.7\.1 /],
    ["STREAM_NOT_SENDABLE", /^550 5\.7\.1 /],
  ];
  for (const [code, expected] of domainCases) {
    test(`a domain ${code} error answers ${expected.source.slice(1, 12).replace(/\\/g, "")}`, async () => {
      const h = await start({
        trustedNetworks: [{ cidr: "127.0.0.1", workspace: ACME }],
        accept: async () => {
          throw new PosthornError(code, code === "MESSAGE_INVALID" ? "The message has no From header\r\n(RFC 5322)." : "refused");
        },
      });
      try {
        await assert.rejects(transport(h, { auth: undefined }).sendMail(MESSAGE), (err) => {
          assert.match(smtpError(err).response ?? "", expected);
          return true;
        });
      } finally {
        await h.server.close();
      }
    });
  }

  test("an internal error answers 451 4.3.0 and the session can go on", async () => {
    let fail = true;
    const h = await start({
      trustedNetworks: [{ cidr: "127.0.0.1", workspace: ACME }],
      accept: async () => {
        if (fail) throw new Error("SQLITE_BUSY: database is locked");
        return { messageId: "m-2" };
      },
    });
    try {
      const dialog = await openSmtpDialog(h.server.port);
      await dialog.command("EHLO client.test");
      await dialog.command("MAIL FROM:<a@acme.test>");
      await dialog.command("RCPT TO:<b@example.test>");
      await dialog.command("DATA");
      const reply = await dialog.data("From: a@acme.test\r\n\r\nhi\r\n.\r\n");
      assert.match(reply, /^451 4\.3\.0 /);
      assert.doesNotMatch(reply, /SQLITE/); // internals stay in the log
      fail = false;
      await dialog.command("MAIL FROM:<a@acme.test>");
      await dialog.command("RCPT TO:<b@example.test>");
      await dialog.command("DATA");
      assert.match(await dialog.data("From: a@acme.test\r\n\r\nhi\r\n.\r\n"), /^250 2\.0\.0 OK: queued as m-2/);
      dialog.close();
    } finally {
      await h.server.close();
    }
  });

  test("every reply after the greeting and EHLO carries an enhanced status code", async () => {
    const h = await start({ allowInsecureAuth: true });
    try {
      const dialog = await openSmtpDialog(h.server.port);
      await dialog.command("EHLO client.test");
      const replies = [
        await dialog.command("MAIL FROM:<a@acme.test>"),
        await dialog.command("NOOP"),
        await dialog.command("BOGUS"),
        await dialog.command(`AUTH PLAIN ${Buffer.from(`\0x\0y`).toString("base64")}`),
        await dialog.command(`AUTH PLAIN ${Buffer.from(`\0${TOKEN}\0${TOKEN}`).toString("base64")}`),
        await dialog.command("RCPT TO:<b@example.test>"),
        await dialog.command("MAIL FROM:<a@acme.test> BODY=8BITMIME SMTPUTF8"),
        await dialog.command("MAIL FROM:<jörg@acme.test>"),
        await dialog.command("MAIL FROM:<a@acme.test> BODY=8BITMIME"),
        await dialog.command("RCPT TO:<b@example.test> NOTIFY=BOGUS"),
        await dialog.command("RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.test"),
        await dialog.command("RSET"),
        await dialog.command("QUIT"),
      ];
      for (const reply of replies) assert.match(reply, ENHANCED_REPLY, reply);
    } finally {
      await h.server.close();
    }
  });
});

describe("SMTP submission: shutdown", () => {
  test("close() ends idle sessions with 421 4.3.2, lets a session in DATA get its 250, and refuses new connections", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inAccept = new Promise<void>((resolve) => (entered = resolve));
    const h = await start({
      trustedNetworks: [{ cidr: "127.0.0.1", workspace: ACME }],
      accept: async () => {
        entered();
        await released;
        return { messageId: "m-late" };
      },
    });
    const idle = await openSmtpDialog(h.server.port);
    await idle.command("EHLO idle.test");
    const busy = await openSmtpDialog(h.server.port);
    await busy.command("EHLO busy.test");
    await busy.command("MAIL FROM:<a@acme.test>");
    await busy.command("RCPT TO:<b@example.test>");
    await busy.command("DATA");
    const busyReply = busy.data("From: a@acme.test\r\n\r\nhi\r\n.\r\n");
    await inAccept;

    const closed = h.server.close();
    await idle.closed;
    await assert.rejects(openSmtpDialog(h.server.port));
    release();
    assert.match(await busyReply, /^250 2\.0\.0 OK: queued as m-late/);
    await busy.closed;
    await closed;
  });
});
