// End to end: nodemailer's client submits over STARTTLS with a server token to the submission
// listener, which hands the message to the real acceptance (as the smtp role wires it) over a real SQLite store. Checks
// what was committed (message row, deliveries) and that refusals commit nothing.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import type { Store } from "../src/store/store.js";
import { silentLogger } from "../src/shared/logger.js";
import { loadConfig } from "../src/config/config.schema.js";
import { buildContainer } from "../src/app/container.js";
import { startSubmissionServer, type SubmissionServer } from "../src/smtp/submission.server.js";
import { submissionFromSmtp } from "../src/smtp/x-pm-headers.js";
import { openTempSqlite } from "./support/stores.js";
import { FROM_RULE_OFF } from "./support/server.js";

describe("SMTP submission into the real acceptance pipeline", () => {
  let store: Store;
  let server: SubmissionServer;
  let token: string;
  let certPem: string;
  let dataDir: string;
  let messages: ReturnType<typeof buildContainer>["messages"];

  before(async () => {
    store = await openTempSqlite();
    dataDir = mkdtempSync(join(tmpdir(), "posthorn-smtp-e2e-"));
    const container = buildContainer(store, loadConfig({ POSTHORN_HOSTNAME: "posthorn.test", POSTHORN_DATA_DIR: dataDir, ...FROM_RULE_OFF }), silentLogger());
    const { workspaces, accept } = container;
    messages = container.messages;
    ({ serverToken: token } = await workspaces.create("acme", { sandbox: false }));
    server = await startSubmissionServer({
      host: "127.0.0.1",
      port: 0,
      hostname: "smtp.posthorn.test",
      tls: null,
      dataDir,
      logger: silentLogger(),
      authenticate: (user, pass) => workspaces.authenticateSmtp(user, pass),
      accept: async (workspace, message) => accept.acceptOne(workspace, submissionFromSmtp(message)),
    });
    certPem = readFileSync(join(dataDir, "smtp-tls", "cert.pem"), "utf8");
  });

  after(async () => {
    await server.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function transport(auth: { user: string; pass: string } | null = { user: token, pass: token }) {
    return nodemailer.createTransport({
      host: "127.0.0.1",
      port: server.port,
      requireTLS: true,
      tls: { ca: certPem, servername: "localhost" },
      ...(auth ? { auth } : {}),
    } as SMTPTransport.Options);
  }

  async function messageCount(): Promise<number> {
    const row = await store.db.selectFrom("messages").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  test("a message with X-PM headers is committed before the 250, with its instructions read and the headers removed", async () => {
    const info = await transport().sendMail({
      from: "Acme <support@acme.test>",
      to: "Ada <ada@example.test>",
      bcc: "audit@example.test",
      subject: "Your receipt",
      text: "Thanks.",
      headers: { "X-PM-Tag": "receipt", "X-PM-Metadata-order": "1234", "X-PM-TrackOpens": "true" },
      dsn: { notify: "failure" },
    } as SMTPTransport.MailOptions);
    const id = /^250 2\.0\.0 OK: queued as (\S+)$/.exec(info.response)?.[1];
    assert.ok(id, info.response);

    const workspaceId = (await store.db.selectFrom("workspaces").select("id").where("name", "=", "acme").executeTakeFirstOrThrow()).id;
    const row = await messages.details(workspaceId, id);
    assert.ok(row, "committed before the 250");
    assert.equal(row.envelopeFrom, "support@acme.test");
    assert.equal(row.tag, "receipt");
    // nodemailer writes header names in its own case (X-Pm-Metadata-Order); the key's value is what counts.
    const metadata = row.metadata;
    assert.deepEqual(Object.entries(metadata).map(([k, v]) => [k.toLowerCase(), v]), [["order", "1234"]]);
    assert.equal(row.failureNotices, true);
    const mime = Buffer.isBuffer(row.mime) ? row.mime.toString("utf8") : String(row.mime);
    assert.doesNotMatch(mime, /^X-PM-/im);
    assert.match(mime, /^Message-ID: <[^>]+@posthorn\.test>/im);
    // RFC 5321 §4.4 trace on top: EHLO name, address literal, us, RFC 3848 protocol (STARTTLS + AUTH), our id, the date.
    const received = new RegExp(`^Received: from \\S+ \\(\\[127\\.0\\.0\\.1\\]\\)\r\n\tby posthorn\\.test \\(Posthorn\\) with ESMTPSA id ${id};\r\n\t\\w{3}, \\d{2} \\w{3} \\d{4} \\d{2}:\\d{2}:\\d{2} \\+0000\r\n`);
    assert.match(mime, received);
    const deliveries = await messages.deliveries(store.db, id);
    assert.equal(deliveries.length, 2);
  });

  test("Bcc and Resent-Bcc fields are removed from the stored message; the blind-copied addresses stay recipients", async () => {
    const raw = "From: support@acme.test\r\nTo: ada@example.test\r\nBcc: audit@example.test,\r\n  second@example.test\r\nResent-Bcc: r@example.test\r\nSubject: bcc\r\n\r\nhi\r\n";
    const info = await transport().sendMail({ envelope: { from: "support@acme.test", to: ["ada@example.test", "audit@example.test", "second@example.test"] }, raw });
    const id = /queued as (\S+)$/.exec(info.response)![1]!;
    const workspaceId = (await store.db.selectFrom("workspaces").select("id").where("name", "=", "acme").executeTakeFirstOrThrow()).id;
    const row = await messages.details(workspaceId, id);
    const mime = Buffer.isBuffer(row!.mime) ? row!.mime.toString("utf8") : String(row!.mime);
    assert.doesNotMatch(mime, /bcc:|audit@|second@|r@example/i);
    assert.match(mime, /^To: ada@example\.test\r\nSubject: bcc\r\n/m);
    assert.equal((await messages.deliveries(store.db, id)).length, 3);
  });

  test("a non-ASCII mailbox name is refused at RCPT (553 5.6.7, SMTPUTF8 is not offered); an IDN domain is accepted and stored as its A-label", async () => {
    const before = await messageCount();
    await assert.rejects(transport().sendMail({ from: "support@acme.test", to: "jörg@example.test", subject: "x", text: "x" }), /553 5\.6\.7/);
    assert.equal(await messageCount(), before);
    const info = await transport().sendMail({ from: "support@acme.test", to: "ada@bücher.example", subject: "idn", text: "x" });
    const id = /queued as (\S+)$/.exec(info.response)![1]!;
    assert.deepEqual((await messages.deliveries(store.db, id)).map((d) => d.recipient), ["ada@xn--bcher-kva.example"]);
  });

  test("an unknown X-PM-Message-Stream answers 550 5.7.1 and commits nothing", async () => {
    const before = await messageCount();
    await assert.rejects(
      transport().sendMail({ from: "support@acme.test", to: "ada@example.test", subject: "x", text: "x", headers: { "X-PM-Message-Stream": "nope" } }),
      /550 5\.7\.1/,
    );
    assert.equal(await messageCount(), before);
  });

  test("a wrong token gets 535 5.7.8 and a relay attempt without AUTH gets 530 5.7.0; nothing is committed", async () => {
    const before = await messageCount();
    await assert.rejects(transport({ user: "wrong", pass: "wrong" }).sendMail({ from: "a@acme.test", to: "b@example.test", text: "x" }), /535 5\.7\.8/);
    await assert.rejects(transport(null).sendMail({ from: "a@spam.test", to: "victim@example.test", text: "x" }), /530 5\.7\.0/);
    assert.equal(await messageCount(), before);
  });
});
