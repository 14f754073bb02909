// The ledger's statuses from the email side, end to end: mail from the outreach mailer goes
// through the MTA to a loopback SMTP sink carrying its CIO-Delivery-ID; the delivery, an open (the
// pixel fetched), a click (the tracked link followed) and an unsubscribe through
// POST /unsubscribe/{delivery_id} each reach the ledger through the outbox consumer, on SQLite
// and PostgreSQL.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { serverDatabases } from "./support/stores.js";
import { until } from "./support/segments.js";
import type { OutreachMail } from "../src/channels/email/outreach.port.js";

for (const database of serverDatabases()) {
  describe(`outreach statuses on ${database.name}`, () => {
    let sink: SmtpSink;
    let server: TestServer;
    let drop: () => Promise<void>;

    before(async () => {
      sink = await startSmtpSink({ rcptReply: (to) => (to.startsWith("nobody@") ? { code: 550, message: "5.1.1 no such user" } : null) });
      const db = await database.open();
      drop = db.drop;
      server = await startTestServer({ ...db.env, POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`, POSTHORN_RETRY_SCHEDULE: "300ms", POSTHORN_VERP: "false" });
    });
    after(async () => {
      await server.close();
      await sink.close();
      await drop();
    });

    test("delivered, opened, clicked and unsubscribed reach the ledger of a journey's mail", async () => {
      const s = server.app.services;
      const { workspace } = await s.workspaces.create("statuses", { sandbox: false });
      const [r] = await s.people.apply(workspace.id, [{ op: "identify", who: { kind: "id", value: "ann" }, attributes: { email: "ann@example.test", first_name: "Ann" } }]);
      const personId = (r as { personId: string }).personId;
      const mail: OutreachMail = {
        workspaceId: workspace.id,
        personId,
        content: { kind: "liquid", from: "News <news@brand.test>", to: null, replyTo: null, subject: "Hello {{ customer.first_name }}", html: '<p>Hi</p><a href="https://brand.test/offer">offer</a>', text: null, headers: {} },
        scope: {},
        tag: "welcome",
        send: { from: null, stream: null, countsTowardLimit: true, transactional: false, topic: null },
        idempotencyKey: "run-1:s1",
        origin: { kind: "journey", journeyId: "9", version: 1, stepId: "s1", runId: "run-1" },
        overLimit: "hold",
        quietHours: false,
        sendAt: null,
      };
      const [o] = await s.outreachMailer.send([mail]);
      assert.equal(o?.kind, "accepted");
      const { messageId, deliveryId } = o as Extract<typeof o, { kind: "accepted" }>;
      await sink.waitForMessages(1, 10_000);
      const raw = sink.messages[0]!.raw.toString("latin1");
      assert.match(raw, new RegExp(`^CIO-Delivery-ID: ${deliveryId}\\r$`, "m"), "the delivered mail carries its delivery id");
      assert.match(raw, /^Subject: Hello Ann\r$/m);
      const statuses = async () => (await s.outreachLedger.ofRunStep(workspace.id, "run-1", "s1"))?.statuses ?? [];
      await until("delivered", async () => (await statuses()).includes("delivered"), 10_000);

      const html = (await server.app.services.store.db.selectFrom("messages").select("mime").where("id", "=", messageId).executeTakeFirstOrThrow()).mime.toString("latin1").replace(/=\r\n/g, "").replace(/=3D/g, "=");
      const pixel = /src="([^"]*\/t\/o\/[^"]+)"/.exec(html)?.[1];
      const link = /href="([^"]*\/t\/c\/[^"]+)"/.exec(html)?.[1];
      assert.ok(pixel && link, "the mail is tracked");
      const path = (u: string) => new URL(u).pathname;
      await fetch(`${server.url}${path(pixel)}`, { headers: { "user-agent": "Mozilla/5.0 (Windows NT 10.0) Thunderbird/115.0" } });
      await fetch(`${server.url}${path(link)}`, { redirect: "manual", headers: { "user-agent": "Mozilla/5.0 (Windows NT 10.0) Thunderbird/115.0" } });
      await until("opened and clicked", async () => {
        const now = await statuses();
        return now.includes("opened") && now.includes("clicked");
      }, 10_000);

      const answer = await fetch(`${server.url}/unsubscribe/${deliveryId}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ unsubscribe: true }) });
      assert.equal(answer.status, 200);
      await until("unsubscribed", async () => (await statuses()).includes("unsubscribed"), 10_000);
      assert.deepEqual(await statuses(), ["sent", "delivered", "opened", "clicked", "unsubscribed"]);
      const counts = await s.outreachLedger.countsByStep(workspace.id, "9", 1);
      assert.deepEqual(counts.get("s1"), { sent: 1, delivered: 1, opened: 1, clicked: 1, bounced: 0, unsubscribed: 1, skipped: 0 });
      // The person is unsubscribed now: the next marketing mail is skipped.
      const [next] = await s.outreachMailer.send([{ ...mail, idempotencyKey: "run-1:s2", origin: { ...mail.origin, stepId: "s2" } as OutreachMail["origin"] }]);
      assert.equal(next?.kind === "skipped" && next.reason, "unsubscribed");
      const page = await s.outreachLedger.messagesOf(workspace.id, personId, { limit: 1, cursor: null });
      assert.equal(page.items[0]?.statuses[0], "skipped");
      assert.ok(page.next);
      const rest = await s.outreachLedger.messagesOf(workspace.id, personId, { limit: 1, cursor: page.next });
      assert.equal(rest.items[0]?.messageId, messageId);
      assert.equal(rest.next, null);
    });

    test("a bounce reaches the ledger of a broadcast's mail", async () => {
      const s = server.app.services;
      const { workspace } = await s.workspaces.create("bounces", { sandbox: false });
      const [r] = await s.people.apply(workspace.id, [{ op: "identify", who: { kind: "id", value: "nobody" }, attributes: { email: "nobody@example.test" } }]);
      const personId = (r as { personId: string }).personId;
      const [o] = await s.outreachMailer.send([
        {
          workspaceId: workspace.id,
          personId,
          content: { kind: "liquid", from: "news@brand.test", to: null, replyTo: null, subject: "News", html: null, text: "x", headers: {} },
          scope: {},
          tag: null,
          send: { from: null, stream: null, countsTowardLimit: true, transactional: false, topic: null },
          idempotencyKey: null,
          origin: { kind: "broadcast", broadcastId: "b1" },
          overLimit: "skip",
          quietHours: false,
          sendAt: null,
        },
      ]);
      assert.equal(o?.kind, "accepted");
      await until("bounced", async () => (await s.outreachLedger.countsByBroadcast(workspace.id, "b1")).bounced === 1, 10_000);
      assert.deepEqual(await s.outreachLedger.countsByBroadcast(workspace.id, "b1"), { sent: 1, delivered: 0, opened: 0, clicked: 0, bounced: 1, unsubscribed: 0, skipped: 0 });
    });
  });
}
