// One-click unsubscribe (RFC 8058) end to end: broadcast mail carries List-Unsubscribe and
// List-Unsubscribe-Post under its DKIM signature (verified with mailauth on the delivered bytes);
// the link's page and its one-click POST suppress the recipient on the stream with origin
// Recipient, announced by suppression.added; transactional mail and other handlings get nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { dkimVerify } from "mailauth";
import { AccountClient, ServerClient } from "postmark";
import { startDnsZoneServer, type DnsZoneServer } from "../src/sending-domains/testing/dns-zone-server.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { eventually } from "./support/eventually.js";
import { sendRawSmtp } from "./support/smtp-client.js";

let dns: DnsZoneServer;
let sink: SmtpSink;
let server: TestServer;
let brand: ServerClient;

before(async () => {
  sink = await startSmtpSink();
  dns = await startDnsZoneServer({ "rcpt.test": { MX: [{ priority: 10, exchange: "mx.rcpt.test" }] }, "mx.rcpt.test": { A: ["127.0.0.1"] } });
  // An inbound listener: the unsubscribe fields then offer the mailto: form too.
  server = await startTestServer({ POSTHORN_DNS_SERVERS: dns.address, POSTHORN_DELIVERY_PORT: String(sink.port), POSTHORN_INBOUND_PORT: "0" });
  const host = server.url.replace(/^http:\/\//, "");
  const account = new AccountClient(await server.app.services.workspaces.createAccountToken(), { useHttps: false, requestHost: host });
  const domain = await account.createDomain({ Name: "brand.test" });
  dns.zone[domain.DKIMPendingHost] = { TXT: [domain.DKIMPendingTextValue] };
  assert.equal((await account.verifyDomainDKIM(domain.ID)).DKIMVerified, true);
  brand = new ServerClient(await server.createWorkspace("brand"), { useHttps: false, requestHost: host });
});

after(async () => {
  await server.close();
  await sink.close();
  await dns.close();
});

async function deliveredRaw(messageId: string): Promise<string> {
  const received = await eventually(async () => sink.messages.find((m) => m.messageId?.includes(messageId)));
  return received.raw.toString("latin1");
}

function headerSection(raw: string): string {
  return raw.slice(0, raw.indexOf("\r\n\r\n"));
}

/** mailauth's resolver over the test's DNS zone. */
async function resolveTxt(name: string, type: string): Promise<string[][]> {
  const entry = dns.zone[name.toLowerCase()];
  if (type !== "TXT" || !entry?.TXT) throw Object.assign(new Error(`no ${type} for ${name}`), { code: "ENOTFOUND" });
  return [entry.TXT];
}

test("broadcast mail carries signed one-click unsubscribe fields, and one POST suppresses the recipient on that stream", async () => {
  const sent = await brand.sendEmail({
    From: "news@brand.test",
    To: "reader@rcpt.test",
    Subject: "News",
    HtmlBody: "<p>news</p>",
    MessageStream: "broadcast",
    Headers: [{ Name: "List-Unsubscribe", Value: "<https://sender.example/unsub>" }],
  });
  const raw = await deliveredRaw(sent.MessageID);
  const head = headerSection(raw);
  const listUnsubscribe = /^List-Unsubscribe: <([^>]+)>/m.exec(head)?.[1];
  assert.ok(listUnsubscribe, head);
  assert.ok(listUnsubscribe.startsWith(`${server.url}/t/u/`));
  assert.match(head, /^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
  assert.equal(head.includes("sender.example/unsub"), false, "the sender's own field gives way to the stream's handling");
  assert.equal(head.match(/^List-Unsubscribe:/gm)?.length, 1);

  // RFC 8058 §4: the signature covers both fields, and verifies over the delivered bytes.
  const verdict = await dkimVerify(Buffer.from(raw, "latin1"), { resolver: resolveTxt as never });
  const signature = verdict.results.find((r) => r.signingDomain === "brand.test");
  assert.equal(signature?.status.result, "pass", JSON.stringify(verdict.results));
  const signed = (/^DKIM-Signature:[^]*?\bh=([^;]+);/m.exec(head)?.[1] ?? "").replace(/\s+/g, "").toLowerCase().split(":");
  assert.ok(signed.includes("list-unsubscribe") && signed.includes("list-unsubscribe-post"), signed.join(":"));

  // The page a browser shows: a form that posts back, naming no address.
  const page = await fetch(listUnsubscribe);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<form method="post">/);
  assert.equal(html.includes("reader@rcpt.test"), false);
  // Opening the page changes nothing.
  await brand.sendEmail({ From: "news@brand.test", To: "reader@rcpt.test", Subject: "still subscribed", TextBody: "x", MessageStream: "broadcast" });

  // A mail provider's one-click POST (RFC 8058 §3.2).
  const post = await fetch(listUnsubscribe, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "List-Unsubscribe=One-Click" });
  assert.equal(post.status, 200);
  const again = await fetch(listUnsubscribe, { method: "POST", headers: { "content-type": "multipart/form-data; boundary=x" }, body: '--x\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--x--\r\n' });
  assert.equal(again.status, 200, "repeating it is harmless");

  const db = server.app.services.store.db;
  const suppression = await db.selectFrom("suppressions").selectAll().where("email_key", "=", "reader@rcpt.test").execute();
  assert.deepEqual(
    suppression.map((s) => [s.stream, s.reason, s.origin]),
    [["broadcast", "ManualSuppression", "Recipient"]],
  );
  const events = await db.selectFrom("events").selectAll().where("type", "=", "suppression.added").where("recipient", "=", "reader@rcpt.test").execute();
  assert.equal(events.length, 1);
  assert.deepEqual(JSON.parse(events[0]!.data_json), { stream: "broadcast", reason: "ManualSuppression", origin: "Recipient" });
  assert.equal(events[0]!.message_id, sent.MessageID);

  // The broadcast stream now refuses the address; the transactional stream still sends to it.
  await assert.rejects(
    brand.sendEmail({ From: "news@brand.test", To: "reader@rcpt.test", Subject: "more news", TextBody: "x", MessageStream: "broadcast" }),
    (err: { code?: number }) => err.code === 406,
  );
  const receipt = await brand.sendEmail({ From: "news@brand.test", To: "reader@rcpt.test", Subject: "receipt", TextBody: "x", MessageStream: "outbound" });
  assert.equal(/^List-Unsubscribe/im.test(headerSection(await deliveredRaw(receipt.MessageID))), false, "transactional mail gets no unsubscribe field");
});

test("the mailto: form unsubscribes too: mail to its signed address suppresses the recipient, a forged one is refused", async () => {
  const sent = await brand.sendEmail({ From: "news@brand.test", To: "mailer@rcpt.test", Subject: "News", TextBody: "x", MessageStream: "broadcast" });
  const head = headerSection(await deliveredRaw(sent.MessageID));
  const field = /^List-Unsubscribe: (.*(?:\r\n[ \t].*)*)/m.exec(head)?.[1] ?? "";
  const mailto = /<mailto:([^?>]+)\?subject=unsubscribe>/.exec(field)?.[1];
  assert.ok(mailto, field);
  assert.match(mailto, /^unsub\+[a-z2-7]+@posthorn\.test$/);
  assert.ok(mailto.split("@")[0]!.length <= 64);
  const port = server.app.smtp!.inbound!.port;
  const db = server.app.services.store.db;
  const suppressed = () => db.selectFrom("suppressions").select(["stream", "origin"]).where("email_key", "=", "mailer@rcpt.test").execute();

  // A forged address (one letter changed) is nobody's: refused at RCPT, and nothing changes.
  const local = mailto.split("@")[0]!;
  const forged = `${local.slice(0, -2)}${local.at(-2) === "a" ? "b" : "a"}${local.at(-1)}@posthorn.test`;
  const refused = await sendRawSmtp(port, { from: "someone@elsewhere.example", to: [forged] }, "Subject: unsubscribe\r\n\r\nplease\r\n");
  assert.match(refused.rcpt[0]!, /^550/);
  assert.deepEqual(await suppressed(), []);

  // The mail a client sends for the mailto: form, its address in capitals as some systems write it.
  const result = await sendRawSmtp(port, { from: "mailer@rcpt.test", to: [mailto.toUpperCase()] }, "Subject: unsubscribe\r\n\r\nunsubscribe\r\n");
  assert.match(result.data ?? "", /^250/);
  assert.deepEqual(await suppressed(), [{ stream: "broadcast", origin: "Recipient" }]);
});

test("handling custom keeps the sender's fields and none adds nothing", async () => {
  const db = server.app.services.store.db;
  const host = server.url.replace(/^http:\/\//, "");
  const client = new ServerClient(await server.createWorkspace("custom"), { useHttps: false, requestHost: host });
  const workspace = await db.selectFrom("workspaces").select("id").where("name", "=", "custom").executeTakeFirstOrThrow();
  await db.updateTable("streams").set({ unsubscribe_handling: "custom" }).where("workspace_id", "=", workspace.id).where("id", "=", "broadcast").execute();
  const custom = await client.sendEmail({
    From: "news@brand.test",
    To: "one@rcpt.test",
    Subject: "custom",
    TextBody: "x",
    MessageStream: "broadcast",
    Headers: [{ Name: "List-Unsubscribe", Value: "<https://sender.example/unsub>" }],
  });
  const head = headerSection(await deliveredRaw(custom.MessageID));
  assert.match(head, /^List-Unsubscribe: <https:\/\/sender\.example\/unsub>$/m);
  assert.equal(head.includes("/t/u/"), false);

  const quiet = new ServerClient(await server.createWorkspace("quiet"), { useHttps: false, requestHost: host });
  const quietId = (await db.selectFrom("workspaces").select("id").where("name", "=", "quiet").executeTakeFirstOrThrow()).id;
  await db.updateTable("streams").set({ unsubscribe_handling: "none" }).where("workspace_id", "=", quietId).where("id", "=", "broadcast").execute();
  const none = await quiet.sendEmail({ From: "news@brand.test", To: "four@rcpt.test", Subject: "none", TextBody: "x", MessageStream: "broadcast" });
  assert.equal(/^List-Unsubscribe/im.test(headerSection(await deliveredRaw(none.MessageID))), false);
});

test("a message to several recipients gives each their own signed link, and one recipient's click unsubscribes only them", async () => {
  const several = await brand.sendEmail({ From: "news@brand.test", To: "two@rcpt.test, three@rcpt.test", Subject: "several", TextBody: "x", MessageStream: "broadcast" });
  const copyOf = async (rcpt: string) => (await eventually(async () => sink.messages.find((m) => m.messageId?.includes(several.MessageID) && m.rcptTo.includes(rcpt)))).raw.toString("latin1");
  const [two, three] = [await copyOf("two@rcpt.test"), await copyOf("three@rcpt.test")];
  const links = [two, three].map((raw) => /^List-Unsubscribe: <([^>]+)>/m.exec(headerSection(raw))?.[1]);
  assert.ok(links[0] && links[1] && links[0] !== links[1], "each copy names its own recipient");
  // Each copy went in its own transaction, to its recipient only, signed over its own bytes.
  assert.deepEqual(sink.messages.filter((m) => m.messageId?.includes(several.MessageID)).map((m) => m.rcptTo.length), [1, 1]);
  for (const raw of [two, three]) {
    const verdict = await dkimVerify(Buffer.from(raw, "latin1"), { resolver: resolveTxt as never });
    assert.equal(verdict.results.find((r) => r.signingDomain === "brand.test")?.status.result, "pass", JSON.stringify(verdict.results));
  }
  const post = await fetch(links[0]!, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "List-Unsubscribe=One-Click" });
  assert.equal(post.status, 200);
  const db = server.app.services.store.db;
  const suppressed = await db.selectFrom("suppressions").select(["email_key", "stream"]).where("email_key", "in", ["two@rcpt.test", "three@rcpt.test"]).execute();
  assert.deepEqual(suppressed, [{ email_key: "two@rcpt.test", stream: "broadcast" }]);
});
