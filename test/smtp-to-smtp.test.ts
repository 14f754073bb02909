// End to end through the whole app: an application submits by SMTP to the smtp role (server token,
// SMTP token pair, trusted network), Posthorn's MTA delivers to a real SMTP server on loopback, and
// the Postmark API reports what happened.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import net from "node:net";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import { ServerClient } from "postmark";
import { startTestServer, MAIN_JS, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { eventually } from "./support/eventually.js";
import { fingerprintOf, generateSelfSignedCertificate } from "../src/smtp/tls-certificate.js";

describe("SMTP submission through the MTA to a destination", () => {
  let sink: SmtpSink;
  let server: TestServer;
  let token: string;
  let port: number;

  before(async () => {
    sink = await startSmtpSink();
    server = await startTestServer({
      POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
      POSTHORN_VERP: "false",
      POSTHORN_SMTP_HOST: "127.0.0.1",
      POSTHORN_SMTP_TRUSTED_NETWORKS: "127.0.0.2/32=internal",
    });
    token = await server.createWorkspace("acme");
    await server.createWorkspace("internal");
    port = server.app.smtp!.submission[0]!.port;
  });

  after(async () => {
    await server.close();
    await sink.close();
  });

  function transport(auth: { user: string; pass: string } | undefined, localAddress?: string) {
    return nodemailer.createTransport({
      host: "127.0.0.1",
      port,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      ...(auth ? { auth } : {}),
      ...(localAddress ? { localAddress } : {}),
    } as SMTPTransport.Options);
  }

  test("a message with X-PM headers reaches the destination without them, and the API reports it delivered", async () => {
    const info = await transport({ user: token, pass: token }).sendMail({
      from: "Acme <support@acme.test>",
      to: "ada@example.test",
      subject: "Receipt",
      text: "Thanks.",
      headers: { "X-PM-Tag": "receipt", "X-PM-Metadata-order": "77", "X-PM-TrackOpens": "true", "X-PM-KeepID": "true" },
      messageId: "<keep-me@acme.test>",
    });
    const id = /queued as (\S+)/.exec(info.response)![1]!;
    await eventually(async () => sink.messages.find((m) => m.messageId === "<keep-me@acme.test>"));
    const delivered = sink.messages.find((m) => m.messageId === "<keep-me@acme.test>")!;
    assert.deepEqual(delivered.rcptTo, ["ada@example.test"]);
    assert.doesNotMatch(delivered.raw.toString(), /^X-PM-/im);
    assert.match(delivered.raw.toString(), /^Subject: Receipt\r$/m);

    const pm = new ServerClient(token, { useHttps: false, requestHost: server.url.replace(/^http:\/\//, "") });
    const details = await eventually(async () => {
      const d = await pm.getOutboundMessageDetails(id);
      return d.Status === "Sent" ? d : null;
    });
    assert.equal(details.Tag, "receipt");
    // Header names are case-insensitive and nodemailer rewrites them (X-Pm-Metadata-Order); the key keeps the case it arrived in.
    assert.deepEqual(Object.entries(details.Metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v]), [["order", "77"]]);
    assert.ok(details.MessageEvents.some((e) => e.Type === "Delivered"));
  });

  test("a Bcc field is removed: the blind-copied address still gets the message, and no recipient sees the field", async () => {
    const raw = [
      "From: Acme <support@acme.test>",
      "To: Ada <ada-bcc@example.test>",
      "Bcc: Audit <audit-bcc@example.test>",
      "Subject: Bcc check",
      "Message-ID: <bcc-check@acme.test>",
      "",
      "Nobody but the sender knows about the audit copy.",
      "",
    ].join("\r\n");
    const info = await transport({ user: token, pass: token }).sendMail({ envelope: { from: "support@acme.test", to: ["ada-bcc@example.test", "audit-bcc@example.test"] }, raw });
    assert.match(info.response, /^250 2\.0\.0 /);
    const arrived = await eventually(async () => {
      const found = sink.messages.filter((m) => m.rcptTo.some((r) => r.endsWith("-bcc@example.test")));
      const to = new Set(found.flatMap((m) => m.rcptTo));
      return to.has("ada-bcc@example.test") && to.has("audit-bcc@example.test") ? found : null;
    });
    for (const m of arrived) {
      assert.doesNotMatch(m.raw.toString(), /^Bcc:/im);
      assert.doesNotMatch(m.raw.toString(), /audit-bcc/);
      assert.match(m.raw.toString(), /^To: Ada <ada-bcc@example\.test>\r$/m);
    }
  });

  test("an SMTP token pair sends to its own stream only", async () => {
    const out = execFileSync(process.execPath, [MAIN_JS, "token", "create", "--smtp", "--workspace", "acme", "--stream", "broadcast", "--json"], {
      env: { PATH: process.env.PATH ?? "", POSTHORN_DATA_DIR: server.dataDir, LOG_LEVEL: "silent" },
    }).toString();
    const pair = JSON.parse(out) as { accessKey: string; secretKey: string; stream: string };
    assert.equal(pair.stream, "broadcast");
    const smtp = transport({ user: pair.accessKey, pass: pair.secretKey });
    const info = await smtp.sendMail({ from: "news@acme.test", to: "reader@example.test", subject: "News", text: "Hi" });
    const id = /queued as (\S+)/.exec(info.response)![1]!;
    const pm = new ServerClient(token, { useHttps: false, requestHost: server.url.replace(/^http:\/\//, "") });
    assert.equal((await pm.getOutboundMessageDetails(id)).MessageStream, "broadcast");

    await assert.rejects(
      smtp.sendMail({ from: "news@acme.test", to: "reader@example.test", subject: "x", text: "x", headers: { "X-PM-Message-Stream": "outbound" } }),
      /550 5\.7\.1 .*broadcast/,
    );
    await assert.rejects(transport({ user: pair.accessKey, pass: "wrong" }).sendMail({ from: "a@acme.test", to: "b@example.test", text: "x" }), /535 5\.7\.8/);
  });

  test("a client in a trusted network submits without AUTH as the mapped workspace; other addresses must authenticate", async () => {
    const info = await transport(undefined, "127.0.0.2").sendMail({ from: "app@internal.test", to: "ops@example.test", subject: "cron", text: "done" });
    assert.match(info.response, /^250 2\.0\.0 /);
    await eventually(async () => sink.messages.find((m) => m.rcptTo.includes("ops@example.test")));
    await assert.rejects(transport(undefined).sendMail({ from: "app@internal.test", to: "victim@example.test", text: "x" }), /530 5\.7\.0/);
    assert.equal(sink.messages.some((m) => m.rcptTo.includes("victim@example.test")), false);
  });
});

describe("SMTP submission with a certificate from config", () => {
  test("POSTHORN_SMTP_TLS_CERT/KEY are used as given (clients can verify them), and unreadable files stop the start with a clear error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "posthorn-tls-"));
    try {
      const credentials = generateSelfSignedCertificate("smtp.acme.test");
      writeFileSync(join(dir, "cert.pem"), credentials.cert);
      writeFileSync(join(dir, "key.pem"), credentials.key);
      const server = await startTestServer({ POSTHORN_SMTP_TLS_CERT: join(dir, "cert.pem"), POSTHORN_SMTP_TLS_KEY: join(dir, "key.pem"), POSTHORN_SMTP_HOST: "127.0.0.1" });
      try {
        const token = await server.createWorkspace("tls");
        const listener = server.app.smtp!.submission[0]!;
        assert.equal(listener.fingerprint256, fingerprintOf(credentials.cert));
        const info = await nodemailer
          .createTransport({ host: "127.0.0.1", port: listener.port, requireTLS: true, tls: { ca: credentials.cert, servername: "smtp.acme.test" }, auth: { user: token, pass: token } } as SMTPTransport.Options)
          .sendMail({ from: "a@acme.test", to: "b@example.test", subject: "verified", text: "x" });
        assert.match(info.response, /^250 2\.0\.0 /);
        assert.equal(existsSync(join(server.dataDir, "smtp-tls")), false, "no certificate is generated when one is configured");
      } finally {
        await server.close();
      }
      await assert.rejects(
        startTestServer({ POSTHORN_SMTP_TLS_CERT: join(dir, "missing.pem"), POSTHORN_SMTP_TLS_KEY: join(dir, "key.pem") }),
        /cannot read the SMTP TLS certificate or key/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("a port already in use stops the start with the configuration key to change", async () => {
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
  try {
    const port = (busy.address() as net.AddressInfo).port;
    await assert.rejects(startTestServer({ POSTHORN_SMTP_HOST: "127.0.0.1", POSTHORN_SMTP_PORT: String(port) }), /POSTHORN_SMTP_PORT: cannot listen on 127\.0\.0\.1:\d+: the port is in use/);
    await assert.rejects(startTestServer({ POSTHORN_INBOUND_HOST: "127.0.0.1", POSTHORN_INBOUND_PORT: String(port) }), /POSTHORN_INBOUND_PORT: cannot listen/);
  } finally {
    await new Promise<void>((resolve) => busy.close(() => resolve()));
  }
});
