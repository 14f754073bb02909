// The MX listener's own behaviour over real SMTP on loopback, with a router standing in for the
// domain (test/inbound-*.test.ts run the real one): refusals at RCPT, size, failures while
// storing, no AUTH, enhanced codes, shutdown.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../shared/logger.js";
import { startInboundServer, type InboundRouter } from "./inbound.server.js";
import { openSmtpDialog } from "./testing/smtp-dialog.js";
import { openSlowClient } from "./testing/slow-client.js";
import { eventually } from "../../test/support/eventually.js";

const dataDir = mkdtempSync(join(tmpdir(), "posthorn-mx-"));
after(() => rmSync(dataDir, { recursive: true, force: true }));

type Route = { kind: "ours" };
function router(overrides: Partial<InboundRouter<Route>> = {}) {
  const delivered: Array<{ recipients: string[]; mailFrom: string; raw: string }> = [];
  const value: InboundRouter<Route> = {
    route: async (address) => (address.endsWith("@ours.test") ? { kind: "ours" } : null),
    deliver: async (input) => {
      delivered.push({ recipients: input.recipients.map((r) => r.address), mailFrom: input.mailFrom, raw: input.raw.toString() });
    },
    ...overrides,
  };
  return { value, delivered };
}

async function start(r: InboundRouter<Route>, maxMessageBytes = 10_000, sessionsPerClient?: number) {
  return startInboundServer({ host: "127.0.0.1", port: 0, hostname: "mx.posthorn.test", tls: null, dataDir, maxMessageBytes, router: r, logger: silentLogger(), sessionsPerClient });
}

describe("inbound MX listener", () => {
  test("accepts mail for its recipients from a null sender, refuses others at RCPT with 550 5.7.1, and offers no AUTH", async () => {
    const r = router();
    const server = await start(r.value);
    try {
      const dialog = await openSmtpDialog(server.port);
      assert.equal(dialog.greeting, "220 mx.posthorn.test ESMTP Posthorn"); // ESMTP once
      const ehlo = await dialog.command("EHLO remote.test");
      assert.match(ehlo, /STARTTLS/);
      assert.doesNotMatch(ehlo, /AUTH/);
      assert.match(await dialog.command("AUTH PLAIN AGEAYg=="), /^5\d\d 5\.5\.\d /);
      assert.match(await dialog.command("MAIL FROM:<>"), /^250 /);
      assert.match(await dialog.command("RCPT TO:<a@ours.test>"), /^250 2\.1\.5 /);
      assert.match(await dialog.command("RCPT TO:<victim@elsewhere.test>"), /^550 5\.7\.1 /);
      assert.match(await dialog.command("DATA"), /^354/);
      assert.match(await dialog.data("Subject: hi\r\n\r\nbody\r\n.\r\n"), /^250 2\.0\.0 /);
      dialog.close();
      assert.deepEqual(r.delivered.map((d) => [d.recipients, d.mailFrom]), [[["a@ours.test"], ""]]);
    } finally {
      await server.close();
    }
  });

  test("an oversized message gets 552 5.3.4, a failure while storing 451 4.3.0, a failed lookup 451 at RCPT; nothing is stored", async () => {
    const r = router({
      route: async (address) => {
        if (address.startsWith("lookup-fails")) throw new Error("database is down");
        return { kind: "ours" };
      },
      deliver: async (input) => {
        if (input.raw.toString().includes("fail-store")) throw new Error("SQLITE_FULL");
      },
    });
    const server = await start(r.value, 2_000);
    try {
      const dialog = await openSmtpDialog(server.port);
      await dialog.command("EHLO remote.test");
      assert.match(await dialog.command("MAIL FROM:<a@remote.test> SIZE=5000"), /^552 5\.3\.4 /);
      await dialog.command("MAIL FROM:<a@remote.test>");
      assert.match(await dialog.command("RCPT TO:<lookup-fails@ours.test>"), /^451 4\.3\.0 /);
      assert.match(await dialog.command("RCPT TO:<b@ours.test>"), /^250 /);
      await dialog.command("DATA");
      assert.match(await dialog.data(`Subject: big\r\n\r\n${"x".repeat(5000)}\r\n.\r\n`), /^552 5\.3\.4 /);
      await dialog.command("MAIL FROM:<a@remote.test>");
      await dialog.command("RCPT TO:<b@ours.test>");
      await dialog.command("DATA");
      const reply = await dialog.data("Subject: fail-store\r\n\r\nx\r\n.\r\n");
      assert.match(reply, /^451 4\.3\.0 /);
      assert.doesNotMatch(reply, /SQLITE/);
      dialog.close();
    } finally {
      await server.close();
    }
  });

  test("accepts lines over 998 octets and NUL bytes: inbound mail is stored and parsed, never relayed or signed", async () => {
    const r = router();
    const server = await start(r.value);
    try {
      const dialog = await openSmtpDialog(server.port);
      await dialog.command("EHLO remote.test");
      await dialog.command("MAIL FROM:<a@remote.test>");
      await dialog.command("RCPT TO:<a@ours.test>");
      await dialog.command("DATA");
      assert.match(await dialog.data(`Subject: long\r\n\r\n${"x".repeat(1500)}\r\na\u0000b\r\n.\r\n`), /^250 2\.0\.0 /);
      dialog.close();
      assert.equal(r.delivered.length, 1);
    } finally {
      await server.close();
    }
  });

  test("one client address holds at most its share of sessions: the next is told 421 4.7.0, and a closed one frees a place", async () => {
    const server = await start(router().value, 10_000, 2);
    try {
      const first = await openSmtpDialog(server.port);
      const second = await openSmtpDialog(server.port);
      assert.match(first.greeting, /^220 /);
      assert.match(second.greeting, /^220 /);
      const third = await openSmtpDialog(server.port);
      assert.match(third.greeting, /^421 4\.7\.0 /);
      await third.closed;
      first.close();
      await first.closed;
      await eventually(async () => {
        const again = await openSmtpDialog(server.port);
        again.close();
        return again.greeting.startsWith("220");
      });
      second.close();
    } finally {
      await server.close();
    }
  });

  test("a slow-loris sender is cut at the command and DATA deadlines with 421 4.4.2; nothing is stored", async () => {
    const r = router();
    const server = await startInboundServer({ host: "127.0.0.1", port: 0, hostname: "mx.posthorn.test", tls: null, dataDir, maxMessageBytes: 10_000, router: r.value, logger: silentLogger(), commandTimeoutMs: 300, dataTimeoutMs: 400 });
    const within = (client: { closed: Promise<number>; received: string }) =>
      Promise.race([client.closed, new Promise((_, reject) => setTimeout(() => reject(new Error(`still open after 3 s; received: ${client.received}`)), 3_000).unref())]);
    try {
      const command = await openSlowClient(server.port);
      command.trickle("EHLO slow.remote.test", 50); // never completed
      await within(command);
      assert.match(command.received, /421 4\.4\.2 Timeout: the command line/);

      const data = await openSlowClient(server.port);
      await data.command("EHLO slow.remote.test");
      await data.command("MAIL FROM:<a@remote.test>");
      await data.command("RCPT TO:<a@ours.test>");
      await data.command("DATA");
      data.trickle(`Subject: slow\r\n\r\n${"x".repeat(500)}\r\n.\r\n`, 20, 2);
      await within(data);
      assert.match(data.received, /421 4\.4\.2 Timeout: the message/);
      assert.equal(r.delivered.length, 0);
    } finally {
      await server.close();
    }
  });

  test("close() tells idle sessions 421 4.3.2 and refuses new connections", async () => {
    const server = await start(router().value);
    const idle = await openSmtpDialog(server.port);
    await idle.command("EHLO idle.test");
    const closed = server.close();
    await idle.closed;
    await closed;
    await assert.rejects(openSmtpDialog(server.port));
  });
});
