// SMTP submission's deadlines against slow clients (RFC 5321 §4.5.3.2), over real SMTP on loopback
// with the listener of submission.server.test.ts's harness.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { openSmtpDialog } from "./testing/smtp-dialog.js";
import { openSlowClient } from "./testing/slow-client.js";
import { ACME, removeHarnessDirs, start } from "./testing/submission-harness.js";

after(removeHarnessDirs);

describe("SMTP submission: deadlines (slow loris)", () => {
  // The idle timeout (socketTimeoutMs) stays at smtp-server's 1 minute: a byte every 50 ms would
  // keep a session open for ever without the deadlines.
  test("a command line trickled in a byte at a time is cut at the command deadline with 421 4.4.2", async () => {
    const h = await start({ commandTimeoutMs: 300, dataTimeoutMs: 5_000 });
    try {
      const client = await openSlowClient(h.server.port);
      assert.match(await client.command("EHLO slow.test"), /^250[ -]/m, "a command that arrives whole is answered");
      const sent = Date.now();
      client.trickle("MAIL FROM:<a@acme.test>".repeat(100), 50);
      await Promise.race([client.closed, new Promise((_, reject) => setTimeout(() => reject(new Error(`still open after 3 s; received: ${client.received}`)), 3_000).unref())]);
      assert.ok(Date.now() - sent < 2_000, "closed near the deadline");
      assert.match(client.received, /\r\n421 4\.4\.2 Timeout: the command line did not arrive in time/);
    } finally {
      await h.server.close();
    }
  });

  test("a message trickled in after DATA is cut at the DATA deadline with 421 4.4.2 and nothing is accepted", async () => {
    const h = await start({ commandTimeoutMs: 5_000, dataTimeoutMs: 400, trustedNetworks: [{ cidr: "127.0.0.1", workspace: ACME }] });
    try {
      const client = await openSlowClient(h.server.port);
      await client.command("EHLO slow.test");
      await client.command("MAIL FROM:<a@acme.test>");
      await client.command("RCPT TO:<b@example.test>");
      assert.match(await client.command("DATA"), /^354/);
      client.trickle(`From: a@acme.test\r\n\r\n${"x".repeat(500)}\r\n.\r\n`, 20, 2);
      await Promise.race([client.closed, new Promise((_, reject) => setTimeout(() => reject(new Error(`still open after 3 s; received: ${client.received}`)), 3_000).unref())]);
      assert.match(client.received, /421 4\.4\.2 Timeout: the message did not arrive in time/);
      assert.equal(h.submissions.length, 0);
    } finally {
      await h.server.close();
    }
  });

  test("time we take is not the client's: a slow acceptance past the DATA deadline still answers 250, and a prompt client is never cut", async () => {
    const h = await start({
      commandTimeoutMs: 300,
      dataTimeoutMs: 300,
      trustedNetworks: [{ cidr: "127.0.0.1", workspace: ACME }],
      accept: async () => {
        await new Promise((resolve) => setTimeout(resolve, 700));
        return { messageId: "m-slow" };
      },
    });
    try {
      const dialog = await openSmtpDialog(h.server.port);
      await dialog.command("EHLO prompt.test");
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 150)); // idle below the deadline each time
        assert.match(await dialog.command("NOOP"), /^250 /);
      }
      await dialog.command("MAIL FROM:<a@acme.test>");
      await dialog.command("RCPT TO:<b@example.test>");
      await dialog.command("DATA");
      assert.match(await dialog.data("From: a@acme.test\r\n\r\nhi\r\n.\r\n"), /^250 2\.0\.0 OK: queued as m-slow/);
      assert.match(await dialog.command("QUIT"), /^221 /);
    } finally {
      await h.server.close();
    }
  });
});
