// One acceptance, two doors: the same messages, sent once as Postmark JSON to POST /email and once
// over SMTP submission (composed by nodemailer, with Postmark's X-PM-* headers for tag, metadata
// and stream), must be stored alike and delivered alike, or refused for the same reason.
//
// What may differ, and is therefore not compared: our message id (and so the Message-ID header),
// the Date, the MIME structure a different composer writes (boundaries, part order, encodings),
// and the bodies' final line break (the API stores the body as given; SMTP mail's body is read
// from its MIME, where every line ends in one). When every recipient is inactive, the API refuses
// (Postmark's 406, which its clients parse) while SMTP records the message with each recipient
// suppressed (src/messages/accept/submission.ts says why); that case is in the table too.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import { simpleParser, type ParsedMail } from "mailparser";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink, type ReceivedMessage } from "./support/smtp-sink.js";
import { eventually } from "./support/eventually.js";
import type { MessageDetails } from "../src/messages/message.record.js";

interface Attachment {
  name: string;
  content: string;
  contentType: string;
  cid?: string;
}

interface Case {
  name: string;
  workspace?: "live" | "sandbox";
  message: {
    from: string;
    to: string;
    cc?: string;
    bcc?: string;
    subject: string;
    text?: string;
    html?: string;
    tag?: string;
    metadata?: Record<string, string>;
    stream?: string;
    headers?: Record<string, string>;
    attachments?: Attachment[];
  };
  /** Accepted (the default), refused with this error text by both doors, or door-specific. */
  expect?: { refused: RegExp } | { api: { refused: RegExp }; smtp: "recorded" };
}

const CASES: Case[] = [
  { name: "plain text", message: { from: "app@shop.test", to: "ada@example.test", subject: "Plain", text: "Hello Ada" } },
  {
    name: "text and HTML, named addresses, Cc and Bcc, tag, metadata and a custom header",
    message: {
      from: "Shop Team <app@shop.test>",
      to: "Ada Lovelace <ada@example.test>, bob@example.test",
      cc: "Carol <carol@other.test>",
      bcc: "audit@shop.test",
      subject: "Your receipt ✓",
      text: "Thanks for your order.",
      html: "<p>Thanks for your <b>order</b>.</p>",
      tag: "receipt",
      metadata: { Order: "1234" },
      headers: { "X-Order": "1234" },
    },
  },
  {
    name: "attachments, one of them inline",
    message: {
      from: "app@shop.test",
      to: "ada@example.test",
      subject: "Files",
      text: "See attached.",
      html: '<p>Logo: <img src="cid:logo@shop.test"></p>',
      attachments: [
        { name: "report.pdf", content: "%PDF-1.4 report", contentType: "application/pdf" },
        { name: "logo.png", content: "png bytes", contentType: "image/png", cid: "logo@shop.test" },
      ],
    },
  },
  { name: "another stream", message: { from: "app@shop.test", to: "ada@example.test", subject: "News", text: "Weekly", stream: "broadcast" } },
  { name: "an internationalised domain", message: { from: "app@shop.test", to: "Eve@Bücher.example", subject: "IDN", text: "Hallo" } },
  { name: "a sandboxed workspace", workspace: "sandbox", message: { from: "app@shop.test", to: "ada@example.test", subject: "Sandboxed", text: "Kept, not sent" } },
  { name: "one recipient of two inactive", message: { from: "app@shop.test", to: "gone@example.test, ada@example.test", subject: "Partly", text: "Hi" } },
  {
    name: "every recipient inactive",
    message: { from: "app@shop.test", to: "gone@example.test", subject: "Nobody", text: "Hi" },
    expect: { api: { refused: /marked as inactive/ }, smtp: "recorded" },
  },
  {
    name: "a forbidden attachment",
    message: { from: "app@shop.test", to: "ada@example.test", subject: "Setup", text: "x", attachments: [{ name: "setup.exe", content: "MZ", contentType: "application/octet-stream" }] },
    expect: { refused: /Forbidden attachment type: 'setup\.exe'\. Files of type \.exe may not be sent\./ },
  },
  { name: "a stream that does not exist", message: { from: "app@shop.test", to: "ada@example.test", subject: "x", text: "x", stream: "nope" }, expect: { refused: /The message stream 'nope' was not found/ } },
];

let sink: SmtpSink;
let server: TestServer;
const tokens: Record<"live" | "sandbox", string> = { live: "", sandbox: "" };
const workspaceIds: Record<"live" | "sandbox", string> = { live: "", sandbox: "" };

before(async () => {
  sink = await startSmtpSink();
  server = await startTestServer({
    POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
    POSTHORN_SMTP_HOST: "127.0.0.1",
    // AUTH without TLS on loopback keeps the client simple; AUTH picks the workspace.
    POSTHORN_SMTP_ALLOW_INSECURE_AUTH: "true",
    POSTHORN_VERP: "false",
  });
  for (const name of ["live", "sandbox"] as const) {
    tokens[name] = await server.createWorkspace(name, { sandbox: name === "sandbox" });
    workspaceIds[name] = (await server.app.services.workspaces.get(name)).id;
  }
  // gone@example.test is inactive on the live workspace's default stream.
  await server.app.services.store.write((trx) =>
    server.app.services.suppressions.suppress(trx, { workspaceId: workspaceIds.live, stream: "outbound", email: "gone@example.test", reason: "HardBounce", origin: "Recipient" }),
  );
});

after(async () => {
  await server.close();
  await sink.close();
});

type Outcome = { ok: true; id: string } | { ok: false; message: string };

async function viaApi(c: Case): Promise<Outcome> {
  const m = c.message;
  const body = {
    From: m.from,
    To: m.to,
    Cc: m.cc,
    Bcc: m.bcc,
    Subject: m.subject,
    TextBody: m.text,
    HtmlBody: m.html,
    Tag: m.tag,
    Metadata: m.metadata,
    MessageStream: m.stream,
    Headers: Object.entries(m.headers ?? {}).map(([Name, Value]) => ({ Name, Value })),
    Attachments: (m.attachments ?? []).map((a) => ({ Name: a.name, Content: Buffer.from(a.content).toString("base64"), ContentType: a.contentType, ContentID: a.cid ? `cid:${a.cid}` : null })),
  };
  const response = await fetch(`${server.url}/email`, {
    method: "POST",
    headers: { accept: "application/json", "content-type": "application/json", "x-postmark-server-token": tokens[c.workspace ?? "live"] },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as { MessageID?: string; ErrorCode: number; Message: string };
  return json.ErrorCode === 0 ? { ok: true, id: json.MessageID! } : { ok: false, message: json.Message };
}

async function viaSmtp(c: Case): Promise<Outcome> {
  const m = c.message;
  const token = tokens[c.workspace ?? "live"];
  const transport = nodemailer.createTransport({ host: "127.0.0.1", port: server.app.smtp!.submission[0]!.port, secure: false, ignoreTLS: true, auth: { user: token, pass: token } } as SMTPTransport.Options);
  const headers: Record<string, string> = { ...m.headers };
  if (m.tag) headers["X-PM-Tag"] = m.tag;
  if (m.stream) headers["X-PM-Message-Stream"] = m.stream;
  for (const [key, value] of Object.entries(m.metadata ?? {})) headers[`X-PM-Metadata-${key}`] = value;
  try {
    const info = await transport.sendMail({
      from: m.from,
      to: m.to,
      cc: m.cc,
      bcc: m.bcc,
      subject: m.subject,
      text: m.text,
      html: m.html,
      headers,
      attachments: (m.attachments ?? []).map((a) => ({ filename: a.name, content: Buffer.from(a.content), contentType: a.contentType, cid: a.cid })),
    });
    return { ok: true, id: /queued as ([0-9a-f-]{36})/.exec(info.response)![1]! };
  } catch (err) {
    return { ok: false, message: String((err as { response?: string }).response ?? err) };
  } finally {
    transport.close();
  }
}

/** The stored record, in the terms both doors must agree on. */
async function stored(c: Case, id: string) {
  const workspaceId = workspaceIds[c.workspace ?? "live"];
  const sandboxed = c.workspace === "sandbox";
  const details: MessageDetails = await eventually(async () => {
    const d = await server.app.services.messages.details(workspaceId, id);
    return sandboxed || d.state === "finished" ? d : null;
  });
  const deliveries = await server.app.services.messages.deliveries(server.app.services.store.db, id);
  return {
    stream: details.stream,
    envelopeFrom: details.envelopeFrom,
    from: details.from,
    to: details.to,
    cc: details.cc,
    bcc: details.bcc,
    subject: details.subject,
    tag: details.tag,
    metadata: details.metadata,
    trackOpens: details.trackOpens,
    linkTracking: details.linkTracking,
    failureNotices: details.failureNotices,
    attachments: [...details.attachments].sort(),
    sandboxed: details.sandboxed,
    state: details.state,
    textBody: details.textBody?.trimEnd() ?? null,
    htmlBody: details.htmlBody?.trimEnd() ?? null,
    deliveries: deliveries.map((d) => [d.recipient, d.state]).sort(),
    events: details.events.filter((e) => e.type.startsWith("delivery.")).map((e) => [e.type, e.recipient]).sort(),
  };
}

/** What the destination received, in the terms both doors must agree on. */
async function delivered(id: string) {
  const copies: ReceivedMessage[] = sink.messages.filter((m) => m.messageId?.includes(id));
  const parsed = await Promise.all(copies.map((m) => simpleParser(m.raw)));
  const one = (p: ParsedMail) => ({
    from: p.from?.text,
    to: [p.to].flat().map((a) => a?.text),
    cc: [p.cc].flat().map((a) => a?.text),
    bcc: p.headers.has("bcc"),
    subject: p.subject,
    text: p.text?.trimEnd(),
    html: typeof p.html === "string" ? p.html.trim() : null,
    xOrder: p.headers.get("x-order") ?? null,
    instructions: [...p.headers.keys()].filter((k) => k.startsWith("x-pm-")),
    attachments: p.attachments.map((a) => [a.filename, a.contentType, a.content.toString(), a.cid ?? null]).sort(),
  });
  return {
    transactions: copies.map((m) => [...m.rcptTo].sort().join(",")).sort(),
    messages: parsed.map(one),
  };
}

test("a message accepted by either door is stored and delivered alike, and a refused one is refused for the same reason", async () => {
  for (const c of CASES) {
    const api = await viaApi(c);
    const smtp = await viaSmtp(c);
    const expect = c.expect;
    if (expect && "refused" in expect) {
      assert.ok(!api.ok && !smtp.ok, `${c.name}: both doors refuse (api ${JSON.stringify(api)}, smtp ${JSON.stringify(smtp)})`);
      assert.match(api.message, expect.refused, `${c.name}: the API's reason`);
      assert.match(smtp.message, expect.refused, `${c.name}: the SMTP reply's reason`);
      continue;
    }
    if (expect && "api" in expect) {
      assert.ok(!api.ok && expect.api.refused.test(api.message), `${c.name}: the API refuses (${JSON.stringify(api)})`);
      assert.ok(smtp.ok, `${c.name}: SMTP records it (${JSON.stringify(smtp)})`);
      const record = await stored(c, smtp.id);
      assert.deepEqual([record.state, record.deliveries], ["finished", [["gone@example.test", "suppressed"]]], c.name);
      continue;
    }
    assert.ok(api.ok && smtp.ok, `${c.name}: both doors accept (api ${JSON.stringify(api)}, smtp ${JSON.stringify(smtp)})`);
    assert.deepEqual(await stored(c, smtp.id), await stored(c, api.id), `${c.name}: stored alike`);
    if (c.workspace !== "sandbox") {
      const wanted = (await server.app.services.messages.deliveries(server.app.services.store.db, api.id)).filter((d) => d.state === "delivered").length;
      await eventually(async () => sink.messages.filter((m) => m.messageId?.includes(api.id) || m.messageId?.includes(smtp.id)).flatMap((m) => m.rcptTo).length === 2 * wanted);
    }
    assert.deepEqual(await delivered(smtp.id), await delivered(api.id), `${c.name}: delivered alike`);
  }
});
