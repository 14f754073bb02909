// The Sender Signatures API driven by the official postmark AccountClient against a running
// Posthorn, with the confirmation mail delivered by Posthorn's own MTA to an SMTP sink on loopback
// and its link opened as a person would (GET page, then the button's POST).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { AccountClient, ServerClient } from "postmark";
import { simpleParser } from "mailparser";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { confirmationLinkFor, confirmByLink, onServer, pathOf } from "./support/sender-confirmation.js";
import { startDnsZoneServer, type DnsZoneServer } from "../src/sending-domains/testing/dns-zone-server.js";
import { failure } from "../src/api/postmark/testing/client-failure.js";

const HOSTNAME = "mta.posthorn.test";
const RESEND_INTERVAL_MS = 1_500;

describe("Sender Signatures API (AccountClient)", () => {
  let sink: SmtpSink;
  let dns: DnsZoneServer;
  let server: TestServer;
  let account: AccountClient;
  let accountToken: string;

  before(async () => {
    sink = await startSmtpSink();
    dns = await startDnsZoneServer();
    server = await startTestServer({
      POSTHORN_HOSTNAME: HOSTNAME,
      POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
      POSTHORN_DNS_SERVERS: dns.address,
      POSTHORN_SYSTEM_FROM: "confirm@system.posthorn.test",
      POSTHORN_SENDER_CONFIRMATION_URL: "https://posthorn.example.test/base",
      POSTHORN_SENDER_CONFIRMATION_INTERVAL: `${RESEND_INTERVAL_MS}ms`,
    });
    accountToken = await server.app.services.workspaces.createAccountToken();
    account = new AccountClient(accountToken, { useHttps: false, requestHost: server.url.replace(/^http:\/\//, ""), timeout: 30 });
  });

  after(async () => {
    await server.close();
    await sink.close();
    await dns.close();
  });

  test("creating a signature mails a confirmation link; GET shows a button and confirms nothing, POST confirms", async () => {
    const created = await account.createSenderSignature({ FromEmail: "Billing@Shop.example.test", Name: "Shop Billing", ReplyToEmail: "help@shop.example.test", ConfirmationPersonalNote: "From <b>Ada</b> at Shop" });
    assert.equal(typeof created.ID, "number");
    assert.equal(created.EmailAddress, "Billing@shop.example.test");
    assert.equal(created.Domain, "shop.example.test");
    assert.equal(created.Name, "Shop Billing");
    assert.equal(created.ReplyToEmailAddress, "help@shop.example.test");
    assert.equal(created.Confirmed, false);
    assert.equal(created.ConfirmationPersonalNote, "From <b>Ada</b> at Shop");
    // The DNS half is the signature's domain, registered as a sending domain.
    assert.equal(created.SPFHost, "shop.example.test");
    assert.equal(created.SPFTextValue, `v=spf1 a:${HOSTNAME} ~all`);
    assert.match(created.DKIMPendingHost, /^ph\d{8}\._domainkey\.shop\.example\.test$/);
    assert.equal(created.DKIMVerified, false);
    assert.equal(created.ReturnPathDomain, "pm-bounces.shop.example.test");
    assert.equal(created.ReturnPathDomainCNAMEValue, HOSTNAME);
    const domains = await account.getDomains({ count: 50, offset: 0 });
    assert.ok(domains.Domains.some((d) => d.Name === "shop.example.test"));

    const link = await confirmationLinkFor(sink, "Billing@shop.example.test");
    assert.match(link, new RegExp(`^https://posthorn\\.example\\.test/base/confirm/sender/${created.ID}/[0-9a-f]{32}$`));
    const mail = sink.messages.find((m) => m.rcptTo.includes("Billing@shop.example.test"))!;
    const parsed = await simpleParser(mail.raw);
    assert.equal(parsed.from?.value[0]?.address, "confirm@system.posthorn.test");
    assert.match(parsed.text ?? "", /From <b>Ada<\/b> at Shop/); // the note as written in the text part
    assert.match(String(parsed.html), /From &lt;b&gt;Ada&lt;\/b&gt; at Shop/); // and escaped in the HTML part
    assert.ok(!/<b>Ada<\/b>/.test(String(parsed.html)));

    const page = await fetch(onServer(server.url, link));
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(page.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
    const html = await page.text();
    assert.match(html, /<form method="post"/);
    assert.match(html, /Billing@shop\.example\.test/);
    // A mail scanner's GET confirms nothing.
    assert.equal((await account.getSenderSignature(created.ID)).Confirmed, false);

    const { confirmed, confirmedText } = await confirmByLink(server.url, link);
    assert.equal(confirmed.status, 200);
    assert.match(confirmedText, /is confirmed/);
    const details = await account.getSenderSignature(created.ID);
    assert.equal(details.Confirmed, true);
    const listed = await account.getSenderSignatures({ count: 100, offset: 0 });
    assert.deepEqual(
      listed.SenderSignatures.find((s) => s.ID === created.ID),
      { ID: created.ID, Name: "Shop Billing", Confirmed: true, Domain: "shop.example.test", EmailAddress: "Billing@shop.example.test", ReplyToEmailAddress: "help@shop.example.test" },
    );
    // Pressing the button again is harmless; the page says it is confirmed.
    const again = await confirmByLink(server.url, link);
    assert.equal(again.confirmed.status, 200);
    assert.match(again.pageText, /is confirmed/);
    // The confirmation mail is the system workspace's message, never a tenant's.
    const tenant = new ServerClient(await server.createWorkspace("tenant-a"), { useHttps: false, requestHost: server.url.replace(/^http:\/\//, "") });
    assert.equal((await tenant.getOutboundMessages({ count: 50, offset: 0 })).TotalCount, 0);
    const system = await server.app.services.workspaces.get("posthorn-system");
    assert.equal(system.sandbox, false);
    const systemMessages = await server.app.services.store.db.selectFrom("messages").select(["id", "subject"]).where("workspace_id", "=", system.id).execute();
    assert.ok(systemMessages.some((m) => m.subject === "Confirm your sender address Billing@shop.example.test"));
    // Confirmed: no more confirmation mails.
    assert.deepEqual(await failure(account.resendSenderSignatureConfirmation(created.ID)), { name: "ApiInputError", statusCode: 422, code: 506, message: "The sender signature Billing@shop.example.test is already confirmed." });
  });

  test("forged, altered and borrowed links get a plain 404 and confirm nothing", async () => {
    const a = await account.createSenderSignature({ FromEmail: "a@forge.example.test", Name: "A" });
    const b = await account.createSenderSignature({ FromEmail: "b@forge.example.test", Name: "B" });
    const linkA = await confirmationLinkFor(sink, "a@forge.example.test");
    const path = pathOf(linkA);
    const mac = path.split("/").pop()!;
    const flipped = mac.slice(0, -1) + (mac.endsWith("0") ? "1" : "0");
    const forged = [
      path.replace(/[0-9a-f]{32}$/, flipped), // one character changed
      path.replace(`/${a.ID}/`, `/${b.ID}/`), // A's MAC on B
      path.slice(0, -2), // shortened
      `/confirm/sender/${a.ID}/${"0".repeat(32)}`,
      `/confirm/sender/999999/${mac}`,
      `/confirm/sender/abc/${mac}`,
      `/confirm/sender/${a.ID}/${"z".repeat(32)}`,
    ];
    for (const p of forged) {
      for (const method of ["GET", "POST"]) {
        const res = await fetch(server.url + p, { method, headers: method === "POST" ? { "content-type": "application/x-www-form-urlencoded" } : {}, body: method === "POST" ? "" : undefined, redirect: "manual" });
        assert.equal(res.status, 404, `${method} ${p}`);
        assert.equal(await res.text(), "Not Found");
        assert.equal(res.headers.get("location"), null);
      }
    }
    // The right link with a body that is not our empty form (over 1 KB) confirms nothing either.
    const stuffed = await fetch(server.url + path, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "x=" + "y".repeat(4096) });
    assert.equal(stuffed.status, 404);
    assert.equal((await account.getSenderSignature(a.ID)).Confirmed, false);
    assert.equal((await account.getSenderSignature(b.ID)).Confirmed, false);
    // A deleted and re-created signature is not confirmed by the old mail's link.
    await account.deleteSenderSignature(a.ID);
    const again = await account.createSenderSignature({ FromEmail: "a@forge.example.test", Name: "A again" });
    const res = await fetch(server.url + path.replace(`/${a.ID}/`, `/${again.ID}/`), { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "" });
    assert.equal(res.status, 404);
    assert.equal((await account.getSenderSignature(again.ID)).Confirmed, false);
  });

  test("resend: refused within the interval (429), then mailed again; 501 for an unknown ID", async () => {
    const created = await account.createSenderSignature({ FromEmail: "resend@shop2.example.test", Name: "Resend" });
    await confirmationLinkFor(sink, "resend@shop2.example.test");
    const tooSoon = await failure(account.resendSenderSignatureConfirmation(created.ID));
    assert.equal(tooSoon.statusCode, 429);
    assert.equal(tooSoon.code, 429);
    assert.match(tooSoon.message, /less than 2 seconds ago/);
    await new Promise((r) => setTimeout(r, RESEND_INTERVAL_MS + 100));
    const before = sink.messages.filter((m) => m.rcptTo.includes("resend@shop2.example.test")).length;
    const resent = await account.resendSenderSignatureConfirmation(created.ID);
    assert.deepEqual(resent, { ErrorCode: 0, Message: "Confirmation email for Sender Signature resend@shop2.example.test was re-sent." });
    const until = Date.now() + 20_000;
    while (sink.messages.filter((m) => m.rcptTo.includes("resend@shop2.example.test")).length === before && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.equal(sink.messages.filter((m) => m.rcptTo.includes("resend@shop2.example.test")).length, before + 1);
    // The resent mail carries a working link.
    const { confirmed } = await confirmByLink(server.url, await confirmationLinkFor(sink, "resend@shop2.example.test"));
    assert.equal(confirmed.status, 200);
    assert.equal((await account.getSenderSignature(created.ID)).Confirmed, true);
    assert.equal((await failure(account.resendSenderSignatureConfirmation(999_999))).code, 501);
  });

  test("edit, verify SPF, request a new DKIM key and delete", async () => {
    const created = await account.createSenderSignature({ FromEmail: "ops@dns.example.test", Name: "Ops", ReturnPathDomain: "bounce.dns.example.test" });
    assert.equal(created.ReturnPathDomain, "bounce.dns.example.test");
    const edited = await account.editSenderSignature(created.ID, { Name: "  Ops   Team ", ReplyToEmail: "reply@dns.example.test", ConfirmationPersonalNote: "note" });
    assert.equal(edited.Name, "Ops Team");
    assert.equal(edited.ReplyToEmailAddress, "reply@dns.example.test");
    assert.equal(edited.ConfirmationPersonalNote, "note");
    assert.equal(edited.EmailAddress, "ops@dns.example.test");

    assert.equal((await account.verifySenderSignatureSPF(created.ID)).SPFVerified, false);
    dns.zone["dns.example.test"] = { TXT: [created.SPFTextValue] };
    assert.equal((await account.verifySenderSignatureSPF(created.ID)).SPFVerified, true);

    // A new domain's first key is still waiting for its record: Postmark's 505.
    const pending = await failure(account.requestNewDKIMForSenderSignature(created.ID));
    assert.equal(pending.code, 505);
    dns.zone[created.DKIMPendingHost] = { TXT: [created.DKIMPendingTextValue] };
    const domainId = (await account.getDomains({ count: 100, offset: 0 })).Domains.find((d) => d.Name === "dns.example.test")!.ID;
    assert.equal((await account.verifyDomainDKIM(domainId)).DKIMVerified, true);
    const rotated = await account.requestNewDKIMForSenderSignature(created.ID);
    assert.equal(rotated.DKIMVerified, true);
    assert.equal(rotated.DKIMHost, created.DKIMPendingHost);
    assert.match(rotated.DKIMPendingHost, /\._domainkey\.dns\.example\.test$/);
    assert.notEqual(rotated.DKIMPendingHost, rotated.DKIMHost);

    assert.deepEqual(await account.deleteSenderSignature(created.ID), { ErrorCode: 0, Message: "Signature ops@dns.example.test removed." });
    assert.equal((await failure(account.getSenderSignature(created.ID))).code, 501);
    assert.equal((await failure(account.deleteSenderSignature(created.ID))).code, 501);
    assert.equal((await failure(account.editSenderSignature(created.ID, { Name: "x" }))).code, 501);
    assert.equal((await failure(account.verifySenderSignatureSPF(created.ID))).code, 501);
    // The domain stays: it may be used on its own.
    assert.ok((await account.getDomains({ count: 100, offset: 0 })).Domains.some((d) => d.Name === "dns.example.test"));
  });

  test("bad input: public mailbox domains (503), duplicates (504), no changes (502), invalid fields (511)", async () => {
    const publicDomain = await failure(account.createSenderSignature({ FromEmail: "someone@GMail.com", Name: "x" }));
    assert.deepEqual([publicDomain.statusCode, publicDomain.code], [422, 503]);
    assert.match(publicDomain.message, /public mailbox domain/);
    assert.equal((await failure(account.createSenderSignature({ FromEmail: "x@outlook.com", Name: "x" }))).code, 503);

    await account.createSenderSignature({ FromEmail: "dup@dup.example.test", Name: "Dup" });
    const dup = await failure(account.createSenderSignature({ FromEmail: "DUP@Dup.Example.test", Name: "Dup" }));
    assert.deepEqual([dup.statusCode, dup.code, dup.message], [422, 504, "A sender signature for DUP@dup.example.test already exists."]);

    const id = (await account.getSenderSignatures({ count: 500, offset: 0 })).SenderSignatures[0]!.ID;
    const http = (method: string, path: string, body?: unknown) =>
      fetch(server.url + path, { method, headers: { "X-Postmark-Account-Token": accountToken, Accept: "application/json", "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    const noChanges = await http("PUT", `/senders/${id}`, {});
    assert.equal(noChanges.status, 422);
    assert.equal(((await noChanges.json()) as { ErrorCode: number }).ErrorCode, 502);

    const invalid: Array<[unknown, RegExp]> = [
      [{ Name: "x" }, /'FromEmail' is required/],
      [{ FromEmail: "not-an-address" }, /not a valid email address/],
      [{ FromEmail: 42 }, /'FromEmail' is required/],
      [{ FromEmail: "a@intranet" }, /at least two labels|not a valid email address/],
      [{ FromEmail: `${"a".repeat(250)}@x.example.test` }, /not a valid email address/],
      [{ FromEmail: "n@bad.example.test", Name: "x".repeat(256) }, /longer than 255/],
      [{ FromEmail: "n@bad.example.test", Name: "a\u0007b" }, /control characters/],
      [{ FromEmail: "n@bad.example.test", ReplyToEmail: "nope" }, /'ReplyToEmail' is not a valid email address/],
      [{ FromEmail: "n@bad.example.test", ConfirmationPersonalNote: "n".repeat(401) }, /longer than 400/],
      [{ FromEmail: "n@bad.example.test", ReturnPathDomain: "elsewhere.test" }, /subdomain of bad\.example\.test/],
      [[1, 2], /JSON object/],
    ];
    for (const [body, message] of invalid) {
      const res = await http("POST", "/senders", body);
      const json = (await res.json()) as { ErrorCode: number; Message: string };
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(json.ErrorCode, 511, JSON.stringify(json));
      assert.match(json.Message, message);
    }
    // Nothing was stored by the refused calls.
    assert.equal((await account.getSenderSignatures({ count: 500, offset: 0 })).SenderSignatures.filter((s) => s.Domain === "bad.example.test").length, 0);
    for (const path of ["/senders/0", "/senders/abc", "/senders/-1"]) {
      const res = await http("GET", path);
      assert.equal(res.status, 422);
      assert.equal(((await res.json()) as { ErrorCode: number }).ErrorCode, 511);
    }
  });

  test("paging with count and offset, keys in any case; count must be 1–500", async () => {
    for (let i = 0; i < 3; i++) await account.createSenderSignature({ FromEmail: `page${i}@paging.example.test`, Name: `P${i}` });
    const all = await account.getSenderSignatures({ count: 500, offset: 0 });
    assert.equal(all.TotalCount, all.SenderSignatures.length);
    const ids = all.SenderSignatures.map((s) => s.ID);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    const page = await account.getSenderSignatures({ count: 2, offset: 1 });
    assert.equal(page.TotalCount, all.TotalCount);
    assert.deepEqual(page.SenderSignatures.map((s) => s.ID), ids.slice(1, 3));
    const res = await fetch(`${server.url}/SENDERS?COUNT=1&Offset=2`, { headers: { "X-Postmark-Account-Token": accountToken, Accept: "application/json" } });
    assert.deepEqual(((await res.json()) as { SenderSignatures: Array<{ ID: number }> }).SenderSignatures.map((s) => s.ID), ids.slice(2, 3));
    assert.equal((await failure(account.getSenderSignatures({ count: 501, offset: 0 }))).code, 511);
    for (const query of ["count=0", "count=501", "count=10&offset=-1", "count=ten", "count=10&offset=1000001"]) {
      const bad = await fetch(`${server.url}/senders?${query}`, { headers: { "X-Postmark-Account-Token": accountToken, Accept: "application/json" } });
      assert.equal(bad.status, 422, query);
      assert.equal(((await bad.json()) as { ErrorCode: number }).ErrorCode, 511, query);
    }
  });

  test("only the account token reaches /senders: a server token and no token get 401 (ErrorCode 10)", async () => {
    const serverToken = await server.createWorkspace("tenant");
    const asServer = new AccountClient(serverToken, { useHttps: false, requestHost: server.url.replace(/^http:\/\//, "") });
    const refused = await failure(asServer.getSenderSignatures({ count: 10, offset: 0 }));
    assert.deepEqual([refused.statusCode, refused.code], [401, 10]);
    for (const headers of [{ "X-Postmark-Server-Token": serverToken }, {} as Record<string, string>, { "X-Postmark-Account-Token": "not-a-token" }]) {
      for (const [method, path] of [["GET", "/senders"], ["POST", "/senders"], ["DELETE", "/senders/1"], ["POST", "/senders/1/resend"]] as const) {
        const res = await fetch(server.url + path, { method, headers: { ...headers, Accept: "application/json", "Content-Type": "application/json" }, body: method === "POST" ? "{}" : undefined });
        assert.equal(res.status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
        assert.equal(((await res.json()) as { ErrorCode: number }).ErrorCode, 10);
      }
    }
  });
});
