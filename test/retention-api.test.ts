// Retention seen from outside (issue 14), over real HTTP and SMTP on loopback, on SQLite and, with
// TEST_DATABASE_URL, PostgreSQL: mail goes through the Postmark API to an SMTP sink; the server's
// clock is then moved past the body retention and the worker role's own pass removes the body:
// the message still answers in the list, its details and its dump, with empty bodies and
// BodyRemovedAt, its metadata and timeline kept; the dashboard's detail says the same. Past the
// event log's retention the timeline goes, and the message still answers. Inbound mail received
// over SMTP and posted to a real webhook endpoint loses its content past the body retention, stays
// listed, and can no longer be bypassed; past the webhook retention its post and attempts are gone.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ServerClient } from "postmark";
import { startTestServer, type TestServer } from "./support/server.js";
import { serverDatabases } from "./support/stores.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { eventually } from "./support/eventually.js";
import { sendRawSmtp } from "./support/smtp-client.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";
import { failure } from "../src/api/postmark/testing/client-failure.js";
import type { MessageDetailAnswer } from "../src/api/dashboard/activity.contract.js";

const DAY_MS = 86_400_000;
const PASSWORD = "correct horse battery staple";

for (const target of serverDatabases()) {
  describe(`retention over the API (${target.name})`, () => {
    let server: TestServer;
    let sink: SmtpSink;
    let receiver: WebhookReceiver;
    let drop: () => Promise<void>;
    let client: ServerClient;
    let token: string;
    let workspaceId: string;
    let offset = 0;
    const clock = { now: () => Date.now() + offset };

    const get = async (path: string) => {
      const res = await fetch(server.url + path, { headers: { accept: "application/json", "X-Postmark-Server-Token": token } });
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()) as Record<string, unknown>;
    };

    before(async () => {
      const database = await target.open();
      drop = database.drop;
      sink = await startSmtpSink();
      receiver = await startWebhookReceiver();
      server = await startTestServer(
        {
          POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
          POSTHORN_VERP: "false",
          POSTHORN_RETENTION_INTERVAL: "1s",
          POSTHORN_RETENTION_PAUSE: "10ms",
          POSTHORN_INBOUND_PORT: "0",
          POSTHORN_INBOUND_HOST: "127.0.0.1",
          POSTHORN_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.1/32",
          ...database.env,
        },
        { clock },
      );
      const made = await server.app.services.workspaces.create("shop", { sandbox: false });
      token = made.serverToken;
      workspaceId = made.workspace.id;
      client = new ServerClient(token, { useHttps: false, requestHost: server.url.replace(/^http:\/\//, "") });
      await server.app.services.users.create({ email: "admin@example.com", password: PASSWORD, role: "admin", workspaces: ["shop"] });
    });

    /** A dashboard session, signed in at the clock's time now (one from before the clock moved has expired). */
    const signIn = async () => {
      const res = await fetch(server.url + "/api/app/session", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "admin@example.com", password: PASSWORD }) });
      assert.equal(res.status, 200);
      return (res.headers.get("set-cookie") ?? "").split(";")[0]!;
    };

    after(async () => {
      await server?.close();
      await sink?.close();
      await receiver?.close();
      await drop?.();
    });

    test("past the body retention the body goes and the message still answers with its metadata and timeline; past the event retention its timeline goes", async () => {
      const sent = await client.sendEmail({ From: "shop@shop.test", To: "reader@example.test", Subject: "Your receipt", TextBody: "secret text", HtmlBody: "<p>secret html</p>", Tag: "receipt", Metadata: { order: "7" }, Attachments: [{ Name: "receipt.txt", Content: Buffer.from("secret attachment").toString("base64"), ContentType: "text/plain", ContentID: null }] });
      const id = sent.MessageID;
      const delivered = await eventually(async () => {
        const d = await get(`/messages/outbound/${id}/details`);
        return (d.MessageEvents as Array<{ Type: string }>).some((e) => e.Type === "Delivered") && d.Status === "Sent" ? d : null;
      }, 30_000);
      assert.equal(delivered.TextBody, "secret text");
      assert.equal(delivered.BodyRemovedAt, undefined, "Postmark's shape while the body is kept");

      offset = 46 * DAY_MS;
      const details = await eventually(async () => {
        const d = await get(`/messages/outbound/${id}/details`);
        return d.BodyRemovedAt ? d : null;
      }, 30_000);
      assert.equal(details.TextBody, "");
      assert.equal(details.HtmlBody, "");
      assert.equal(details.Body, "");
      assert.match(String(details.BodyRemovedReason), /no longer kept/);
      assert.deepEqual({ Subject: details.Subject, Tag: details.Tag, Metadata: details.Metadata, Attachments: details.Attachments, Status: details.Status }, { Subject: "Your receipt", Tag: "receipt", Metadata: { order: "7" }, Attachments: ["receipt.txt"], Status: "Sent" });
      assert.deepEqual((details.MessageEvents as Array<{ Type: string }>).map((e) => e.Type), (delivered.MessageEvents as Array<{ Type: string }>).map((e) => e.Type), "the timeline is kept");
      const dump = await get(`/messages/outbound/${id}/dump`);
      assert.equal(dump.Body, "");
      assert.equal(typeof dump.BodyRemovedAt, "string");
      const list = await get(`/messages/outbound?count=10&offset=0&subject=receipt`);
      assert.deepEqual((list.Messages as Array<{ MessageID: string }>).map((m) => m.MessageID), [id], "still listed and found by subject");
      const res = await fetch(`${server.url}/api/app/workspaces/${workspaceId}/messages/${id}`, { headers: { cookie: await signIn() } });
      assert.equal(res.status, 200);
      const detail = (await res.json()) as MessageDetailAnswer;
      assert.deepEqual({ textBody: detail.textBody, hasHtml: detail.hasHtml, removed: typeof detail.bodyRemovedAt, subject: detail.subject }, { textBody: null, hasHtml: false, removed: "number", subject: "Your receipt" });
      assert.ok(detail.timeline.length > 0);
      const scrape = (await server.app.metrics.scrape()).text;
      assert.match(scrape, /posthorn_retention_removed_total\{kind="bodies"\} 1/);

      offset = 91 * DAY_MS;
      const later = await eventually(async () => {
        const d = await get(`/messages/outbound/${id}/details`);
        return (d.MessageEvents as unknown[]).length === 0 ? d : null;
      }, 30_000).catch(async (err: unknown) => {
        // Events stay until every consumer's cursor passed them: a timeout says where each stood.
        const db = server.app.services.store.db;
        const cursors = await db.selectFrom("outbox_cursors").selectAll().execute();
        const events = await db.selectFrom("events").select(["id", "tx", "type", "created_at"]).execute();
        throw new Error(`${String(err)}; cursors ${JSON.stringify(cursors)}; events ${JSON.stringify(events)}; now ${clock.now()}`);
      });
      assert.deepEqual({ Subject: later.Subject, Status: later.Status }, { Subject: "Your receipt", Status: "Sent" });
      assert.match((await server.app.metrics.scrape()).text, /posthorn_retention_removed_total\{kind="events"\} [1-9]/);
    });

    test("inbound mail past the body retention loses its content and cannot be posted again; past the webhook retention its post is gone", async () => {
      const address = (await client.editServer({ InboundHookUrl: receiver.url })).InboundAddress!;
      await client.createInboundRuleTrigger({ Rule: "spam@blocked.test" });
      const port = server.app.smtp!.inbound!.port;
      const attachment = Buffer.from("secret attachment").toString("base64");
      const mail = (from: string) =>
        `From: ${from}\r\nTo: ${address}\r\nSubject: Where is my order\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n` +
        `--b\r\nContent-Type: text/plain\r\n\r\nsecret inbound text\r\n--b\r\nContent-Type: text/plain; name=note.txt\r\nContent-Disposition: attachment; filename=note.txt\r\nContent-Transfer-Encoding: base64\r\n\r\n${attachment}\r\n--b--\r\n`;
      await sendRawSmtp(port, { from: "ada@sender.test", to: [address] }, mail("ada@sender.test"));
      await sendRawSmtp(port, { from: "spam@blocked.test", to: [address] }, mail("spam@blocked.test"));
      await eventually(async () => receiver.posts.length === 1);
      const list = await eventually(async () => {
        const found = await client.getInboundMessages({ count: 10, offset: 0 });
        return found.InboundMessages.length === 2 && found.InboundMessages.every((m) => m.Status !== "Queued") ? found.InboundMessages : null;
      });
      const posted = list.find((m) => m.From === "ada@sender.test")!.MessageID;
      const blocked = list.find((m) => m.From === "spam@blocked.test")!.MessageID;
      const before = await client.getInboundMessageDetails(posted);
      assert.equal(before.TextBody.trim(), "secret inbound text");
      const db = server.app.services.store.db;
      assert.ok((await db.selectFrom("webhook_attempts").select("id").execute()).length > 0, "the post's attempt is in the webhook log");

      offset += 46 * DAY_MS;
      const details = (await eventually(async () => {
        const d = (await get(`/messages/inbound/${posted}/details`)) as Record<string, unknown>;
        return d.BodyRemovedAt ? d : null;
      }, 30_000)) as Record<string, unknown> & { Attachments: Array<Record<string, unknown>> };
      assert.deepEqual({ TextBody: details.TextBody, HtmlBody: details.HtmlBody, StrippedTextReply: details.StrippedTextReply }, { TextBody: "", HtmlBody: "", StrippedTextReply: "" });
      assert.deepEqual(details.Attachments.map((a) => [a.Name, a.Content]), [["note.txt", ""]], "the attachment's name stays, its content goes");
      assert.deepEqual({ Subject: details.Subject, From: details.From, Status: details.Status }, { Subject: "Where is my order", From: "ada@sender.test", Status: "Processed" });
      assert.match(String(details.BodyRemovedReason), /no longer kept/);
      const still = await client.getInboundMessages({ count: 10, offset: 0, subject: "order" });
      assert.equal(still.TotalCount, 2, "both still listed and found by subject");

      // The blocked message lost its content too: there is nothing left to post.
      await eventually(async () => (await get(`/messages/inbound/${blocked}/details`)).BodyRemovedAt);
      const refused = await failure(client.bypassBlockedInboundMessage(blocked));
      assert.deepEqual({ status: refused.statusCode, code: refused.code }, { status: 422, code: 701 });
      assert.match(refused.message, /no longer kept/);
      assert.equal(receiver.posts.length, 1, "nothing was posted");

      // The post made 46 days ago is past the webhook retention: it goes with its attempts.
      await eventually(async () => (await db.selectFrom("webhook_deliveries").select("id").execute()).length === 0, 30_000);
      assert.equal((await db.selectFrom("webhook_attempts").select("id").execute()).length, 0);
      const scrape = (await server.app.metrics.scrape()).text;
      assert.match(scrape, /posthorn_retention_removed_total\{kind="inbound_bodies"\} 2/);
      assert.match(scrape, /posthorn_retention_removed_total\{kind="webhook_records"\} 1/);
    });
  });
}
