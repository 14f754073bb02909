// End to end: two Server settings that change what inbound mail does, set with the official client
// and seen in a real webhook post: RawEmailEnabled puts the message as received in RawEmail, and
// InboundSpamThreshold stores mail scoring above it as Blocked, unposted until bypassed.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Models, ServerClient } from "postmark";
import { startTestServer, type TestServer } from "./support/server.js";
import { sendRawSmtp } from "./support/smtp-client.js";
import { eventually } from "./support/eventually.js";

/** A webhook endpoint that records every post's JSON body. */
async function startHookServer() {
  const posts: Array<Record<string, unknown>> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      posts.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>);
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return { posts, url: `http://127.0.0.1:${port}/inbound`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

// good.test passes SPF from loopback (and so DMARC, aligned); forged.test fails both: SPF -all
// (SPF_FAIL 1.0) and DMARC p=reject (DMARC_FAIL 2.0), a score of 3.0 with no DKIM.
const zone: Record<string, string[][]> = {
  "good.test": [["v=spf1 ip4:127.0.0.1 -all"]],
  "_dmarc.good.test": [["v=DMARC1; p=reject"]],
  "forged.test": [["v=spf1 -all"]],
  "_dmarc.forged.test": [["v=DMARC1; p=reject"]],
};
const resolveFromZone = async (name: string, rrtype: string) => {
  const records = rrtype === "TXT" ? zone[name.toLowerCase()] : undefined;
  if (records) return records;
  throw Object.assign(new Error(`query${rrtype} ENOTFOUND ${name}`), { code: "ENOTFOUND" });
};

describe("inbound mail follows the server's RawEmailEnabled and InboundSpamThreshold", () => {
  let server: TestServer;
  let hooks: Awaited<ReturnType<typeof startHookServer>>;
  let acme: ServerClient;
  let other: ServerClient;
  let port: number;
  let acmeAddress: string;
  let otherAddress: string;

  before(async () => {
    hooks = await startHookServer();
    server = await startTestServer(
      { POSTHORN_INBOUND_PORT: "0", POSTHORN_INBOUND_HOST: "127.0.0.1", POSTHORN_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.1/32", POSTHORN_INBOUND_HOOK_BACKOFF: "100ms" },
      { inboundDns: resolveFromZone },
    );
    const host = server.url.replace(/^http:\/\//, "");
    acme = new ServerClient(await server.createWorkspace("acme"), { useHttps: false, requestHost: host });
    other = new ServerClient(await server.createWorkspace("other"), { useHttps: false, requestHost: host });
    port = server.app.smtp!.inbound!.port;
    acmeAddress = (await acme.editServer({ InboundHookUrl: hooks.url })).InboundAddress;
    otherAddress = (await other.editServer({ InboundHookUrl: hooks.url })).InboundAddress;
  });

  after(async () => {
    await server.close();
    await hooks.close();
  });

  const send = (from: string, to: string, subject: string) =>
    sendRawSmtp(port, { from, to: [to] }, `From: ${from}\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, "")}@x.test>\r\n\r\nBody of ${subject}.\r\n`);

  test("RawEmail is in the webhook post only while RawEmailEnabled is on, and only for that workspace", async () => {
    await send("ann@good.test", acmeAddress, "raw off");
    const off = await eventually(async () => hooks.posts.find((p) => p.Subject === "raw off"));
    assert.equal("RawEmail" in off, false);

    assert.equal((await acme.editServer({ RawEmailEnabled: true })).RawEmailEnabled, true);
    await send("ann@good.test", acmeAddress, "raw on");
    await send("ann@good.test", otherAddress, "raw other");
    const on = await eventually(async () => hooks.posts.find((p) => p.Subject === "raw on"));
    assert.equal(typeof on.RawEmail, "string");
    // The message as received, with the receiving MTA's authentication header on top.
    assert.match(on.RawEmail as string, /^Received-SPF: pass[\s\S]*\r\nSubject: raw on\r\n[\s\S]*Body of raw on\./);
    const elsewhere = await eventually(async () => hooks.posts.find((p) => p.Subject === "raw other"));
    assert.equal("RawEmail" in elsewhere, false, "another workspace's setting is its own");
    await acme.editServer({ RawEmailEnabled: false });
  });

  test("mail scoring above InboundSpamThreshold is stored Blocked, not posted, and goes out when bypassed", async () => {
    // Off (0): the forged sender's 3.0 is only reported.
    await send("eve@forged.test", acmeAddress, "spam while off");
    const posted = await eventually(async () => hooks.posts.find((p) => p.Subject === "spam while off"));
    const headers = posted.Headers as Array<{ Name: string; Value: string }>;
    assert.equal(headers.find((h) => h.Name === "X-Spam-Score")?.Value, "3.0");

    await acme.editServer({ InboundSpamThreshold: 2 });
    await send("eve@forged.test", acmeAddress, "spam above");
    await send("ann@good.test", acmeAddress, "clean below");
    await send("eve@forged.test", otherAddress, "spam other");
    const blocked = await eventually(async () =>
      (await acme.getInboundMessages({ count: 10, offset: 0, status: Models.InboundMessageStatus.Blocked })).InboundMessages.find((m) => m.Subject === "spam above"),
    );
    const details = await acme.getInboundMessageDetails(blocked.MessageID);
    assert.equal(details.BlockedReason, "The spam score 3.0 is above the inbound spam threshold 2.");
    assert.equal(details.Headers.find((h) => h.Name === "X-Spam-Status")?.Value, "Yes", "the status agrees with the threshold");
    await eventually(async () => hooks.posts.find((p) => p.Subject === "clean below"));
    await eventually(async () => hooks.posts.find((p) => p.Subject === "spam other"));
    assert.equal(hooks.posts.some((p) => p.Subject === "spam above"), false, "a blocked message is not posted");

    // A score equal to the threshold is not above it.
    await acme.editServer({ InboundSpamThreshold: 3 });
    await send("eve@forged.test", acmeAddress, "spam at threshold");
    await eventually(async () => hooks.posts.find((p) => p.Subject === "spam at threshold"));

    await acme.bypassBlockedInboundMessage(blocked.MessageID);
    await eventually(async () => hooks.posts.find((p) => p.Subject === "spam above"));
    await acme.editServer({ InboundSpamThreshold: 0 });
  });
});
