// A message's timeline as the dashboard reads it (issue 13): what the MTA did about DKIM at each
// attempt, and each webhook attempt about the message with what the endpoint answered. Over real
// HTTP, on SQLite and, with TEST_DATABASE_URL, PostgreSQL: mail goes through the Postmark API to an
// SMTP sink on loopback, signed or not by a sending domain verified against a DNS server of the
// test's own, and a real HTTP endpoint on loopback answers the Delivery webhooks as each test
// tells it (a 500 with a body then a 200; a 3 MB flood; a body with a NUL and a character cut at
// the excerpt's end; our own credentials echoed back), beside an endpoint that refuses connections.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { ServerClient } from "postmark";
import { startTestServer, type TestServer } from "./support/server.js";
import { serverDatabases } from "./support/stores.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { eventually } from "./support/eventually.js";
import { startDnsZoneServer, type DnsZoneServer } from "../src/sending-domains/testing/dns-zone-server.js";
import type { MessageDetailAnswer, TimelineEntry } from "../src/api/dashboard/activity.contract.js";

const PASSWORD = "correct horse battery staple";
const FLOOD_BYTES = 3 * 1024 * 1024;

type Answer = { status: number; body: Buffer | string; chunked?: boolean };

/** An endpoint that answers each message's posts from a script, by MessageID, and records what it was sent. */
async function startScriptedEndpoint() {
  const script = new Map<string, Array<(req: http.IncomingMessage) => Answer>>();
  const seen: Array<{ messageId: string; authorization: string | undefined }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const json = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { MessageID?: string };
      const messageId = json.MessageID ?? "";
      seen.push({ messageId, authorization: req.headers.authorization });
      const next = script.get(messageId)?.shift();
      const answer = next ? next(req) : { status: 200, body: "ok" };
      const body = typeof answer.body === "string" ? Buffer.from(answer.body) : answer.body;
      // A flood is written in pieces, as a real one would arrive, so reading can stop part way.
      res.writeHead(answer.status, answer.chunked ? { "content-type": "text/html" } : { "content-type": "text/plain", "content-length": String(body.length) });
      if (!answer.chunked) return res.end(body);
      let at = 0;
      const pump = () => {
        while (at < body.length) {
          const piece = body.subarray(at, at + 64 * 1024);
          at += piece.length;
          if (!res.write(piece)) return res.once("drain", pump);
        }
        res.end();
      };
      res.on("error", () => undefined); // the client stops reading a flood: expected
      pump();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, script, seen, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

/** A loopback port with nothing listening: connections to it are refused. */
async function refusedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

for (const target of serverDatabases()) {
  describe(`message timeline: DKIM and webhook answers (${target.name})`, () => {
    let server: TestServer;
    let sink: SmtpSink;
    let dns: DnsZoneServer;
    let endpoint: Awaited<ReturnType<typeof startScriptedEndpoint>>;
    let drop: () => Promise<void>;
    let shop: { id: string; client: ServerClient };
    let lab: { id: string; client: ServerClient };
    let rivalId: string;
    let cookie: string;
    let rivalCookie: string;
    let selectors: { rsa: string; ed25519: string };
    let deadPort: number;

    const detail = async (workspaceId: string, messageId: string, session = cookie) => {
      const res = await fetch(`${server.url}/api/app/workspaces/${workspaceId}/messages/${messageId}`, { headers: { cookie: session } });
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()) as MessageDetailAnswer;
    };
    const hooksOf = (m: MessageDetailAnswer, to: string) => m.timeline.filter((e) => e.kind === "webhook" && e.webhook?.endpoint?.startsWith(to));
    /** The message's detail once its attempts to the scripted endpoint number `count` and the last is final. */
    const settled = (workspaceId: string, messageId: string, count: number) =>
      eventually(async () => {
        const m = await detail(workspaceId, messageId);
        const hooks = hooksOf(m, endpoint.url);
        return hooks.length === count && hooks.at(-1)!.webhook!.outcome === "posted" ? m : null;
      }, 30_000);
    const send = async (client: ServerClient, from: string, subject: string) => (await client.sendEmail({ From: from, To: "reader@example.test", Subject: subject, TextBody: "Hello" })).MessageID;
    const signIn = async (email: string) => {
      const res = await fetch(server.url + "/api/app/session", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: PASSWORD }) });
      assert.equal(res.status, 200);
      return (res.headers.get("set-cookie") ?? "").split(";")[0]!;
    };

    before(async () => {
      const database = await target.open();
      drop = database.drop;
      sink = await startSmtpSink();
      dns = await startDnsZoneServer();
      endpoint = await startScriptedEndpoint();
      deadPort = await refusedPort();
      server = await startTestServer({
        POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
        POSTHORN_VERP: "false",
        POSTHORN_DNS_SERVERS: dns.address,
        POSTHORN_DKIM_ED25519: "true",
        // The endpoints listen on loopback, which webhooks may not reach unless the operator allows it.
        POSTHORN_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.1/32",
        POSTHORN_WEBHOOK_BACKOFF: "40ms",
        POSTHORN_WEBHOOK_BREAKER_THRESHOLD: "50",
        ...database.env,
      });
      const services = server.app.services;
      // brand.test: a sending domain whose DKIM records are published and seen; pending.test: one whose are not.
      const brand = await services.domains.create({ name: "brand.test" });
      dns.zone[brand.pendingKey!.record.host] = { TXT: [brand.pendingKey!.record.value] };
      dns.zone[brand.pendingKey!.ed25519Record.host] = { TXT: [brand.pendingKey!.ed25519Record.value] };
      assert.equal((await services.domains.verifyDkim(brand.id)).dkimVerified, true);
      selectors = { rsa: brand.pendingKey!.selector, ed25519: brand.pendingKey!.ed25519Record.host.split("._domainkey.")[0]! };
      await services.domains.create({ name: "pending.test" });

      const host = server.url.replace(/^http:\/\//, "");
      const made = await services.workspaces.create("shop", { sandbox: false });
      shop = { id: made.workspace.id, client: new ServerClient(made.serverToken, { useHttps: false, requestHost: host }) };
      const sandbox = await services.workspaces.create("lab", { sandbox: true });
      lab = { id: sandbox.workspace.id, client: new ServerClient(sandbox.serverToken, { useHttps: false, requestHost: host }) };
      rivalId = (await services.workspaces.create("rival", { sandbox: false })).workspace.id;
      // Credentials, a query token in the URL and an API key in a header: none may show on the page.
      await shop.client.createWebhook({
        Url: `${endpoint.url}/hook?token=query-secret-1`,
        HttpAuth: { Username: "hook-user", Password: "hook-password-1" },
        MessageStream: "outbound",
        HttpHeaders: [{ Name: "X-Api-Key", Value: "api-key-secret-123" }],
        Triggers: { Delivery: { Enabled: true } },
      });
      await shop.client.createWebhook({ Url: `http://127.0.0.1:${deadPort}/down`, MessageStream: "outbound", Triggers: { Delivery: { Enabled: true } } });
      await services.users.create({ email: "admin@example.com", password: PASSWORD, role: "admin", workspaces: ["shop", "lab"] });
      await services.users.create({ email: "rival@example.com", password: PASSWORD, role: "admin", workspaces: ["rival"] });
      cookie = await signIn("admin@example.com");
      rivalCookie = await signIn("rival@example.com");
    });
    after(async () => {
      await server?.close();
      await endpoint?.close();
      await sink?.close();
      await dns?.close();
      await drop?.();
    });

    it("shows a message from a verified domain as signed with d= and s= for both algorithms, and each webhook attempt with its status, time and answer", async () => {
      const id = await send(shop.client, "News <news@brand.test>", "Signed receipt");
      endpoint.script.set(id, [
        // The endpoint echoes our Authorization header back, as echo and debugging services do.
        (req) => ({ status: 500, body: `{"error":"database is down","echo":"${req.headers.authorization}","key":"api-key-secret-123"}` }),
        () => ({ status: 200, body: "thanks" }),
      ]);
      const m = await settled(shop.id, id, 2);
      const delivered = m.timeline.find((e) => e.kind === "delivered")!;
      assert.deepEqual(delivered.dkim, { signed: true, summary: `signed d=brand.test s=${selectors.rsa} (rsa-sha256) and d=brand.test s=${selectors.ed25519} (ed25519-sha256)` });
      assert.match(sink.messages.find((s) => s.messageId?.includes(id))!.raw.toString(), new RegExp(`d=brand.test;\\s+s=${selectors.rsa};`), "what was recorded is what was sent");

      const [first, second] = hooksOf(m, endpoint.url) as [TimelineEntry, TimelineEntry];
      assert.equal(first.webhook!.endpoint, `${endpoint.url}/hook`, "neither the credentials nor the query are shown");
      assert.deepEqual([first.webhook!.cause, first.webhook!.attempt, first.webhook!.status, first.webhook!.outcome, first.webhook!.error], ["delivery.delivered", 1, 500, "retried", "HTTP 500"]);
      assert.equal(first.webhook!.response, '{"error":"database is down","echo":"[redacted]","key":"[redacted]"}', "our credentials and the endpoint's key are not kept");
      assert.equal(first.webhook!.responseBytes, Buffer.byteLength(`{"error":"database is down","echo":"${endpoint.seen.find((s) => s.messageId === id)!.authorization}","key":"api-key-secret-123"}`));
      assert.equal(first.webhook!.responseCut, false);
      assert.equal(first.recipient, "reader@example.test", "the recipient of the delivery that caused the post");
      assert.match(first.summary, new RegExp(`^Webhook attempt 1 to ${endpoint.url}/hook for delivery.delivered: HTTP 500 in \\d+ ms, retried$`));
      assert.ok(first.webhook!.durationMs >= 0);
      assert.deepEqual([second.webhook!.attempt, second.webhook!.status, second.webhook!.outcome, second.webhook!.response, second.webhook!.error], [2, 200, "posted", "thanks", null]);
      assert.ok(first.at <= second.at && delivered.at <= first.at, "in time order, after the delivery that caused them");
      assert.doesNotMatch(JSON.stringify(m), /hook-password-1|query-secret-1|api-key-secret-123/);
    });

    it("shows an error instead of an answer when the endpoint refused the connection", async () => {
      const id = await send(shop.client, "news@brand.test", "To both endpoints");
      const m = await eventually(async () => {
        const d = await detail(shop.id, id);
        return hooksOf(d, `http://127.0.0.1:${deadPort}/`).length > 0 && hooksOf(d, endpoint.url).length > 0 ? d : null;
      }, 30_000);
      const refused = hooksOf(m, `http://127.0.0.1:${deadPort}/`)[0]!;
      assert.equal(refused.webhook!.status, null);
      assert.equal(refused.webhook!.response, null);
      assert.match(refused.webhook!.error ?? "", /ECONNREFUSED/);
      assert.match(refused.summary, /: no answer \(.*ECONNREFUSED.*\) in \d+ ms, (will retry|retried)$/);
    });

    it("says why a message was not signed: not a sending domain, or no verified key; and keeps a flood's first 1 KB only", async () => {
      const flood = Buffer.alloc(FLOOD_BYTES, "x");
      flood.write("<html><script>alert(1)</script><b>bold</b>");
      const unknown = await send(shop.client, "someone@elsewhere.test", "Unsigned, unknown domain");
      endpoint.script.set(unknown, [() => ({ status: 200, body: flood, chunked: true })]);
      const pending = await send(shop.client, "news@pending.test", "Unsigned, pending domain");
      endpoint.script.set(pending, [() => ({ status: 200, body: flood })]);

      const a = await settled(shop.id, unknown, 1);
      assert.deepEqual(a.timeline.find((e) => e.kind === "delivered")!.dkim, { signed: false, summary: "not signed: elsewhere.test is not a sending domain (signing is exact-domain)" });
      const cut = hooksOf(a, endpoint.url)[0]!.webhook!;
      assert.equal(cut.response, flood.subarray(0, 1024).toString(), "the first 1 KB, as sent: markup is the page's to escape");
      assert.equal(cut.responseCut, true);
      assert.equal(cut.responseBytes, null, "reading stopped at its bound, and a chunked answer declares no size");

      const b = await settled(shop.id, pending, 1);
      assert.deepEqual(b.timeline.find((e) => e.kind === "delivered")!.dkim, { signed: false, summary: "not signed: pending.test has no verified DKIM key yet (its TXT record was not seen)" });
      const declared = hooksOf(b, endpoint.url)[0]!.webhook!;
      assert.equal(declared.responseBytes, FLOOD_BYTES, "the declared size of an answer not read to its end");
      assert.equal(Buffer.byteLength(declared.response!), 1024);
    });

    it("keeps an answer with a NUL byte and a character cut at the excerpt's end as valid text", async () => {
      const id = await send(shop.client, "news@brand.test", "Odd answer");
      // 1,023 bytes, then "é" (two bytes) across the 1,024-byte limit; a NUL near the start.
      const body = Buffer.concat([Buffer.from("ok\u0000"), Buffer.alloc(1020, "a"), Buffer.from("é and more")]);
      endpoint.script.set(id, [() => ({ status: 200, body })]);
      const hook = hooksOf(await settled(shop.id, id, 1), endpoint.url)[0]!.webhook!;
      assert.equal(hook.response, `ok\ufffd${"a".repeat(1020)}`, "the NUL replaced (PostgreSQL's text cannot hold it), the cut character left out");
      assert.equal(hook.responseBytes, body.length);
      assert.equal(hook.responseCut, true);
    });

    it("says a sandbox's captured message is not signed because nothing is delivered", async () => {
      const id = await send(lab.client, "news@brand.test", "Captured");
      const m = await detail(lab.id, id);
      assert.deepEqual(m.timeline.map((e) => [e.kind, e.dkim]), [["accepted", { signed: false, summary: "not signed: sandbox, nothing is delivered" }]]);
    });

    it("shows another workspace nothing of the message or its webhook answers", async () => {
      const id = endpoint.seen[0]!.messageId;
      const res = await fetch(`${server.url}/api/app/workspaces/${rivalId}/messages/${id}`, { headers: { cookie: rivalCookie } });
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "MESSAGE_NOT_FOUND");
      const other = await fetch(`${server.url}/api/app/workspaces/${shop.id}/messages/${id}`, { headers: { cookie: rivalCookie } });
      assert.equal(other.status, 403);
      const none = await fetch(`${server.url}/api/app/workspaces/${shop.id}/messages/${id}`);
      assert.equal(none.status, 401);
    });
  });
}
