// Outbound webhooks end to end: the official client's /webhooks calls against a listening
// Posthorn, and the posts that real deliveries (to an SMTP sink on loopback), real 550 bounces and
// events written through the outbox make to a real HTTP receiver: Postmark's shapes, the
// signature, retries, order per message, isolation and the SSRF refusals.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { ServerClient } from "postmark";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { eventually } from "./support/eventually.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";
import { signingSecret, verifySignature } from "../src/webhooks/webhook-signature.js";
import { postmarkServerId } from "../src/api/postmark/server.routes.js";
import type { NewEvent } from "../src/events/event-map.js";

function client(server: TestServer, token: string): ServerClient {
  return new ServerClient(token, { useHttps: false, requestHost: server.url.replace(/^http:\/\//, ""), timeout: 30 });
}

async function failure(p: Promise<unknown>): Promise<{ statusCode: number; code: number; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { statusCode: number; code: number; message: string };
  }
  assert.fail("expected the call to fail");
}

const ALL_ON = {
  Open: { Enabled: true, PostFirstOpenOnly: true },
  Click: { Enabled: true },
  Delivery: { Enabled: true },
  Bounce: { Enabled: true, IncludeContent: true },
  SpamComplaint: { Enabled: true, IncludeContent: false },
  SubscriptionChange: { Enabled: true },
};

const READER = {
  userAgent: "Mozilla/5.0",
  client: { name: "Chrome 120", company: "Google", family: "Chrome" },
  os: { name: "Windows 10", company: "Microsoft", family: "Windows" },
  platform: "desktop" as const,
  ip: "203.0.113.7",
  geo: null,
  proxied: false,
};

describe("outbound webhooks", () => {
  let sink: SmtpSink;
  let server: TestServer;
  let receiver: WebhookReceiver;
  let acme: ServerClient;
  let globex: ServerClient;
  let acmeId: string;

  before(async () => {
    sink = await startSmtpSink({
      rcptReply: (rcpt) => (rcpt.startsWith("unknown") ? { code: 550, message: "5.1.1 No such user here" } : null),
    });
    receiver = await startWebhookReceiver();
    server = await startTestServer({
      POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
      POSTHORN_RETRY_SCHEDULE: "300ms",
      POSTHORN_VERP: "false",
      // The receiver listens on loopback, which webhooks may not reach unless the operator allows it.
      POSTHORN_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.1/32",
      POSTHORN_WEBHOOK_BACKOFF: "40ms",
      POSTHORN_WEBHOOK_BREAKER_THRESHOLD: "50",
    });
    acme = client(server, await server.createWorkspace("acme"));
    globex = client(server, await server.createWorkspace("globex"));
    acmeId = (await server.app.services.workspaces.get("acme")).id;
  });

  after(async () => {
    await server.close();
    await sink.close();
    await receiver.close();
  });

  test("the official client's webhook calls round trip, with Postmark's shapes", async () => {
    const created = await acme.createWebhook({
      Url: "https://hooks.example.com/pm",
      MessageStream: "outbound",
      HttpAuth: { Username: "user", Password: "s3cret" },
      HttpHeaders: [{ Name: "X-Team", Value: "mail" }],
      Triggers: { Delivery: { Enabled: true }, Open: { Enabled: true, PostFirstOpenOnly: true } },
    });
    assert.equal(typeof created.ID, "number");
    assert.deepEqual(created, {
      ID: created.ID,
      Url: "https://hooks.example.com/pm",
      MessageStream: "outbound",
      HttpAuth: { Username: "user", Password: "s3cret" },
      HttpHeaders: [{ Name: "X-Team", Value: "mail" }],
      Triggers: {
        Open: { Enabled: true, PostFirstOpenOnly: true },
        Click: { Enabled: false },
        Delivery: { Enabled: true },
        Bounce: { Enabled: false, IncludeContent: false },
        SpamComplaint: { Enabled: false, IncludeContent: false },
        SubscriptionChange: { Enabled: false },
      },
    });
    assert.deepEqual(await acme.getWebhook(created.ID), created);
    const edited = await acme.editWebhook(created.ID, { Url: "https://hooks.example.com/v2", Triggers: { Click: { Enabled: true } } });
    assert.equal(edited.Url, "https://hooks.example.com/v2");
    assert.deepEqual([edited.Triggers.Click.Enabled, edited.Triggers.Delivery.Enabled, edited.Triggers.Open.PostFirstOpenOnly], [true, true, true], "a PUT changes only what it names");
    assert.deepEqual((await acme.getWebhooks({ messageStream: "outbound" })).Webhooks.map((w) => w.ID), [created.ID]);
    assert.deepEqual((await acme.getWebhooks({ messageStream: "broadcast" })).Webhooks, []);
    const missingStream = await failure(acme.getWebhooks({ messageStream: "nope" }));
    assert.deepEqual([missingStream.statusCode, missingStream.code], [422, 1235]);
    const removed = await acme.deleteWebhook(created.ID);
    assert.equal(removed.ErrorCode, 0);
    const gone = await failure(acme.getWebhook(created.ID));
    assert.deepEqual([gone.statusCode, gone.code], [404, 1400]);
  });

  test("refuses bad URLs (internal addresses in any literal form among them, beyond the networks the operator allowed), bad headers and credentials, and more than 10 webhooks per stream", async () => {
    for (const Url of ["not a url", "ftp://x.example.com/", "http://127.0.0.2/x", "http://2130706434/", "http://[::ffff:127.0.0.3]/", "http://169.254.169.254/latest", "http://[::1]/", "http://10.0.0.8/", `https://x.example.com/${"a".repeat(2100)}`]) {
      const err = await failure(acme.createWebhook({ Url, Triggers: ALL_ON }));
      assert.deepEqual([err.statusCode, err.code], [422, 606], Url.slice(0, 60));
    }
    const missingUrl = await failure(acme.createWebhook({ Triggers: ALL_ON } as never));
    assert.deepEqual([missingUrl.statusCode, missingUrl.code], [422, 300]);
    for (const HttpHeaders of [[{ Name: "Bad Name", Value: "x" }], [{ Name: "X-A", Value: "a\r\nInjected: 1" }], [{ Name: "X-Posthorn-Signature", Value: "forged" }], Array.from({ length: 21 }, (_, i) => ({ Name: `X-${i}`, Value: "v" }))]) {
      const err = await failure(acme.createWebhook({ Url: "https://hooks.example.com/", HttpHeaders, Triggers: ALL_ON }));
      assert.deepEqual([err.statusCode, err.code], [422, 300], JSON.stringify(HttpHeaders).slice(0, 60));
    }
    const colon = await failure(acme.createWebhook({ Url: "https://hooks.example.com/", HttpAuth: { Username: "a:b", Password: "p" }, Triggers: ALL_ON }));
    assert.deepEqual([colon.statusCode, colon.code], [422, 300]);
    const badTrigger = await failure(acme.createWebhook({ Url: "https://hooks.example.com/", Triggers: { Open: { Enabled: "yes" } } } as never));
    assert.deepEqual([badTrigger.statusCode, badTrigger.code], [422, 300]);
    const inbound = await failure(acme.createWebhook({ Url: "https://hooks.example.com/", MessageStream: "inbound", Triggers: ALL_ON }));
    assert.deepEqual([inbound.statusCode, inbound.code], [422, 1235]);

    const ids: number[] = [];
    for (let i = 0; i < 10; i++) ids.push((await acme.createWebhook({ Url: `https://hooks.example.com/${i}`, MessageStream: "broadcast" })).ID);
    const eleventh = await failure(acme.createWebhook({ Url: "https://hooks.example.com/11", MessageStream: "broadcast" }));
    assert.deepEqual([eleventh.statusCode, eleventh.code], [422, 300]);
    assert.match(eleventh.message, /already has 10 webhooks/);
    for (const id of ids) await acme.deleteWebhook(id);
  });

  test("a workspace sees, changes and deletes only its own webhooks", async () => {
    const mine = await acme.createWebhook({ Url: "https://hooks.example.com/acme" });
    // One call at a time: a rejection not yet awaited would be reported as unhandled.
    for (const call of [() => globex.getWebhook(mine.ID), () => globex.editWebhook(mine.ID, { Url: "https://evil.example.com/" }), () => globex.deleteWebhook(mine.ID)]) {
      const err = await failure(call());
      assert.deepEqual([err.statusCode, err.code], [404, 1400]);
    }
    assert.deepEqual((await globex.getWebhooks()).Webhooks, []);
    assert.equal((await acme.getWebhook(mine.ID)).Url, "https://hooks.example.com/acme");
    await acme.deleteWebhook(mine.ID);
  });

  test("a real delivery and a real 550 are posted as Delivery and Bounce in Postmark's shapes, signed, with the endpoint's auth and headers", async () => {
    receiver.posts.length = 0;
    const hook = await acme.createWebhook({
      Url: `${receiver.url}/events`,
      HttpAuth: { Username: "hook", Password: "pw" },
      HttpHeaders: [{ Name: "X-Team", Value: "mail" }],
      Triggers: ALL_ON,
    });
    const sent = await acme.sendEmail({ From: "shop@acme.test", To: "ada@example.test", Subject: "Hi", TextBody: "Hello", Tag: "welcome", Metadata: { order: "42" } });
    const bounced = await acme.sendEmail({ From: "shop@acme.test", To: "unknown@example.test", Subject: "Hi", TextBody: "Hello", Metadata: { order: "43" } });
    const delivery = await eventually(async () => receiver.posts.find((p) => p.json.RecordType === "Delivery" && p.json.MessageID === sent.MessageID), 20_000);
    assert.deepEqual({ ...delivery.json, DeliveredAt: "·", Details: "·" }, {
      RecordType: "Delivery",
      ServerID: postmarkServerId(acmeId),
      MessageStream: "outbound",
      MessageID: sent.MessageID,
      Recipient: "ada@example.test",
      Tag: "welcome",
      Metadata: { order: "42" },
      DeliveredAt: "·",
      Details: "·",
    });
    assert.match(delivery.json.DeliveredAt as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(delivery.json.Details as string, /^smtp;250/);
    assert.equal(delivery.headers.authorization, `Basic ${Buffer.from("hook:pw").toString("base64")}`);
    assert.equal(delivery.headers["x-team"], "mail");
    const secret = signingSecret(server.app.services.encryptionKey, acmeId);
    assert.ok(verifySignature(secret, String(delivery.headers["x-posthorn-signature"]), delivery.body, Math.floor(Date.now() / 1000)), "the signature verifies");
    assert.equal(verifySignature(secret, String(delivery.headers["x-posthorn-signature"]), delivery.body.replace("42", "44"), Math.floor(Date.now() / 1000)), false, "an altered body does not");
    assert.equal(verifySignature(signingSecret(server.app.services.encryptionKey, "another"), String(delivery.headers["x-posthorn-signature"]), delivery.body, Math.floor(Date.now() / 1000)), false, "another workspace's secret does not");

    const bounce = await eventually(async () => receiver.posts.find((p) => p.json.RecordType === "Bounce" && p.json.MessageID === bounced.MessageID), 20_000);
    assert.equal(bounce.json.Type, "HardBounce");
    assert.equal(bounce.json.TypeCode, 1);
    assert.equal(bounce.json.Email, "unknown@example.test");
    assert.equal(bounce.json.MessageStream, "outbound");
    assert.deepEqual(bounce.json.Metadata, { order: "43" });
    assert.equal(typeof bounce.json.ID, "number");
    assert.match(String(bounce.json.Content), /No such user/, "IncludeContent: the content is there");
    // The hard bounce suppressed the address: a SubscriptionChange follows, after the bounce.
    const change = await eventually(async () => receiver.posts.find((p) => p.json.RecordType === "SubscriptionChange" && p.json.Recipient === "unknown@example.test"), 20_000);
    assert.deepEqual([change.json.SuppressSending, change.json.SuppressionReason, change.json.Origin, change.json.MessageID], [true, "HardBounce", "Recipient", bounced.MessageID]);
    assert.ok(receiver.posts.indexOf(change) > receiver.posts.indexOf(bounce), "in order per message");
    // Reactivated (written through the outbox as the suppressions domain does): no message, reason or tag.
    const { store, outbox } = server.app.services;
    await store.write((trx) => outbox.emit(trx, [{ type: "suppression.removed", workspaceId: acmeId, messageId: null, recipient: "unknown@example.test", data: { stream: "outbound", reason: "HardBounce", origin: "Customer" } }]));
    const reactivated = await eventually(async () => receiver.posts.find((p) => p.json.RecordType === "SubscriptionChange" && p.json.SuppressSending === false), 20_000);
    assert.deepEqual({ ...reactivated.json, ChangedAt: "·" }, {
      RecordType: "SubscriptionChange",
      ServerID: postmarkServerId(acmeId),
      MessageStream: "outbound",
      MessageID: null,
      ChangedAt: "·",
      Recipient: "unknown@example.test",
      Origin: "Customer",
      SuppressSending: false,
      SuppressionReason: null,
      Tag: null,
      Metadata: {},
    });
    await acme.deleteWebhook(hook.ID);
  });

  test("opens and clicks written through the outbox are posted in order, the first open only and one click per link where asked", async () => {
    receiver.posts.length = 0;
    const hook = await acme.createWebhook({ Url: `${receiver.url}/engagement`, Triggers: ALL_ON });
    // Without PostFirstOpenOnly, another endpoint gets every open.
    const every = await acme.createWebhook({ Url: `${receiver.url}/every-open`, Triggers: { Open: { Enabled: true, PostFirstOpenOnly: false } } });
    // The Delivery is refused three times (retried after 40, 200 and 400 ms): the Open and Click,
    // written meanwhile, must wait for it.
    let refusals = 3;
    receiver.answer = (post) => (post.path === "/engagement" && post.json.RecordType === "Delivery" && refusals-- > 0 ? { status: 503 } : { status: 200 });
    const sent = await acme.sendEmail({ From: "shop@acme.test", To: "bob@example.test", Subject: "Hi", TextBody: "Hello", Tag: "t1", Metadata: { k: "v" } });
    const ofMessage = () => receiver.posts.filter((p) => p.path === "/engagement" && p.json.MessageID === sent.MessageID);
    await eventually(async () => ofMessage().length >= 1, 20_000);
    const about = { workspaceId: acmeId, messageId: sent.MessageID, recipient: "bob@example.test" };
    const events: NewEvent[] = [
      { ...about, type: "delivery.opened", data: { ...READER, stream: "outbound", firstOpen: true } },
      { ...about, type: "delivery.opened", data: { ...READER, stream: "outbound", firstOpen: false } },
      { ...about, type: "delivery.clicked", data: { ...READER, stream: "outbound", link: "https://acme.test/a", location: "html", firstClick: true } },
      { ...about, type: "delivery.clicked", data: { ...READER, stream: "outbound", link: "https://acme.test/a", location: "html", firstClick: false } },
    ];
    const { store, outbox } = server.app.services;
    await store.write((trx) => outbox.emit(trx, events));
    await eventually(async () => receiver.posts.filter((p) => p.path === "/every-open").length === 2 && ofMessage().length >= 6, 20_000);
    assert.deepEqual(ofMessage().map((p) => p.json.RecordType), ["Delivery", "Delivery", "Delivery", "Delivery", "Open", "Click"], "the Delivery first (three refusals, then posted), then one Open and one Click");
    receiver.answer = () => ({ status: 200 });
    const open = receiver.posts.find((p) => p.path === "/engagement" && p.json.RecordType === "Open")!.json;
    assert.deepEqual([open.FirstOpen, open.Platform, open.UserAgent, open.Tag, open.Metadata, (open.Client as Record<string, unknown>).Family, (open.Geo as Record<string, unknown>).IP], [true, "Desktop", "Mozilla/5.0", "t1", { k: "v" }, "Chrome", "203.0.113.7"]);
    const click = receiver.posts.find((p) => p.path === "/engagement" && p.json.RecordType === "Click")!.json;
    assert.deepEqual([click.ClickLocation, click.OriginalLink], ["HTML", "https://acme.test/a"]);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(ofMessage().length, 6, "no second open or click");
    await acme.deleteWebhook(hook.ID);
    await acme.deleteWebhook(every.ID);
  });

  test("a post answered 500 is retried until it succeeds, each attempt recorded; another workspace's events never reach this endpoint", async () => {
    receiver.posts.length = 0;
    let failures = 2;
    receiver.answer = (post) => (post.path === "/flaky" && failures-- > 0 ? { status: 500 } : { status: 200 });
    const hook = await acme.createWebhook({ Url: `${receiver.url}/flaky`, Triggers: { Delivery: { Enabled: true } } });
    const sent = await acme.sendEmail({ From: "shop@acme.test", To: "carol@example.test", Subject: "Hi", TextBody: "Hello" });
    await globex.sendEmail({ From: "shop@globex.test", To: "carol@example.test", Subject: "Hi", TextBody: "Hello" });
    await eventually(async () => receiver.posts.some((p) => p.path === "/flaky" && p.json.MessageID === sent.MessageID && p.status === 200), 20_000);
    await new Promise((r) => setTimeout(r, 100)); // the outcome is recorded just after the answer
    const { store } = server.app.services;
    const rows = await store.db.selectFrom("webhook_deliveries").selectAll().where("webhook_id", "=", hook.ID).execute();
    assert.equal(rows.length, 1, "only acme's message");
    assert.deepEqual([rows[0]!.state, rows[0]!.attempts], ["posted", 3]);
    const attempts = await store.db.selectFrom("webhook_attempts").selectAll().where("delivery_id", "=", rows[0]!.id).orderBy("id").execute();
    assert.deepEqual(attempts.map((a) => [a.attempt, a.status, a.response]), [[1, 500, "answer 500"], [2, 500, "answer 500"], [3, 200, "answer 200"]]);
    assert.ok(attempts.every((a) => a.duration_ms >= 0));
    receiver.answer = () => ({ status: 200 });
    await acme.deleteWebhook(hook.ID);
  });

  test("mail is delivered while a webhook endpoint hangs", async () => {
    const dead = await startWebhookReceiver();
    dead.answer = () => "hang";
    const hook = await acme.createWebhook({ Url: `${dead.url}/hang`, Triggers: { Delivery: { Enabled: true } } });
    try {
      const before = sink.messages.length;
      const started = Date.now();
      const sent = await acme.sendEmailBatch(Array.from({ length: 20 }, (_, i) => ({ From: "shop@acme.test", To: `reader${i}@example.test`, Subject: "Hi", TextBody: "Hello" })));
      assert.ok(sent.every((r) => r.ErrorCode === 0));
      await sink.waitForMessages(before + 20, 10_000);
      assert.ok(Date.now() - started < 8_000, "delivered well within the 10 s the hanging posts wait");
      await eventually(async () => (await server.app.services.store.db.selectFrom("webhook_deliveries").select("id").where("webhook_id", "=", hook.ID).execute()).length === 20, 10_000);
      assert.equal(dead.posts.length, 0, "the endpoint answered nothing");
    } finally {
      await acme.deleteWebhook(hook.ID);
      await dead.close();
    }
  });

  test("PUT /server's legacy hook URLs are webhooks of the outbound stream", async () => {
    const server1 = await acme.editServer({ DeliveryHookUrl: "https://hooks.example.com/delivery", OpenHookUrl: "https://hooks.example.com/open", PostFirstOpenOnly: true, BounceHookUrl: "https://hooks.example.com/bounce", IncludeBounceContentInHook: true });
    assert.deepEqual([server1.DeliveryHookUrl, server1.OpenHookUrl, server1.PostFirstOpenOnly, server1.BounceHookUrl, server1.IncludeBounceContentInHook, server1.ClickHookUrl], ["https://hooks.example.com/delivery", "https://hooks.example.com/open", true, "https://hooks.example.com/bounce", true, ""]);
    const hooks = (await acme.getWebhooks({ messageStream: "outbound" })).Webhooks;
    const open = hooks.find((h) => h.Url === "https://hooks.example.com/open")!;
    assert.deepEqual([open.Triggers.Open.Enabled, open.Triggers.Open.PostFirstOpenOnly, open.Triggers.Delivery.Enabled], [true, true, false]);
    const bounce = hooks.find((h) => h.Url === "https://hooks.example.com/bounce")!;
    assert.deepEqual([bounce.Triggers.Bounce.Enabled, bounce.Triggers.Bounce.IncludeContent, bounce.Triggers.SpamComplaint.Enabled], [true, true, true]);
    const refused = await failure(acme.editServer({ ClickHookUrl: "http://169.254.169.254/", InboundHookUrl: "https://hooks.example.com/inbound" }));
    assert.deepEqual([refused.statusCode, refused.code], [422, 606]);
    const badInbound = await failure(acme.editServer({ ClickHookUrl: "https://hooks.example.com/click", InboundHookUrl: "ftp://nope" }));
    assert.deepEqual([badInbound.statusCode, badInbound.code], [422, 606]);
    const unchanged = await acme.getServer();
    assert.deepEqual([unchanged.ClickHookUrl, unchanged.InboundHookUrl], ["", ""], "a refused PUT changes nothing");
    const cleared = await acme.editServer({ DeliveryHookUrl: "", OpenHookUrl: "", BounceHookUrl: "" });
    // PostFirstOpenOnly is the server's setting: it outlives the hook, and a new open hook follows it.
    assert.deepEqual([cleared.DeliveryHookUrl, cleared.OpenHookUrl, cleared.PostFirstOpenOnly, cleared.BounceHookUrl], ["", "", true, ""]);
    assert.deepEqual((await acme.getWebhooks()).Webhooks, []);
    await acme.editServer({ OpenHookUrl: "https://hooks.example.com/open-again" });
    const again = (await acme.getWebhooks({ messageStream: "outbound" })).Webhooks.find((h) => h.Url === "https://hooks.example.com/open-again")!;
    assert.equal(again.Triggers.Open.PostFirstOpenOnly, true);
    await acme.editServer({ OpenHookUrl: "", PostFirstOpenOnly: false });
  });
});
