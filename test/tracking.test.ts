// Open and click tracking end to end: messages sent through the Postmark API and SMTP submission
// are delivered to a local SMTP sink, the delivered MIME is parsed, and its pixel and links are
// fetched over real HTTP as mail clients would (desktop Outlook, iPhone Mail, Gmail's image
// proxy); then the opens and clicks are listed with the official client.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { simpleParser } from "mailparser";
import nodemailer from "nodemailer";
import * as postmarkTransportModule from "nodemailer-postmark-transport";
import { Models, ServerClient } from "postmark";
import { startDnsZoneServer, type DnsZoneServer } from "../src/sending-domains/testing/dns-zone-server.js";
import { TrackingTokens } from "../src/tracking/tracking-tokens.js";
import { writeTestMmdb } from "../src/tracking/testing/mmdb-writer.js";
import { startTestServer, tempDir, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { eventually } from "./support/eventually.js";
import { sendRawSmtp } from "./support/smtp-client.js";

export const OUTLOOK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)";
export const IPHONE_MAIL = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";
export const GMAIL_PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";

let dns: DnsZoneServer;
let sink: SmtpSink;
let server: TestServer;
let shop: ServerClient;
let other: ServerClient;
const geoDir = tempDir("posthorn-geo-");

before(async () => {
  sink = await startSmtpSink();
  dns = await startDnsZoneServer({ "rcpt.test": { MX: [{ priority: 10, exchange: "mx.rcpt.test" }] }, "mx.rcpt.test": { A: ["127.0.0.1"] } });
  // Readers on loopback are placed in Wellington by a database of the test's own.
  const geoPath = `${geoDir.path}/city.mmdb`;
  writeTestMmdb(geoPath, "127.0.0.0/8", { country: { iso_code: "NZ", names: { en: "New Zealand" } }, city: { names: { en: "Wellington" } } });
  server = await startTestServer({
    POSTHORN_GEOIP_DATABASE: geoPath,
    POSTHORN_DNS_SERVERS: dns.address,
    POSTHORN_DELIVERY_PORT: String(sink.port),
    POSTHORN_SMTP_TRUSTED_NETWORKS: "127.0.0.1/32=shop",
  });
  const host = server.url.replace(/^http:\/\//, "");
  shop = new ServerClient(await server.createWorkspace("shop"), { useHttps: false, requestHost: host });
  other = new ServerClient(await server.createWorkspace("other"), { useHttps: false, requestHost: host });
});

after(async () => {
  await server.close();
  await sink.close();
  await dns.close();
  geoDir.remove();
});

async function delivered(messageId: string) {
  const received = await eventually(async () => sink.messages.find((m) => m.messageId?.includes(messageId)));
  return { raw: received.raw, parsed: await simpleParser(received.raw) };
}

function trackingUrls(text: string, kind: "o" | "c" | "u"): string[] {
  return [...text.matchAll(new RegExp(`${server.url.replace(/[.]/g, "\\.")}/t/${kind}/[A-Za-z0-9_-]+`, "g"))].map((m) => m[0]);
}

function fetchAs(url: string, userAgent: string, init: RequestInit = {}) {
  return fetch(url, { ...init, redirect: "manual", headers: { "user-agent": userAgent, ...(init.headers ?? {}) } });
}

test("opens and clicks of an API message are recorded per reader, with the proxy's fetch not counted as a first open", async () => {
  const sent = await shop.sendEmail({
    From: "shop@shop.test",
    To: "ann@rcpt.test",
    Subject: "Your order",
    Tag: "orders",
    HtmlBody:
      '<html><body><p><a href="https://shop.example/order?id=1&amp;ref=mail">Order</a> <a href="mailto:help@shop.example">Help</a> ' +
      '<a data-pm-no-track href="https://shop.example/private">Private</a></p></body></html>',
    TextBody: "See your order at https://shop.example/text-order. Thanks!",
    TrackOpens: true,
    TrackLinks: Models.LinkTrackingOptions.HtmlAndText,
    MessageStream: "outbound",
  });
  const { parsed } = await delivered(sent.MessageID);
  const html = String(parsed.html);
  const text = parsed.text ?? "";

  // The links a reader follows are ours; the others are as written.
  assert.equal(html.includes("https://shop.example/order"), false);
  assert.equal(text.includes("https://shop.example/text-order"), false);
  assert.match(html, /href="mailto:help@shop\.example"/);
  assert.match(html, /href="https:\/\/shop\.example\/private"/);
  assert.match(text, /\/t\/c\/[A-Za-z0-9_-]+\. Thanks!/, "the sentence's full stop stays outside the link");
  const [pixel] = trackingUrls(html, "o");
  const [htmlLink] = trackingUrls(html, "c");
  const [textLink] = trackingUrls(text, "c");
  assert.ok(pixel && htmlLink && textLink);
  assert.ok(pixel.length < server.url.length + 50, `the pixel URL is short: ${pixel}`);

  for (const ua of [OUTLOOK, IPHONE_MAIL, GMAIL_PROXY]) {
    const response = await fetchAs(pixel, ua);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "image/gif");
    assert.match(response.headers.get("cache-control") ?? "", /no-store/);
    assert.equal(Buffer.from(await response.arrayBuffer()).subarray(0, 6).toString("latin1"), "GIF89a");
  }
  const click = await fetchAs(htmlLink, IPHONE_MAIL);
  assert.equal(click.status, 302);
  assert.equal(click.headers.get("location"), "https://shop.example/order?id=1&ref=mail");
  const textClick = await fetchAs(textLink, OUTLOOK);
  assert.equal(textClick.headers.get("location"), "https://shop.example/text-order");
  await fetchAs(htmlLink, IPHONE_MAIL);
  // HEAD requests (link checkers) are answered but record nothing.
  assert.equal((await fetchAs(pixel, OUTLOOK, { method: "HEAD" })).status, 200);
  assert.equal((await fetchAs(htmlLink, OUTLOOK, { method: "HEAD" })).headers.get("location"), "https://shop.example/order?id=1&ref=mail");

  const opens = await shop.getMessageOpensForSingleMessage(sent.MessageID, { count: 10, offset: 0 });
  assert.equal(opens.TotalCount, 3);
  const byClient = new Map(opens.Opens.map((o) => [o.Client.Family, o]));
  const outlook = byClient.get("Outlook")!;
  assert.deepEqual([outlook.Client.Company, outlook.OS.Family, outlook.OS.Name, outlook.Platform], ["Microsoft", "Windows", "Windows 10", "Desktop"]);
  assert.equal((outlook as unknown as { FirstOpen: boolean }).FirstOpen, true);
  assert.equal(outlook.Recipient, "ann@rcpt.test");
  assert.equal(outlook.Tag, "orders");
  assert.equal(outlook.MessageStream, "outbound");
  assert.deepEqual([outlook.Geo.IP, outlook.Geo.CountryISOCode, outlook.Geo.Country, outlook.Geo.City], ["127.0.0.1", "NZ", "New Zealand", "Wellington"]);
  const iphone = byClient.get("Apple Mail")!;
  assert.deepEqual([iphone.OS.Family, iphone.Platform, (iphone as unknown as { FirstOpen: boolean }).FirstOpen], ["iOS", "Mobile", false]);
  const gmail = byClient.get("Gmail")!;
  assert.deepEqual([gmail.Platform, gmail.OS.Name, (gmail as unknown as { FirstOpen: boolean }).FirstOpen], ["WebMail", "unknown", false]);
  assert.equal(gmail.Geo.Country, "", "a proxy's place is not the reader's");

  // Postmark's filters, as the official client sends them.
  assert.equal((await shop.getMessageOpens({ count: 10, offset: 0, platform: "Mobile" })).TotalCount, 1);
  assert.equal((await shop.getMessageOpens({ count: 10, offset: 0, client_family: "Outlook", os_family: "Windows" })).TotalCount, 1);
  assert.equal((await shop.getMessageOpens({ count: 10, offset: 0, recipient: "ANN@rcpt.test", tag: "orders", messageStream: "outbound" })).TotalCount, 3);
  assert.equal((await shop.getMessageOpens({ count: 10, offset: 0, tag: "other" })).TotalCount, 0);
  assert.equal((await shop.getMessageOpens({ count: 10, offset: 0, country: "New Zealand", city: "Wellington" })).TotalCount, 2);
  assert.equal((await shop.getMessageOpens({ count: 1, offset: 1 })).Opens.length, 1);

  const clicks = await shop.getMessageClicksForSingleMessage(sent.MessageID, { count: 10, offset: 0 });
  assert.equal(clicks.TotalCount, 3);
  const locations = clicks.Clicks.map((c) => `${c.ClickLocation} ${c.OriginalLink}`).sort();
  assert.deepEqual(locations, ["HTML https://shop.example/order?id=1&ref=mail", "HTML https://shop.example/order?id=1&ref=mail", "Text https://shop.example/text-order"]);
  assert.equal((await shop.getMessageClicks({ count: 10, offset: 0, platform: "Desktop" })).TotalCount, 1);

  const details = await shop.getOutboundMessageDetails(sent.MessageID);
  const types = details.MessageEvents.map((e) => e.Type);
  assert.equal(types.filter((t) => t === "Opened").length, 3);
  assert.equal(types.filter((t) => t === "LinkClicked").length, 3);
  const clicked = details.MessageEvents.find((e) => e.Type === "LinkClicked")!;
  assert.equal((clicked.Details as Record<string, string>).Link, "https://shop.example/order?id=1&ref=mail");
  assert.equal(details.TrackOpens, true);

  // First click per link: the second click on the HTML link is not a first.
  const rows = await server.app.services.store.db.selectFrom("events").select(["type", "data_json"]).where("message_id", "=", sent.MessageID).where("type", "=", "delivery.clicked").orderBy("id").execute();
  assert.deepEqual(rows.map((r) => (JSON.parse(r.data_json) as { firstClick: boolean }).firstClick), [true, true, false]);

  // Another workspace sees none of it.
  assert.equal((await other.getMessageOpens({ count: 10, offset: 0 })).TotalCount, 0);
  assert.equal((await other.getMessageClicks({ count: 10, offset: 0 })).TotalCount, 0);
  await assert.rejects(other.getMessageOpensForSingleMessage(sent.MessageID, { count: 10, offset: 0 }), (err: { code?: number; statusCode?: number }) => err.code === 701 && err.statusCode === 422);
});

test("forged, altered, truncated and foreign tokens get a plain 404 that echoes nothing, and redirect nowhere", async () => {
  const sent = await shop.sendEmail({ From: "shop@shop.test", To: "bob@rcpt.test", Subject: "s", HtmlBody: '<a href="https://shop.example/x">x</a>', TrackLinks: Models.LinkTrackingOptions.HtmlOnly });
  const { parsed } = await delivered(sent.MessageID);
  const [link] = trackingUrls(String(parsed.html), "c");
  assert.ok(link);
  const token = link.split("/t/c/")[1]!;
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
  const foreign = new TrackingTokens(randomBytes(32));
  const candidates = [
    `${server.url}/t/c/${flip(token, 5)}`, // message id altered
    `${server.url}/t/c/${flip(token, token.length - 3)}`, // MAC altered
    `${server.url}/t/c/${token.slice(0, -4)}`, // cut
    `${server.url}/t/c/${token}AA`, // lengthened
    `${server.url}/t/c/${foreign.sign({ kind: "click", messageId: sent.MessageID, location: "html", url: "http://127.0.0.1:8080/admin" })}`,
    `${server.url}/t/c/${foreign.sign({ kind: "click", messageId: sent.MessageID, location: "html", url: "https://evil.example/" })}`,
    `${server.url}/t/o/${token}`, // a click token is no open token
    `${server.url}/t/u/${token}`,
    `${server.url}/t/c/${"A".repeat(5000)}`,
    `${server.url}/t/c/%3Cscript%3Ealert(1)%3C%2Fscript%3E`,
    `${server.url}/t/c/`,
  ];
  for (const url of candidates) {
    const response = await fetchAs(url, OUTLOOK);
    assert.equal(response.status, 404, url);
    assert.equal(response.headers.get("location"), null, url);
    assert.match(response.headers.get("content-type") ?? "", /^text\/html/, url);
    const body = await response.text();
    assert.equal(body.includes("script"), false, url);
    assert.equal(body.includes("evil") || body.includes("127.0.0.1"), false, url);
  }
  const post = await fetchAs(`${server.url}/t/u/${flip(token, 5)}`, OUTLOOK, { method: "POST", body: "List-Unsubscribe=One-Click", headers: { "content-type": "application/x-www-form-urlencoded" } });
  assert.equal(post.status, 404);
  // Nothing was recorded for any of them.
  assert.equal((await shop.getMessageClicksForSingleMessage(sent.MessageID, { count: 10, offset: 0 })).TotalCount, 0);
});

test("without tracking nothing is added: no pixel, no rewritten link, the bodies as written", async () => {
  const html = '<html><body><a href="https://shop.example/plain">plain</a></body></html>';
  const sent = await shop.sendEmail({ From: "shop@shop.test", To: "cat@rcpt.test", Subject: "s", HtmlBody: html, TextBody: "https://shop.example/plain" });
  const { raw, parsed } = await delivered(sent.MessageID);
  assert.equal(String(parsed.html), html);
  assert.equal(parsed.text?.trim(), "https://shop.example/plain");
  assert.equal(raw.toString("latin1").includes("/t/"), false);
  assert.equal(/^List-Unsubscribe/im.test(raw.toString("latin1")), false);
  const details = await shop.getOutboundMessageDetails(sent.MessageID);
  assert.deepEqual([details.TrackOpens, details.TrackLinks], [false, "None"]);
});

test("the workspace's tracking setting applies when the message says nothing", async () => {
  const host = server.url.replace(/^http:\/\//, "");
  const token = await server.createWorkspace("tracked");
  const db = server.app.services.store.db;
  await db.updateTable("workspaces").set({ track_opens: 1, track_links: "html-only" }).where("name", "=", "tracked").execute();
  const client = new ServerClient(token, { useHttps: false, requestHost: host });
  const sent = await client.sendEmail({ From: "a@shop.test", To: "dan@rcpt.test", Subject: "s", HtmlBody: '<a href="https://shop.example/d">d</a>', TextBody: "https://shop.example/d" });
  const { parsed } = await delivered(sent.MessageID);
  assert.equal(trackingUrls(String(parsed.html), "o").length, 1);
  assert.equal(trackingUrls(String(parsed.html), "c").length, 1);
  assert.equal(trackingUrls(parsed.text ?? "", "c").length, 0, "HtmlOnly leaves the text part alone");
  const details = await client.getOutboundMessageDetails(sent.MessageID);
  assert.deepEqual([details.TrackOpens, details.TrackLinks], [true, "HtmlOnly"]);
});

test("SMTP mail with X-PM-TrackOpens and X-PM-TrackLinks is tracked too, through its own transfer encodings", async () => {
  const port = server.app.smtp!.submission[0]!.port;
  const boundary = "b-123";
  const htmlQp = '<html><body><p>Caf=C3=A9 <a href=3D"https://shop.example/smtp?a=3D1">menu</a></p></body></html>';
  const textB64 = Buffer.from("Visit https://shop.example/smtp-text now\r\n").toString("base64");
  const raw = [
    "From: shop@shop.test",
    "To: eve@rcpt.test",
    "Subject: over SMTP",
    "Message-ID: <smtp-tracked@shop.test>",
    "X-PM-KeepID: true",
    "X-PM-TrackOpens: true",
    "X-PM-TrackLinks: HtmlAndText",
    "MIME-Version: 1.0",
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    "",
    "preamble",
    `--${boundary}`,
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: base64",
    "",
    textB64,
    `--${boundary}`,
    "Content-Type: text/html; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    htmlQp,
    `--${boundary}--`,
    "",
  ].join("\r\n");
  const result = await sendRawSmtp(port, { from: "shop@shop.test", to: ["eve@rcpt.test"] }, raw);
  assert.match(result.data ?? "", /^250/);
  const received = await eventually(async () => sink.messages.find((m) => m.messageId?.includes("smtp-tracked@shop.test")));
  const parsed = await simpleParser(received.raw);
  assert.match(String(parsed.html), /Café/);
  const [pixel] = trackingUrls(String(parsed.html), "o");
  const [htmlLink] = trackingUrls(String(parsed.html), "c");
  const [textLink] = trackingUrls(parsed.text ?? "", "c");
  assert.ok(pixel && htmlLink && textLink);
  assert.match(parsed.text ?? "", / now/);
  assert.equal((await fetchAs(htmlLink, OUTLOOK)).headers.get("location"), "https://shop.example/smtp?a=1");
  assert.equal((await fetchAs(textLink, OUTLOOK)).headers.get("location"), "https://shop.example/smtp-text");
  assert.equal((await fetchAs(pixel, IPHONE_MAIL)).status, 200);
  assert.match(received.raw.toString("latin1"), /\r\npreamble\r\n--b-123\r\n/, "the structure is kept");
});

test("a message to several recipients is tracked per recipient: each copy has its own pixel and links, and each read is its reader's", async () => {
  const sent = await shop.sendEmail({
    From: "shop@shop.test",
    To: "kim@rcpt.test, lou@rcpt.test",
    Cc: "max@rcpt.test",
    Subject: "To the team",
    Tag: "team",
    HtmlBody: '<html><body><p><a href="https://shop.example/team">Team page</a></p></body></html>',
    TextBody: "Team page: https://shop.example/team-text",
    TrackOpens: true,
    TrackLinks: Models.LinkTrackingOptions.HtmlAndText,
  });
  const copies = new Map<string, { html: string; text: string }>();
  for (const rcpt of ["kim@rcpt.test", "lou@rcpt.test", "max@rcpt.test"]) {
    const received = await eventually(async () => sink.messages.find((m) => m.messageId?.includes(sent.MessageID) && m.rcptTo.includes(rcpt)));
    assert.deepEqual(received.rcptTo, [rcpt], "each copy goes to its own recipient alone");
    const parsed = await simpleParser(received.raw);
    copies.set(rcpt, { html: String(parsed.html), text: parsed.text ?? "" });
  }
  const pixels = [...copies.values()].map((c) => trackingUrls(c.html, "o")[0]);
  const links = [...copies.values()].map((c) => trackingUrls(c.text, "c")[0]);
  assert.equal(new Set(pixels).size, 3, "three different pixels");
  assert.equal(new Set(links).size, 3, "three different text links");
  // The stored message is the one every copy was made from, with nothing of anyone's in it.
  const stored = await server.app.services.store.db.selectFrom("messages").select("mime").where("id", "=", sent.MessageID).executeTakeFirstOrThrow();
  assert.equal(Buffer.from(stored.mime).toString("latin1").includes("/t/o/"), false);

  // Lou opens twice and clicks the text link; Max opens once; Kim never reads it.
  const [, louPixel, maxPixel] = pixels;
  await fetchAs(louPixel!, OUTLOOK);
  await fetchAs(louPixel!, OUTLOOK);
  await fetchAs(maxPixel!, IPHONE_MAIL);
  const click = await fetchAs(links[1]!, OUTLOOK);
  assert.equal(click.headers.get("location"), "https://shop.example/team-text");

  const opens = await shop.getMessageOpensForSingleMessage(sent.MessageID, { count: 10, offset: 0 });
  assert.deepEqual(opens.Opens.map((o) => [o.Recipient, (o as unknown as { FirstOpen: boolean }).FirstOpen]).sort(), [["lou@rcpt.test", false], ["lou@rcpt.test", true], ["max@rcpt.test", true]]);
  const clicks = await shop.getMessageClicksForSingleMessage(sent.MessageID, { count: 10, offset: 0 });
  assert.deepEqual(clicks.Clicks.map((c) => [c.Recipient, c.OriginalLink]), [["lou@rcpt.test", "https://shop.example/team-text"]]);
  assert.equal((await shop.getMessageOpens({ count: 10, offset: 0, recipient: "kim@rcpt.test" })).TotalCount, 0);
});

test("a second, independent client (nodemailer-postmark-transport) sends tracked mail whose opens and clicks are recorded alike", async () => {
  const postmarkTransport = (postmarkTransportModule as unknown as { default: (options: object) => never }).default;
  const host = server.url.replace(/^http:\/\//, "");
  const token = await server.createWorkspace("second-client");
  const transport = nodemailer.createTransport(postmarkTransport({ auth: { apiKey: token }, postmarkOptions: { useHttps: false, requestHost: host, timeout: 20 } }));
  const info = (await transport.sendMail({
    from: "shop@shop.test",
    to: "bea@rcpt.test",
    subject: "Through nodemailer",
    html: '<p><a href="https://shop.example/nm">Go</a></p>',
    trackOpens: true,
    trackLinks: "HtmlOnly",
    tag: "nm",
  } as never)) as unknown as { messageId: string };
  const client = new ServerClient(token, { useHttps: false, requestHost: host });
  const [stored] = (await client.getOutboundMessages({ count: 1, offset: 0, recipient: "bea@rcpt.test" })).Messages;
  assert.ok(stored, `the message was accepted (${JSON.stringify(info)})`);
  assert.equal(stored.TrackOpens, true);
  const { parsed } = await delivered(stored.MessageID);
  const html = String(parsed.html);
  const [pixel] = trackingUrls(html, "o");
  const [link] = trackingUrls(html, "c");
  assert.ok(pixel && link, "the pixel and the link are ours");
  assert.equal((await fetchAs(pixel, OUTLOOK)).status, 200);
  assert.equal((await fetchAs(link, OUTLOOK)).headers.get("location"), "https://shop.example/nm");
  const opens = await client.getMessageOpensForSingleMessage(stored.MessageID, { count: 10, offset: 0 });
  assert.deepEqual(opens.Opens.map((o) => [o.Recipient, o.Tag, o.Client.Family]), [["bea@rcpt.test", "nm", "Outlook"]]);
  const clicks = await client.getMessageClicksForSingleMessage(stored.MessageID, { count: 10, offset: 0 });
  assert.deepEqual(clicks.Clicks.map((c) => [c.OriginalLink, c.ClickLocation]), [["https://shop.example/nm", "HTML"]]);
});
