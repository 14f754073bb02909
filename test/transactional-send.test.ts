// Transactional messages through Customer.io's App API, driven by the official customerio-node
// APIClient (sendEmail with SendEmailRequest) over Posthorn's HTTPS listener with its certificate
// pinned, mail going through the MTA to a loopback SMTP sink: a stored message with Liquid and
// message_data, a send with its own content, the person made when missing, `to` overriding the
// address, send_to_unsubscribed, attachments, send_at; the definitions' CRUD; every bad input
// answered 400 naming its field; the 100/s rate limit answered 429; on SQLite and PostgreSQL.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { APIClient, SendEmailRequest } from "customerio-node";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { serverDatabases } from "./support/stores.js";
import { appApi, until, type AppApi } from "./support/segments.js";

for (const database of serverDatabases()) {
  describe(`transactional sends on ${database.name}`, () => {
    let sink: SmtpSink;
    let server: TestServer;
    let drop: () => Promise<void>;
    let client: APIClient;
    let api: AppApi;
    let other: AppApi;
    let workspaceId: string;
    let dropStill: () => Promise<void> = async () => undefined;

    before(async () => {
      sink = await startSmtpSink();
      const db = await database.open();
      drop = db.drop;
      server = await startTestServer({ ...db.env, POSTHORN_TRACK_HTTPS_PORT: "0", POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`, POSTHORN_RETRY_SCHEDULE: "300ms", POSTHORN_VERP: "false" });
      await server.createWorkspace("shop");
      await server.createWorkspace("rival");
      const appKey = (await server.app.services.workspaces.createTrackCredentials("shop")).appKey;
      workspaceId = (await server.app.services.workspaces.get("shop")).id;
      const https = server.app.trackHttps!;
      client = new APIClient(appKey, { url: "https://127.0.0.1/v1", port: Number(new URL(https.url).port), ca: readFileSync(https.certPath) } as never);
      api = appApi(server.url, appKey);
      other = appApi(server.url, (await server.app.services.workspaces.createTrackCredentials("rival")).appKey);
    });
    after(async () => {
      await server.close();
      await sink.close();
      await drop();
    });

    const received = async (to: string) => {
      await until(`mail to ${to}`, async () => sink.messages.some((m) => m.rcptTo.includes(to)), 10_000);
      return sink.messages.find((m) => m.rcptTo.includes(to))!.raw.toString("utf8");
    };

    test("a stored message with Liquid and message_data reaches the person; they are made when missing", async () => {
      const created = await api.call("POST", "/transactional", { name: "Receipt", trigger_name: "receipt", from: "Shop <shop@brand.test>", subject: "Order {{ trigger.order_id }}", body: "<p>Hi {{ customer.email }}, total {{ message_data.total }}</p>", body_plain: "Total {{ trigger.total }}" });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const id = (created.body.message as { id: number }).id;
      const answer = (await client.sendEmail(new SendEmailRequest({ to: "new@example.test", identifiers: { email: "new@example.test" }, transactional_message_id: id, message_data: { order_id: "A-1", total: "9.90" } } as never))) as { delivery_id: string; queued_at: number };
      assert.match(answer.delivery_id, /^[0-9]+-[A-Za-z0-9_-]{22}$/);
      assert.ok(Math.abs(answer.queued_at - Date.now() / 1000) < 60);
      const raw = await received("new@example.test");
      assert.match(raw, /^Subject: Order A-1\r$/m);
      assert.match(raw, /Total 9\.90/);
      assert.match(raw, new RegExp(`^CIO-Delivery-ID: ${answer.delivery_id}\\r$`, "m"));
      const person = await server.app.services.people.find(workspaceId, { kind: "email", value: "new@example.test" });
      assert.ok(person, "the person was made");
      const byTrigger = (await client.sendEmail(new SendEmailRequest({ to: "new@example.test", identifiers: { email: "new@example.test" }, transactional_message_id: "receipt", message_data: { order_id: "A-2" } } as never))) as { delivery_id: string };
      assert.notEqual(byTrigger.delivery_id, answer.delivery_id);
      const page = await server.app.services.outreachLedger.messagesOf(workspaceId, person.personId, { limit: 10, cursor: null });
      assert.deepEqual(page.items.map((m) => m.origin), [{ kind: "transactional", transactionalId: String(id) }, { kind: "transactional", transactionalId: String(id) }]);
    });

    test("a send with its own content; `to` overrides the address; reply_to, bcc, headers, preheader and attachments are honoured", async () => {
      await server.app.services.people.apply(workspaceId, [{ op: "identify", who: { kind: "id", value: "kim" }, attributes: { email: "kim@example.test", name: "Kim" } }]);
      const req = new SendEmailRequest({ to: "kim.work@example.test", identifiers: { id: "kim" }, from: "shop@brand.test", subject: "Hello {{ customer.name }}", body: "<html><body><p>Body</p></body></html>", reply_to: "help@brand.test", bcc: "audit@example.test", headers: { "X-Order": "7" }, preheader: "Your preview", tracked: false } as never);
      req.attach("invoice.txt", "invoice text");
      await client.sendEmail(req);
      const raw = await received("kim.work@example.test");
      assert.ok(!sink.messages.some((m) => m.rcptTo.includes("kim@example.test")), "the person's own address is not used");
      assert.match(raw, /^Subject: Hello Kim\r$/m);
      assert.match(raw, /^Reply-To: help@brand\.test\r$/m);
      assert.match(raw, /^X-Order: 7\r$/m);
      assert.match(raw, /Your preview/);
      assert.match(raw, /filename=invoice\.txt/);
      await received("audit@example.test");
    });

    test("a send to several (to and bcc): each recipient's copy carries its own CIO-Delivery-ID, and unsubscribing by it acts on that recipient only", async () => {
      await server.app.services.people.apply(workspaceId, [{ op: "identify", who: { kind: "id", value: "tom" }, attributes: { email: "tom@example.test" } }]);
      const answer = (await client.sendEmail(new SendEmailRequest({ to: "tom@example.test", identifiers: { id: "tom" }, from: "shop@brand.test", subject: "Receipt", body: "<html><body><p>Thanks <a href=\"https://shop.example/o/1\">order</a></p></body></html>", bcc: "books@example.test" } as never))) as { delivery_id: string };
      const idsIn = (raw: string) => [...raw.matchAll(/^CIO-Delivery-ID: (\S+)\r$/gm)].map((m) => m[1]!);
      const toCopy = idsIn(await received("tom@example.test"));
      const bccCopy = idsIn(await received("books@example.test"));
      assert.equal(toCopy.length, 1, "one field per copy");
      assert.equal(bccCopy.length, 1, "one field per copy");
      assert.equal(toCopy[0], answer.delivery_id, "the person's copy carries the delivery id the API answered");
      assert.notEqual(bccCopy[0], toCopy[0], "the bcc copy carries its own");
      assert.match(bccCopy[0]!, /^[0-9]+-[A-Za-z0-9_-]{22}$/);
      const unsubscribe = await fetch(`${server.url}/unsubscribe/${bccCopy[0]}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ unsubscribe: true }) });
      assert.equal(unsubscribe.status, 200);
      const books = await server.app.services.people.find(workspaceId, { kind: "email", value: "books@example.test" });
      const tom = await server.app.services.people.find(workspaceId, { kind: "id", value: "tom" });
      assert.equal(books?.unsubscribed, true, "the bcc recipient, whose copy it was, is unsubscribed");
      assert.equal(tom?.unsubscribed, false, "the person the message was for is not");
    });

    test("send_to_unsubscribed: true by default (as Customer.io), false refuses with 422", async () => {
      await server.app.services.people.apply(workspaceId, [{ op: "identify", who: { kind: "id", value: "gone" }, attributes: { email: "gone@example.test" }, unsubscribed: true }]);
      await client.sendEmail(new SendEmailRequest({ to: "gone@example.test", identifiers: { id: "gone" }, from: "shop@brand.test", subject: "Password reset", body: "Reset" } as never));
      await received("gone@example.test");
      const refused = await api.call("POST", "/send/email", { to: "gone@example.test", identifiers: { id: "gone" }, from: "shop@brand.test", subject: "Offer", body: "x", send_to_unsubscribed: false });
      assert.equal(refused.status, 422);
      assert.match(String((refused.body.meta as { error: string }).error), /unsubscribed/);
      // An address suppressed on the transactional stream is refused by acceptance: 422 as well.
      await server.app.services.suppressions.suppressByCustomer(workspaceId, "outbound", ["blocked@example.test"]);
      const suppressed = await api.call("POST", "/send/email", { to: "blocked@example.test", identifiers: { email: "blocked@example.test" }, from: "shop@brand.test", subject: "Receipt", body: "x" });
      assert.equal(suppressed.status, 422, JSON.stringify(suppressed.body));
    });

    test("send_at: accepted now, delivered when due (not before)", async () => {
      const at = Math.floor(Date.now() / 1000) + 3_600;
      const answer = await api.call("POST", "/send/email", { to: "later@example.test", identifiers: { email: "later@example.test" }, from: "shop@brand.test", subject: "Later", body: "x", send_at: at });
      assert.equal(answer.status, 200);
      const rows = await server.app.services.store.db.selectFrom("deliveries").select("next_attempt_at").where("recipient", "=", "later@example.test").execute();
      assert.equal(Number(rows[0]!.next_attempt_at), at * 1000);
    });

    test("each bad input is answered 400 in Customer.io's form naming the field", async () => {
      const base = { to: "x@example.test", identifiers: { id: "x" }, from: "shop@brand.test", subject: "S", body: "B" };
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ ...base, identifiers: undefined }, "identifiers"],
        [{ ...base, identifiers: { id: "a", email: "b@example.test" } }, "identifiers"],
        [{ ...base, identifiers: { phone: "1" } }, "identifiers"],
        [{ ...base, from: undefined }, "from"],
        [{ ...base, subject: undefined }, "subject"],
        [{ ...base, body: undefined }, "body"],
        [{ ...base, subject: "{% if %}" }, "subject"],
        [{ ...base, headers: { "Bad Name": "x" } }, "headers.Bad Name"],
        [{ ...base, headers: { X: 1 } }, "headers.X"],
        [{ ...base, message_data: "text" }, "message_data"],
        [{ ...base, message_data: { big: "x".repeat(101 * 1024) } }, "message_data"],
        [{ ...base, send_at: "tomorrow" }, "send_at"],
        [{ ...base, send_at: Math.floor(Date.now() / 1000) + 91 * 86_400 }, "send_at"],
        [{ ...base, tracked: "yes" }, "tracked"],
        [{ ...base, attachments: { "a.txt": 5 } }, "attachments.a.txt"],
        [{ ...base, disable_message_retention: true }, "disable_message_retention"],
        [{ ...base, queue_draft: true }, "queue_draft"],
        [{ ...base, fake_bcc: true }, "fake_bcc"],
        [{ ...base, body_amp: "<html amp4email>" }, "body_amp"],
        [{ ...base, transactional_message_id: {} }, "transactional_message_id"],
        [{ ...base, identifiers: { cio_id: "nobody" } }, "identifiers.cio_id"],
        [{ ...base, to: undefined, identifiers: { id: "fresh" } }, "to"],
      ];
      for (const [body, field] of cases) {
        const answer = await api.call("POST", "/send/email", body);
        assert.equal(answer.status, 400, `${field}: ${JSON.stringify(answer.body)}`);
        const errors = answer.body.errors as Array<{ field: string }>;
        assert.equal(errors[0]?.field, field, JSON.stringify(answer.body));
        assert.ok((answer.body.meta as { error: string }).error);
      }
      assert.equal(await server.app.services.people.find(workspaceId, { kind: "id", value: "fresh" }), null, "a refused send made no person");
      const notFound = await api.call("POST", "/send/email", { ...base, transactional_message_id: 999_999, from: undefined, subject: undefined, body: undefined });
      assert.equal(notFound.status, 404);
      const attachment = await api.call("POST", "/send/email", { ...base, attachments: { "a.exe": Buffer.from("x").toString("base64") } });
      assert.equal(attachment.status, 400, "acceptance's attachment rules apply");
    });

    test("transactional message definitions: CRUD by id or trigger name, bad ones refused, per workspace", async () => {
      const made = await api.call("POST", "/transactional", { name: "Welcome", trigger_name: "welcome", from: "shop@brand.test", subject: "Hi", body: "<p>x</p>" });
      const id = (made.body.message as { id: number }).id;
      assert.equal((await api.call("GET", `/transactional/welcome`)).body.message && ((await api.call("GET", `/transactional/welcome`)).body.message as { id: number }).id, id);
      const changed = await api.call("PUT", `/transactional/${id}`, { name: "Welcome 2", trigger_name: "welcome", from: "shop@brand.test", subject: "Hello", body: "<p>y</p>" });
      assert.equal((changed.body.message as { subject: string }).subject, "Hello");
      assert.equal((await api.call("POST", "/transactional", { name: "Dup", trigger_name: "welcome", from: "a@brand.test", subject: "s", body: "b" })).status, 409);
      assert.equal((await api.call("POST", "/transactional", { name: "Bad", from: "a@brand.test", subject: "{{ x", body: "b" })).status, 400);
      assert.equal((await api.call("POST", "/transactional", { from: "a@brand.test", subject: "s", body: "b" })).status, 400);
      assert.equal((await api.call("POST", "/transactional", { name: "n", trigger_name: "123", from: "a@brand.test", subject: "s", body: "b" })).status, 400);
      assert.equal((await other.call("GET", `/transactional/${id}`)).status, 404, "another workspace cannot see it");
      assert.ok(((await api.call("GET", "/transactional")).body.messages as unknown[]).length >= 2);
      assert.equal((await api.call("DELETE", `/transactional/${id}`)).status, 204);
      assert.equal((await api.call("GET", `/transactional/${id}`)).status, 404);
    });

    test("more than 100 sends a second for a workspace are answered 429 in Customer.io's form", async () => {
      // A server of its own whose clock stands still: within that one "second" exactly 100 sends
      // pass the limit, however slowly this machine serves the requests.
      const frozen = Date.now();
      const still = await startTestServer({ ...(await database.open().then((d) => ((dropStill = d.drop), d.env))), POSTHORN_ROLES: "api" }, { clock: { now: () => frozen } });
      try {
        await still.createWorkspace("busy");
        const busy = appApi(still.url, (await still.app.services.workspaces.createTrackCredentials("busy")).appKey);
        const body = { to: "burst@example.test", identifiers: { email: "burst@example.test" }, from: "shop@brand.test", subject: "S", body: "B" };
        const answers = await Promise.all(Array.from({ length: 120 }, () => busy.call("POST", "/send/email", body)));
        assert.equal(answers.filter((a) => a.status === 200).length, 100);
        const limited = answers.filter((a) => a.status === 429);
        assert.equal(limited.length, 20);
        assert.match(String((limited[0]!.body.meta as { error: string }).error), /100/);
        await still.createWorkspace("calm");
        const calm = appApi(still.url, (await still.app.services.workspaces.createTrackCredentials("calm")).appKey);
        const rival = await calm.call("POST", "/send/email", { ...body, to: "rival@example.test" });
        assert.equal(rival.status, 200, "another workspace has its own limit");
      } finally {
        await still.close();
        await dropStill();
      }
    });
  });
}
