// The Postmark API's responses, byte for byte (after the values that change from run to run are
// replaced by placeholders), for one scenario of every kind of record: delivered, deferred then
// delivered, bounced, partly suppressed, expired, a bounce and a complaint reported by mail, a
// purge, SMTP-submitted mail and a sandboxed message. The expected text is in
// test/fixtures/postmark-wire-shapes.json. It pins what clients see while storage and mappers
// change underneath: a difference is either a regression or a deliberate change of the wire
// shape, and then the fixture changes in the same commit, with the reason.
//
// POSTHORN_UPDATE_WIRE_SHAPES=1 writes the fixture from this run instead of comparing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import nodemailer from "nodemailer";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { sendRawSmtp } from "./support/smtp-client.js";
import { eventually } from "./support/eventually.js";
import { FIXTURE_MESSAGE_ID, FIXTURE_RETURN_PATH, buildDsn } from "../src/bounces/testing/bounce-fixtures.js";
import { YAHOO_ARF_ABUSE } from "../src/bounces/testing/complaint-fixtures.js";

const FIXTURE = resolve(import.meta.dirname, "../../test/fixtures/postmark-wire-shapes.json");
const RETURN_PATH_DOMAIN = "bounces.posthorn.test";

let sink: SmtpSink;
let server: TestServer;
let token: string;
let sandboxToken: string;

const noDns = async (name: string) => {
  throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: "ENOTFOUND" });
};

before(async () => {
  sink = await startSmtpSink({
    rcptReply: (rcpt, attempt) => {
      if (rcpt.startsWith("greylist")) return attempt === 1 ? { code: 451, message: "4.7.1 Greylisted, try again later" } : null;
      if (rcpt.startsWith("unknown")) return { code: 550, message: "5.1.1 The email account that you tried to reach does not exist" };
      if (rcpt.startsWith("slow")) return { code: 451, message: "4.3.0 Mailbox busy, try later" };
      return null;
    },
  });
  server = await startTestServer(
    {
      POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
      POSTHORN_RETRY_SCHEDULE: "200ms",
      POSTHORN_MAX_QUEUE_AGE: "1s",
      POSTHORN_INBOUND_PORT: "0",
      POSTHORN_INBOUND_HOST: "127.0.0.1",
      POSTHORN_RETURN_PATH_DOMAIN: RETURN_PATH_DOMAIN,
      POSTHORN_SMTP_HOST: "127.0.0.1",
      POSTHORN_SMTP_TRUSTED_NETWORKS: "127.0.0.0/8=acme",
    },
    { inboundDns: noDns },
  );
  token = await server.createWorkspace("acme");
  sandboxToken = await server.createWorkspace("sandbox", { sandbox: true });
});

after(async () => {
  await server.close();
  await sink.close();
});

async function call(method: string, path: string, body?: unknown, as = token): Promise<{ status: number; text: string }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { accept: "application/json", "content-type": "application/json", "x-postmark-server-token": as },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

async function details(id: string, ready: (d: { Status: string; MessageEvents: Array<{ Type: string }> }) => boolean) {
  return eventually(async () => {
    const r = await call("GET", `/messages/outbound/${id}/details`);
    return ready(JSON.parse(r.text)) ? r : null;
  });
}

const send = (message: Record<string, unknown>, as = token) => call("POST", "/email", { From: "Acme <billing@acme.test>", Subject: "Invoice", TextBody: "Hello", ...message }, as);
const idOf = (r: { text: string }) => (JSON.parse(r.text) as { MessageID: string }).MessageID;
const done = (d: { Status: string }) => d.Status === "Sent";

test("the Postmark API answers in the same shapes as before", async () => {
  const shapes: Record<string, unknown> = {};
  const keep = (name: string, r: { status: number; text: string }) => (shapes[name] = { status: r.status, body: r.text });

  const delivered = await send({ To: "Ada <ada@example.test>", Cc: "carol@other.test", Bcc: "dave@example.test", Tag: "receipt", Metadata: { order: "7" }, HtmlBody: "<p>Hi</p>", Attachments: [{ Name: "a.txt", Content: "aGk=", ContentType: "text/plain" }] });
  keep("POST /email", delivered);
  keep("details: delivered", await details(idOf(delivered), (d) => done(d) && d.MessageEvents.length === 3));

  const greylisted = await send({ To: "greylist@example.test" });
  keep("details: deferred then delivered", await details(idOf(greylisted), (d) => done(d) && d.MessageEvents.some((e) => e.Type === "Delivered")));

  const bounced = await send({ To: "unknown@example.test" });
  keep("details: bounced", await details(idOf(bounced), done));

  const partly = await send({ To: "unknown@example.test, ada@example.test" });
  keep("POST /email: partly inactive", partly);
  keep("details: partly suppressed", await details(idOf(partly), (d) => done(d) && d.MessageEvents.length === 2));
  keep("POST /email: all inactive", await send({ To: "unknown@example.test" }));

  const expired = await send({ To: "slow@example.test" });
  keep("details: expired", await details(idOf(expired), done));

  keep("POST /email/batch", await call("POST", "/email/batch", [
    { From: "billing@acme.test", To: "batch1@example.test", Subject: "One", TextBody: "1" },
    { From: "billing@acme.test", To: "unknown@example.test", Subject: "Two", TextBody: "2" },
    { From: "billing@acme.test", To: "not an address", Subject: "Three", TextBody: "3" },
  ]));

  // A bounce and a complaint that come back by mail, to the VERP address of a delivered message.
  const reported = await send({ To: "later@example.net" });
  const reportedId = idOf(reported);
  const received = await eventually(async () => sink.messages.find((m) => m.rcptTo.includes("later@example.net")));
  await details(reportedId, done);
  const answering = (fixture: string | Buffer) =>
    fixture.toString().split(FIXTURE_RETURN_PATH).join(received.mailFrom).split(FIXTURE_MESSAGE_ID).join(`${reportedId}@posthorn.test`);
  const inbound = server.app.smtp!.inbound!.port;
  await sendRawSmtp(inbound, { from: "", to: [received.mailFrom] }, answering(buildDsn({ recipient: "later@example.net", returnPath: received.mailFrom, messageId: `${reportedId}@posthorn.test` })));
  const complained = await send({ To: "fbl@example.net" });
  const complainedId = idOf(complained);
  const fbl = await eventually(async () => sink.messages.find((m) => m.rcptTo.includes("fbl@example.net")));
  await details(complainedId, done);
  await sendRawSmtp(inbound, { from: "", to: [fbl.mailFrom] }, YAHOO_ARF_ABUSE.split(FIXTURE_RETURN_PATH).join(fbl.mailFrom).split(FIXTURE_MESSAGE_ID).join(`${complainedId}@posthorn.test`));
  keep("details: bounce reported by mail", await details(reportedId, (d) => d.MessageEvents.some((e) => e.Type === "Bounced")));
  keep("details: complaint", await details(complainedId, (d) => d.MessageEvents.some((e) => e.Type === "SpamComplaint")));

  // Mail submitted over SMTP by a trusted client.
  const transport = nodemailer.createTransport({ host: "127.0.0.1", port: server.app.smtp!.submission[0]!.port, secure: false, ignoreTLS: true });
  const info = await transport.sendMail({ from: "Acme <billing@acme.test>", to: "Ada <ada@example.test>", cc: "carol@other.test", subject: "By SMTP", text: "Hello", headers: { "X-PM-Tag": "smtp", "X-PM-Metadata-order": "8" } });
  transport.close();
  const smtpId = /queued as ([0-9a-f-]{36})/.exec(info.response)![1]!;
  keep("details: submitted by SMTP", await details(smtpId, (d) => done(d) && d.MessageEvents.length === 2));

  keep("POST /email: sandboxed", await send({ To: "ada@example.test" }, sandboxToken));
  keep("GET /messages/outbound (sandbox)", await call("GET", "/messages/outbound?count=10&offset=0", undefined, sandboxToken));
  keep("GET /messages/outbound", await call("GET", "/messages/outbound?count=50&offset=0"));
  keep("GET /messages/outbound?status=queued", await call("GET", "/messages/outbound?count=50&offset=0&status=queued"));
  keep("GET /messages/outbound/{id}/dump", await call("GET", `/messages/outbound/${idOf(delivered)}/dump`));

  const actual = `${JSON.stringify(normalize(shapes), null, 1)}\n`;
  if (process.env.POSTHORN_UPDATE_WIRE_SHAPES === "1") {
    writeFileSync(FIXTURE, actual);
    return;
  }
  const expected = readFileSync(FIXTURE, "utf8");
  const a = JSON.parse(actual) as Record<string, unknown>;
  const e = JSON.parse(expected) as Record<string, unknown>;
  for (const key of Object.keys(e)) assert.equal(JSON.stringify(a[key], null, 1), JSON.stringify(e[key], null, 1), key);
  assert.equal(actual, expected);
});

/**
 * Replaces what differs between runs: ids (numbered by first appearance, so that equal ids stay
 * equal), times, ports, MIME boundaries, attempt counts, and runs of repeated deferral events.
 */
function normalize(shapes: Record<string, unknown>): Record<string, unknown> {
  const ids = new Map<string, string>();
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(shapes)) {
    const { status, body } = value as { status: number; text?: string; body: string };
    let text = body
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => {
        if (!ids.has(id)) ids.set(id, `<id ${ids.size + 1}>`);
        return ids.get(id)!;
      })
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>")
      .replace(/(Date: )[^\\]+?(\\r\\n)/g, "$1<date>$2")
      // The date that ends a Received field (RFC 5321 §4.4), on its own folded line.
      .replace(/(\\r\\n\\t)[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}(\\r\\n)/g, "$1<date>$2")
      .replace(/--_[A-Za-z0-9_-]+/g, "--<boundary>")
      .replace(/boundary=\\"[^\\]+\\"/g, 'boundary=\\"<boundary>\\"')
      .replace(/bounce\+[0-9a-z]+\.[0-9a-f]+@/g, "bounce+<verp>@")
      .replace(/Gave up after \d+ attempts/g, "Gave up after <n> attempts")
      .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<port>")
      .replace(/"BounceID":"\d+"/g, '"BounceID":"<n>"');
    const parsed = JSON.parse(text) as { MessageEvents?: unknown[]; Messages?: unknown[] };
    if (parsed && typeof parsed === "object" && Array.isArray(parsed.MessageEvents)) {
      // Retries are timed: keep one of each run of equal events.
      const events = parsed.MessageEvents.filter((e, i, all) => i === 0 || JSON.stringify(e) !== JSON.stringify(all[i - 1]));
      // Recipients of different domains are delivered in transactions of their own, at once: a
      // run of events of one type (both Delivered) comes in whichever order they finished, so
      // such a run is compared in a fixed order.
      const sorted: unknown[] = [];
      for (let i = 0; i < events.length; ) {
        const type = (events[i] as { Type?: string }).Type;
        let j = i;
        while (j < events.length && (events[j] as { Type?: string }).Type === type) j++;
        sorted.push(...events.slice(i, j).map((e) => JSON.stringify(e)).sort().map((e) => JSON.parse(e) as unknown));
        i = j;
      }
      parsed.MessageEvents = sorted;
      text = JSON.stringify(parsed);
    }
    if (parsed && typeof parsed === "object" && Array.isArray(parsed.Messages)) {
      // Messages accepted in the same millisecond are listed in the order of their ids' random
      // part; the list's order is tested elsewhere, its entries here.
      parsed.Messages = parsed.Messages.map((m) => JSON.stringify(m)).sort().map((m) => JSON.parse(m) as unknown);
      text = JSON.stringify(parsed);
    }
    out[name] = { status, body: text };
  }
  return out;
}
