// What the logs never hold: tokens, passwords, Authorization headers, DKIM private keys and message
// bodies. A server logging at `trace` through the production logger (createLogger: JSON lines,
// redaction) is driven with known secrets and bodies — API sends, refused tokens, SMTP AUTH that
// fails and succeeds, a Track API call with a wrong Basic credential, a sending domain with a new
// DKIM key, deliveries to a sink — and everything it wrote is searched for them.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config/config.schema.js";
import { createLogger, LogOutput } from "../src/shared/logger.js";
import { startApp, type RunningApp } from "../src/app/app.js";
import { FROM_RULE_OFF, READ_TIME_OFF } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { serverDatabases } from "./support/stores.js";

const TEXT_BODY = "text-body-secret-6f1c2a";
const HTML_BODY = "html-body-secret-93bd41";
const SMTP_BODY = "smtp-body-secret-c70e55";
const WRONG_PASSWORD = "wrong-password-secret-18aa";
const WRONG_BASIC = Buffer.from("site-secret-4e2b:key-secret-77d0").toString("base64");

for (const target of serverDatabases()) {
  describe(`logs hold no secret (${target.name})`, () => {
    let written = "";
    let app: RunningApp;
    let sink: SmtpSink;
    let dataDir: string;
    let token: string;
    let drop: () => Promise<void>;

    before(async () => {
      const database = await target.open();
      drop = database.drop;
      sink = await startSmtpSink();
      dataDir = mkdtempSync(join(tmpdir(), "posthorn-log-secrets-"));
      const config = loadConfig({
        POSTHORN_DATA_DIR: dataDir,
        POSTHORN_HTTP_PORT: "0",
        POSTHORN_HTTP_HOST: "127.0.0.1",
        POSTHORN_HOSTNAME: "posthorn.test",
        POSTHORN_SMTP_PORT: "0",
        POSTHORN_SMTP_HOST: "127.0.0.1",
        POSTHORN_SMTP_ALLOW_INSECURE_AUTH: "true",
        // In this process, so that its lines reach the logger captured here (the threads log to fd 1 by the same code).
        POSTHORN_SMTP_THREAD: "false",
        POSTHORN_MTA_TRANSPORT_THREAD: "false",
        POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
        POSTHORN_SHUTDOWN_TIMEOUT: "2s",
        LOG_LEVEL: "trace",
        ...database.env,
        ...FROM_RULE_OFF,
        ...READ_TIME_OFF,
      });
      const logger = createLogger("trace", new LogOutput("json", { destination: { write: (text: string) => (written += text) } }));
      app = await startApp(config, logger);
      ({ serverToken: token } = await app.services.workspaces.create("secrets", { sandbox: false }));
    });

    after(async () => {
      await app.stop();
      await sink.close();
      rmSync(dataDir, { recursive: true, force: true });
      await drop();
    });

    async function post(path: string, headers: Record<string, string>, body: unknown): Promise<Response> {
      return fetch(`${app.httpUrl}${path}`, { method: "POST", headers: { accept: "application/json", "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    }

    test("no token, password, Authorization header, DKIM key or body reaches the log", async () => {
      const sent = await post("/email", { "x-postmark-server-token": token }, { From: "a@sender.example", To: "b@dest.example", Subject: "s", TextBody: TEXT_BODY, HtmlBody: `<p>${HTML_BODY}</p>` });
      assert.equal(sent.status, 200);
      assert.match(sent.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
      const refused = await post("/email", { "x-postmark-server-token": `${token}x` }, { From: "a@sender.example", To: "b@dest.example", TextBody: TEXT_BODY });
      assert.equal(refused.status, 401);
      const track = await fetch(`${app.httpUrl}/api/v1/customers/p1`, { method: "PUT", headers: { authorization: `Basic ${WRONG_BASIC}`, "content-type": "application/json" }, body: "{}" });
      assert.equal(track.status, 401);

      const port = app.smtp!.submission[0]!.port;
      const bad = nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true, auth: { user: token, pass: WRONG_PASSWORD } } as SMTPTransport.Options);
      await assert.rejects(bad.sendMail({ from: "a@sender.example", to: "b@dest.example", text: SMTP_BODY }));
      const good = nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true, auth: { user: token, pass: token } } as SMTPTransport.Options);
      await good.sendMail({ from: "a@sender.example", to: "c@dest.example", subject: "s", text: SMTP_BODY });

      const domain = await app.services.domains.create({ name: "signed.example" });
      await sink.waitForMessages(2, 30_000);

      const lines = written.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      const events = new Set(lines.map((l) => l.event));
      // The run did write the lines that concern these secrets (else finding none would prove nothing).
      for (const event of ["smtp.auth.failed", "smtp.auth.succeeded", "smtp.message.accepted", "sending-domain.created", "mta.session.opened"]) assert.ok(events.has(event), `${event} was logged`);
      assert.deepEqual(lines.filter((l) => typeof l.event !== "string").map((l) => l.msg), [], "every line names its event");
      const accepted = lines.find((l) => l.event === "smtp.message.accepted")!;
      assert.equal(typeof accepted.messageId, "string");
      assert.equal(typeof accepted.session, "string");

      const secrets = [token, WRONG_PASSWORD, WRONG_BASIC, "site-secret-4e2b", "key-secret-77d0", TEXT_BODY, HTML_BODY, SMTP_BODY, "PRIVATE KEY", `${token}x`];
      for (const secret of secrets) assert.ok(!written.includes(secret), `the log holds ${secret.slice(0, 12)}…`);
      // The DKIM key made for the domain is PEM ("-----BEGIN PRIVATE KEY-----"), caught by "PRIVATE KEY" above.
      assert.ok(domain);
    });

    test("a line domain code logs for an HTTP request carries that request's id", async () => {
      const accountToken = await app.services.workspaces.createAccountToken();
      const created = await post("/domains", { "x-postmark-account-token": accountToken }, { Name: "traced.example" });
      assert.equal(created.status, 200);
      const requestId = created.headers.get("x-request-id");
      assert.match(requestId ?? "", /^[0-9a-f-]{36}$/);
      const { ID } = (await created.json()) as { ID: number };
      const removed = await fetch(`${app.httpUrl}/domains/${ID}`, { method: "DELETE", headers: { accept: "application/json", "x-postmark-account-token": accountToken } });
      assert.equal(removed.status, 200);
      const lines = written.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      const line = (event: string) => lines.find((l) => l.event === event && l.domain === "traced.example");
      assert.equal(line("sending-domain.created")?.requestId, requestId);
      assert.equal(line("sending-domain.deleted")?.requestId, removed.headers.get("x-request-id"));
      assert.notEqual(requestId, removed.headers.get("x-request-id"));
    });
  });
}
