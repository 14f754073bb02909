// End to end: mail for a workspace's inbound address arrives at the MX listener over real SMTP,
// gets SPF/DKIM/DMARC results, is stored as a Postmark inbound message and posted to the
// workspace's inbound webhook — a real HTTP server in this test — with retries; the official
// postmark client reads it back, retries failed hooks, manages inbound rules and bypasses blocks.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { generateKeyPairSync } from "node:crypto";
import { Models, ServerClient } from "postmark";
import { dkimSign } from "mailauth/lib/dkim/sign.js";
import type { DKIMSignOptions } from "mailauth";
import { startTestServer, type TestServer } from "./support/server.js";
import { startDnsTestServer, type DnsTestServer } from "../src/mta/testing/dns-test-server.js";
import { sendRawSmtp } from "./support/smtp-client.js";
import { eventually } from "./support/eventually.js";

interface Hook {
  body: Record<string, unknown>;
  authorization: string | undefined;
}

/** A webhook endpoint: records every post and answers with the next queued status (200 when none). */
async function startHookServer() {
  const posts: Hook[] = [];
  const statuses: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      posts.push({ body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>, authorization: req.headers.authorization });
      res.statusCode = statuses.shift() ?? 200;
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    posts,
    statuses,
    url: (path: string) => `http://hook-user:s3cret@127.0.0.1:${port}${path}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// sender.test publishes SPF for loopback, a DKIM key and a DMARC policy; everything else is NXDOMAIN.
const dkimKeys = generateKeyPairSync("rsa", { modulusLength: 2048 });
const zone: Record<string, string[][]> = {
  "sender.test": [["v=spf1 ip4:127.0.0.1 -all"]],
  "sel1._domainkey.sender.test": [[`v=DKIM1; k=rsa; p=${dkimKeys.publicKey.export({ type: "spki", format: "der" }).toString("base64")}`]],
  "_dmarc.sender.test": [["v=DMARC1; p=reject"]],
};
const resolveFromZone = async (name: string, rrtype: string) => {
  const records = rrtype === "TXT" ? zone[name.toLowerCase()] : undefined;
  if (records) return records;
  throw Object.assign(new Error(`query${rrtype} ENOTFOUND ${name}`), { code: "ENOTFOUND" });
};

async function signed(raw: string): Promise<Buffer> {
  const message = Buffer.from(raw.replace(/\r?\n/g, "\r\n"));
  const options = {
    signatureData: [{ signingDomain: "sender.test", selector: "sel1", privateKey: dkimKeys.privateKey.export({ type: "pkcs8", format: "pem" }).toString() }],
    canonicalization: "relaxed/relaxed",
  } as unknown as DKIMSignOptions;
  const result = await dkimSign(message, options);
  return Buffer.concat([Buffer.from(result.signatures, "utf8"), message]);
}

describe("inbound streams", () => {
  let server: TestServer;
  let hooks: Awaited<ReturnType<typeof startHookServer>>;
  let pm: ServerClient;
  let port: number;
  let inboundAddress: string;
  let dns: DnsTestServer;

  before(async () => {
    hooks = await startHookServer();
    // Custom inbound domains are proven by DNS (an MX naming the server, or a TXT token).
    dns = await startDnsTestServer({ "support.acme.test": { MX: [{ priority: 10, exchange: "posthorn.test" }] } });
    server = await startTestServer(
      {
        POSTHORN_INBOUND_PORT: "0",
        POSTHORN_INBOUND_HOST: "127.0.0.1",
        POSTHORN_INBOUND_HOOK_BACKOFF: "100ms",
        // The hook server of this test listens on loopback, which webhooks may not reach unless allowed.
        POSTHORN_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.1/32",
        POSTHORN_DNS_SERVERS: dns.address,
      },
      { inboundDns: resolveFromZone },
    );
    const token = await server.createWorkspace("acme");
    await server.createWorkspace("other");
    pm = new ServerClient(token, { useHttps: false, requestHost: server.url.replace(/^http:\/\//, "") });
    port = server.app.smtp!.inbound!.port;
    const settings = await pm.editServer({ InboundHookUrl: hooks.url("/inbound") });
    assert.equal(settings.InboundHookUrl, hooks.url("/inbound"));
    inboundAddress = settings.InboundAddress;
    assert.match(inboundAddress, /^[0-9a-f]{32}@inbound\.posthorn\.test$/);
  });

  after(async () => {
    await server.close();
    await hooks.close();
    await dns.close();
  });

  const withMailbox = (mailbox: string) => inboundAddress.replace("@", `+${mailbox}@`);

  test("a signed reply becomes a Postmark inbound message, is posted with Basic auth, and reads back through the API", async () => {
    const raw = await signed(
      [
        "From: Ada Lovelace <ada@sender.test>",
        `To: Support <${withMailbox("order-55")}>`,
        "Subject: Re: Your order",
        "Date: Tue, 01 Dec 2026 10:00:00 +0000",
        "Message-ID: <reply-1@sender.test>",
        "X-Spam-Status: No, forged by the sender",
        "",
        "Yes, please ship it.",
        "",
        "On Mon, 30 Nov 2026 at 09:00, Acme <support@acme.test> wrote:",
        "> Shall we ship your order?",
        "",
      ].join("\n"),
    );
    const result = await sendRawSmtp(port, { from: "ada@sender.test", to: [withMailbox("order-55")] }, raw);
    assert.match(result.data!, /^250 2\.0\.0 /);

    const post = await eventually(async () => hooks.posts.find((p) => p.body.Subject === "Re: Your order"));
    assert.equal(post.authorization, `Basic ${Buffer.from("hook-user:s3cret").toString("base64")}`);
    const body = post.body as Record<string, unknown> & { FromFull: { Email: string; Name: string }; Headers: Array<{ Name: string; Value: string }> };
    assert.equal(body.From, "ada@sender.test");
    assert.deepEqual(body.FromFull, { Email: "ada@sender.test", Name: "Ada Lovelace", MailboxHash: "" });
    assert.equal(body.MailboxHash, "order-55");
    assert.equal(body.OriginalRecipient, withMailbox("order-55"));
    assert.equal(body.MessageStream, "inbound");
    assert.match(String(body.TextBody), /Yes, please ship it\./);
    assert.equal(String(body.StrippedTextReply).trim(), "Yes, please ship it.");
    const header = (name: string) => body.Headers.filter((h) => h.Name.toLowerCase() === name.toLowerCase()).map((h) => h.Value);
    const authResults = header("Authentication-Results").join(" ");
    assert.match(authResults, /spf=pass/);
    assert.match(authResults, /dkim=pass/);
    assert.match(authResults, /dmarc=pass/);
    assert.deepEqual(header("X-Spam-Status"), ["No"], "the sender's own X-Spam-Status is replaced by ours");

    // The post has arrived; its answer is recorded a moment later (the dispatcher's own commit).
    const list = await eventually(async () => {
      const l = await pm.getInboundMessages({ count: 10, offset: 0, mailboxHash: "order-55" });
      return l.InboundMessages[0]?.Status === "Processed" ? l : null;
    });
    assert.equal(list.TotalCount, 1);
    const summary = list.InboundMessages[0]!;
    assert.equal(summary.MessageID, body.MessageID);
    assert.equal(summary.Status, "Processed");
    const details = await pm.getInboundMessageDetails(summary.MessageID);
    assert.match(details.TextBody, /ship it/);

    const stored = await server.app.services.store.db.selectFrom("inbound_messages").select("mime").where("id", "=", summary.MessageID).executeTakeFirstOrThrow();
    assert.match(Buffer.from(stored.mime).toString("utf8"), /^Received-SPF: pass[\s\S]*Authentication-Results: posthorn\.test;/);
  });

  test("a webhook answering 500 is retried with backoff until it succeeds", async () => {
    hooks.statuses.push(500, 503);
    await sendRawSmtp(port, { from: "bob@elsewhere.test", to: [inboundAddress] }, "From: bob@elsewhere.test\r\nSubject: retry me\r\n\r\nhello\r\n");
    await eventually(async () => hooks.posts.filter((p) => p.body.Subject === "retry me").length === 3);
    const row = await eventually(async () => {
      const r = await server.app.services.store.db.selectFrom("inbound_messages").selectAll().where("subject", "=", "retry me").executeTakeFirst();
      return r?.state === "posted" ? r : null;
    });
    // The webhook's record (src/webhooks/): three attempts, nothing left due.
    const [hook, ...more] = await server.app.services.store.db.selectFrom("webhook_deliveries").selectAll().where("subject_id", "=", row.id).execute();
    assert.equal(more.length, 0);
    assert.equal(hook!.attempts, 3);
    assert.equal(hook!.next_attempt_at, null);
    // The unauthenticated sender is scored by its verdicts: SPF none, no DKIM, no DMARC.
    const post = hooks.posts.find((p) => p.body.Subject === "retry me")!;
    const headers = post.body.Headers as Array<{ Name: string; Value: string }>;
    assert.ok(headers.some((h) => h.Name === "X-Spam-Score"));
  });

  test("a webhook answering 403 fails at once; retry posts it again", async () => {
    hooks.statuses.push(403);
    await sendRawSmtp(port, { from: "carol@elsewhere.test", to: [inboundAddress] }, "From: carol@elsewhere.test\r\nSubject: refused\r\n\r\nhello\r\n");
    const failed = await eventually(async () => {
      const list = await pm.getInboundMessages({ count: 10, offset: 0, subject: "refused" });
      return list.InboundMessages[0]?.Status === "Failed" ? list.InboundMessages[0] : null;
    });
    assert.equal(hooks.posts.filter((p) => p.body.Subject === "refused").length, 1);
    await pm.retryInboundHookForMessage(failed.MessageID);
    await eventually(async () => hooks.posts.filter((p) => p.body.Subject === "refused").length === 2);
    await eventually(async () => (await pm.getInboundMessageDetails(failed.MessageID)).Status === "Processed");
  });

  test("an inbound rule blocks a sender's domain: stored as Blocked, not posted, until bypassed", async () => {
    const rule = await pm.createInboundRuleTrigger({ Rule: "blocked.test" });
    await sendRawSmtp(port, { from: "x@blocked.test", to: [inboundAddress] }, "From: Spammy <x@blocked.test>\r\nSubject: buy now\r\n\r\ncheap\r\n");
    const blocked = await eventually(async () => (await pm.getInboundMessages({ count: 10, offset: 0, status: Models.InboundMessageStatus.Blocked })).InboundMessages.find((m) => m.Subject === "buy now"));
    assert.match((await pm.getInboundMessageDetails(blocked.MessageID)).BlockedReason, /blocked\.test/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(hooks.posts.some((p) => p.body.Subject === "buy now"), false);
    await pm.bypassBlockedInboundMessage(blocked.MessageID);
    await eventually(async () => hooks.posts.find((p) => p.body.Subject === "buy now"));
    await pm.deleteInboundRuleTrigger(rule.ID);
  });

  test("a custom inbound domain routes any local part to the inbound stream; unknown hashes are refused", async () => {
    await pm.editServer({ InboundDomain: "support.acme.test" });
    const ok = await sendRawSmtp(port, { from: "dave@elsewhere.test", to: ["help@support.acme.test"] }, "From: dave@elsewhere.test\r\nSubject: custom domain\r\n\r\nhello\r\n");
    assert.match(ok.data!, /^250 /);
    const post = await eventually(async () => hooks.posts.find((p) => p.body.Subject === "custom domain"));
    assert.equal(post.body.OriginalRecipient, "help@support.acme.test");
    const refused = await sendRawSmtp(port, { from: "dave@elsewhere.test", to: ["0123456789abcdef0123456789abcdef@inbound.posthorn.test", "help@unknown.acme.test"] }, "Subject: x\r\n\r\nx\r\n");
    for (const reply of refused.rcpt) assert.match(reply, /^550 5\.7\.1 /);
  });

  test("another workspace sees none of these messages", async () => {
    const otherToken = await server.app.services.workspaces.createServerToken("other");
    const other = new ServerClient(otherToken, { useHttps: false, requestHost: server.url.replace(/^http:\/\//, "") });
    assert.equal((await other.getInboundMessages({ count: 10, offset: 0 })).TotalCount, 0);
    const mine = (await pm.getInboundMessages({ count: 1, offset: 0 })).InboundMessages[0]!;
    await assert.rejects(other.getInboundMessageDetails(mine.MessageID));
  });

  test("a custom inbound domain receives mail only once DNS proves the workspace controls it", async () => {
    const otherToken = await server.app.services.workspaces.createServerToken("other");
    const other = new ServerClient(otherToken, { useHttps: false, requestHost: server.url.replace(/^http:\/\//, "") });
    const { InboundHash } = await other.getServer();
    await other.editServer({ InboundDomain: "unproven.other.test" });
    const refused = await sendRawSmtp(port, { from: "dave@elsewhere.test", to: ["help@unproven.other.test"] }, "Subject: x\r\n\r\nx\r\n");
    assert.match(refused.rcpt[0]!, /^550 5\.7\.1 /);
    dns.zone["proven.other.test"] = { TXT: [`posthorn-inbound-verification=${InboundHash}`] };
    await other.editServer({ InboundDomain: "proven.other.test" });
    const accepted = await sendRawSmtp(port, { from: "dave@elsewhere.test", to: ["help@proven.other.test"] }, "Subject: proven\r\n\r\nx\r\n");
    assert.match(accepted.rcpt[0]!, /^250 /);
    await other.editServer({ InboundDomain: "" });
  });

  test("a workspace cannot take the server's own domain, and one taken before that was refused receives nothing", async () => {
    await assert.rejects(pm.editServer({ InboundDomain: "posthorn.test" }), /cannot be an inbound domain/);
    // As saved before PUT /server refused it, with the MX of the host name pointing at itself.
    dns.zone["posthorn.test"] = { MX: [{ priority: 10, exchange: "posthorn.test" }] };
    const other = (await server.app.services.workspaces.get("other")).id;
    await server.app.services.workspaces.updateInbound(other, { inboundDomain: "posthorn.test" });
    const result = await sendRawSmtp(
      port,
      { from: "spammer@evil.test", to: ["mailer-daemon@posthorn.test", "anyone@posthorn.test", "bounce+1.0000000000@posthorn.test"] },
      "Subject: x\r\n\r\nx\r\n",
    );
    for (const reply of result.rcpt) assert.match(reply, /^550 5\.7\.1 /);
    await server.app.services.workspaces.updateInbound(other, { inboundDomain: null });
  });

});
