// The inbound messages API driven by the official postmark client (ServerClient, 5.1.0) against a
// real listening server: search and its filters, details, retry, bypass and tenant isolation.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Models } from "postmark";
import { rawMessage, startInboundApi, type InboundApi, type TestWorkspace } from "./testing/inbound-api.js";
import { failure } from "./testing/client-failure.js";

const DAY1 = Date.parse("2024-03-01T10:00:00Z");
const DAY2 = Date.parse("2024-03-02T10:00:00Z");
const DAY3 = Date.parse("2024-03-03T10:00:00Z");

const MULTIPART = (to: string) =>
  [
    'From: "Ada Lovelace" <Ada@Example.test>',
    `To: ${to}`,
    "Cc: Carol <carol@example.test>",
    "Reply-To: replies@example.test",
    "Subject: Order 55 question",
    "Date: Fri, 1 Mar 2024 10:00:00 +0000",
    "Message-ID: <order55@example.test>",
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="b1"',
    "",
    "--b1",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Where is my order?",
    "",
    "On Thu, 29 Feb 2024, Shop wrote:",
    "> Your order shipped.",
    "--b1",
    "Content-Type: text/plain; name=note.txt",
    "Content-Disposition: attachment; filename=note.txt",
    "Content-ID: <note@example.test>",
    "Content-Transfer-Encoding: base64",
    "",
    Buffer.from("order 55").toString("base64"),
    "--b1--",
    "",
  ].join("\n");

describe("Postmark inbound messages API (ServerClient)", () => {
  let api: InboundApi;
  let acme: TestWorkspace;
  let globex: TestWorkspace;
  const ids: Record<string, string> = {};

  before(async () => {
    api = await startInboundApi();
    acme = await api.createWorkspace("acme");
    globex = await api.createWorkspace("globex");
    ids.order = (await api.receive(acme, { raw: MULTIPART(acme.address("order-55")), recipient: acme.address("order-55"), at: DAY1 })).id;
    ids.hello = (await api.receive(acme, { raw: rawMessage({ from: "bob@other.test", to: acme.address(), subject: "Hello there" }), at: DAY2 })).id;
    ids.support = (await api.receive(acme, { raw: rawMessage({ from: "Carol <carol@example.test>", to: acme.address("support"), subject: "Support needed" }), recipient: acme.address("support"), at: DAY3 }))
      .id;
    ids.globex = (await api.receive(globex, { raw: rawMessage({ from: "zed@example.test", to: globex.address(), subject: "Globex only" }), at: DAY3 })).id;
  });

  after(async () => {
    await api.close();
  });

  test("lists a workspace's messages newest first, with Postmark's search fields and attachment metadata only", async () => {
    const result = await acme.client.getInboundMessages();
    assert.equal(result.TotalCount, 3);
    assert.deepEqual(
      result.InboundMessages.map((m) => m.MessageID),
      [ids.support, ids.hello, ids.order],
    );
    const order = result.InboundMessages[2]!;
    assert.deepEqual(Object.keys(order).sort(), [
      "Attachments", "Bcc", "BccFull", "Cc", "CcFull", "Date", "From", "FromFull", "FromName", "MailboxHash", "MessageID", "MessageStream",
      "OriginalRecipient", "ReplyTo", "Status", "Subject", "Tag", "To", "ToFull",
    ]);
    assert.equal(order.From, "Ada@Example.test");
    assert.equal(order.FromName, "Ada Lovelace");
    assert.deepEqual(order.FromFull, { Email: "Ada@Example.test", Name: "Ada Lovelace", MailboxHash: "" });
    assert.equal(order.To, acme.address("order-55"));
    assert.deepEqual(order.ToFull, [{ Email: acme.address("order-55"), Name: "", MailboxHash: "order-55" }]);
    assert.equal(order.Cc, '"Carol" <carol@example.test>');
    assert.equal(order.ReplyTo, "replies@example.test");
    assert.equal(order.OriginalRecipient, acme.address("order-55"));
    assert.equal(order.Subject, "Order 55 question");
    assert.equal(order.Date, "Fri, 1 Mar 2024 10:00:00 +0000");
    assert.equal(order.MailboxHash, "order-55");
    assert.equal(order.Tag, "");
    assert.equal(order.Status, "Processed"); // no webhook URL: nothing to post
    assert.equal(order.MessageStream, "inbound");
    assert.deepEqual(order.Attachments, [{ Name: "note.txt", ContentType: "text/plain", ContentLength: 8, ContentID: "note@example.test" }]);
  });

  test("filters by mailbox hash, recipient, sender, subject, status and tag", async () => {
    const ids_ = async (filter: Record<string, unknown>) => (await acme.client.getInboundMessages(filter as Models.InboundMessagesFilteringParameters)).InboundMessages.map((m) => m.MessageID);
    assert.deepEqual(await ids_({ mailboxHash: "order-55" }), [ids.order]);
    assert.deepEqual(await ids_({ mailboxHash: "order" }), []); // the hash matches exactly
    assert.deepEqual(await ids_({ recipient: "+support@" }), [ids.support]); // recipient matches a part
    assert.deepEqual(await ids_({ fromEmail: "ADA@example" }), [ids.order]); // sender: a part, any case
    assert.deepEqual(await ids_({ fromEmail: "example.test" }), [ids.support, ids.order]);
    assert.deepEqual(await ids_({ subject: "Hello" }), [ids.hello]);
    assert.deepEqual(await ids_({ status: Models.InboundMessageStatus.Processed }), [ids.support, ids.hello, ids.order]);
    assert.deepEqual(await ids_({ status: "PROCESSED" }), [ids.support, ids.hello, ids.order]);
    assert.deepEqual(await ids_({ status: Models.InboundMessageStatus.Blocked }), []);
    assert.deepEqual(await ids_({ tag: "anything" }), []);
    assert.deepEqual(await ids_({ recipient: "+support@", subject: "Hello" }), []); // filters combine

    const bad = await failure(acme.client.getInboundMessages({ status: "bounced" } as unknown as Models.InboundMessagesFilteringParameters));
    assert.deepEqual([bad.statusCode, bad.code], [422, 300]);
    assert.match(bad.message, /'status' must be blocked, processed, queued, failed or scheduled/);
  });

  test("filters by received date: bare dates cover whole days, ISO times are exact", async () => {
    const ids_ = async (filter: Record<string, string>) => (await acme.client.getInboundMessages(filter)).InboundMessages.map((m) => m.MessageID);
    assert.deepEqual(await ids_({ fromDate: "2024-03-02" }), [ids.support, ids.hello]);
    assert.deepEqual(await ids_({ toDate: "2024-03-02" }), [ids.hello, ids.order]);
    assert.deepEqual(await ids_({ fromDate: "2024-03-02", toDate: "2024-03-02" }), [ids.hello]);
    assert.deepEqual(await ids_({ fromDate: "2024-03-02T10:00:01Z" }), [ids.support]);
    const bad = await failure(acme.client.getInboundMessages({ fromDate: "yesterday" }));
    assert.deepEqual([bad.statusCode, bad.code, bad.message], [422, 300, "'fromdate' is not a date."]);
  });

  test("pages with count and offset within Postmark's limits", async () => {
    const page = await acme.client.getInboundMessages({ count: 1, offset: 1 });
    assert.equal(page.TotalCount, 3);
    assert.deepEqual(page.InboundMessages.map((m) => m.MessageID), [ids.hello]);
    assert.equal((await acme.client.getInboundMessages({ count: 500, offset: 9500 })).InboundMessages.length, 0);
    for (const filter of [{ count: 501 }, { count: 500, offset: 9501 }]) {
      const bad = await failure(acme.client.getInboundMessages(filter));
      assert.deepEqual([bad.name, bad.statusCode, bad.code], ["InvalidEmailRequestError", 422, 300], JSON.stringify(filter));
    }
    // The client turns count 0 into its default 100, so these go without it.
    const headers = { "X-Postmark-Server-Token": acme.token, Accept: "application/json" };
    for (const [query, message] of [
      ["count=0", "'count' must be between 1 and 500."],
      ["count=ten", "'count' must be a whole number."],
      ["offset=-1", "'offset' must be a whole number."],
    ]) {
      const res = await fetch(`${api.baseUrl}/messages/inbound?${query}`, { headers });
      assert.equal(res.status, 422, query);
      assert.deepEqual(await res.json(), { ErrorCode: 300, Message: message });
    }
    // Without count and offset (the client always sends them) the defaults are 100 and 0.
    const bare = await fetch(`${api.baseUrl}/messages/inbound`, { headers });
    assert.equal(((await bare.json()) as { InboundMessages: unknown[] }).InboundMessages.length, 3);
  });

  test("details carry the bodies, headers, attachments with content, status and blocked reason", async () => {
    const details = await acme.client.getInboundMessageDetails(ids.order!);
    assert.equal(details.MessageID, ids.order);
    assert.equal(details.Status, "Processed");
    assert.equal(details.BlockedReason, "");
    assert.match(details.TextBody, /^Where is my order\?\r\n/);
    assert.equal(details.HtmlBody, "");
    assert.equal(details.StrippedTextReply, "Where is my order?");
    assert.deepEqual(details.Attachments, [
      { Name: "note.txt", Content: Buffer.from("order 55").toString("base64"), ContentType: "text/plain", ContentLength: 8, ContentID: "note@example.test" },
    ]);
    const headers = new Map(details.Headers.map((h) => [h.Name, h.Value]));
    assert.equal(headers.get("Message-ID"), "<order55@example.test>");
    assert.equal(headers.get("Return-Path"), "<bounces@sender.test>");
    assert.ok(headers.has("X-Spam-Status"), "spam headers are added when the message has none");
    assert.ok(!("RawEmail" in details), "RawEmail is off (RawEmailEnabled false)");

    const missing = await failure(acme.client.getInboundMessageDetails("00000000-0000-4000-8000-000000000000"));
    assert.deepEqual([missing.name, missing.statusCode, missing.code], ["ApiInputError", 422, 701]);
  });

  test("a workspace sees only its own messages: another workspace's id is unknown to it", async () => {
    const list = await globex.client.getInboundMessages();
    assert.deepEqual(list.InboundMessages.map((m) => m.MessageID), [ids.globex]);
    assert.equal(list.TotalCount, 1);
    for (const call of [
      globex.client.getInboundMessageDetails(ids.order!),
      globex.client.retryInboundHookForMessage(ids.order!),
      globex.client.bypassBlockedInboundMessage(ids.order!),
      acme.client.getInboundMessageDetails(ids.globex!),
    ]) {
      const err = await failure(call);
      assert.deepEqual([err.statusCode, err.code], [422, 701]);
    }
    // The test token validates sends only; it owns no messages.
    const testToken = await fetch(`${api.baseUrl}/messages/inbound`, { headers: { "X-Postmark-Server-Token": "POSTMARK_API_TEST", Accept: "application/json" } });
    assert.equal(testToken.status, 401);
    assert.equal(((await testToken.json()) as { ErrorCode: number }).ErrorCode, 10);
  });

  test("retry schedules a failed message's webhook again; a message that has not failed cannot be retried", async () => {
    const ws = await api.createWorkspace("retrying");
    const failed = await api.receive(ws, { raw: rawMessage({ from: "a@example.test", to: ws.address(), subject: "Will fail" }) });
    await api.setState(failed.id, "failed");
    assert.deepEqual(
      (await ws.client.getInboundMessages({ status: Models.InboundMessageStatus.Failed })).InboundMessages.map((m) => m.MessageID),
      [failed.id],
    );

    const retried = await ws.client.retryInboundHookForMessage(failed.id);
    assert.deepEqual(retried, { ErrorCode: 0, Message: `Successfully rescheduled failed message: ${failed.id}.` });
    assert.equal((await ws.client.getInboundMessageDetails(failed.id)).Status, "Queued");

    const again = await failure(ws.client.retryInboundHookForMessage(failed.id));
    assert.deepEqual([again.name, again.statusCode, again.code], ["ApiInputError", 422, 701]);
    assert.match(again.message, /has not failed; only failed messages can be retried/);
    const processed = await failure(acme.client.retryInboundHookForMessage(ids.hello!));
    assert.deepEqual([processed.statusCode, processed.code], [422, 701]);
  });

  test("bypass lets a message blocked by an inbound rule through; only blocked messages can be bypassed", async () => {
    const ws = await api.createWorkspace("blocking");
    await ws.client.createInboundRuleTrigger({ Rule: "spam.test" });
    const blocked = await api.receive(ws, { raw: rawMessage({ from: "Offers <offers@spam.test>", to: ws.address(), subject: "Buy now" }) });
    const allowed = await api.receive(ws, { raw: rawMessage({ from: "friend@ham.test", to: ws.address(), subject: "Hi" }) });
    assert.equal(blocked.state, "blocked");
    assert.equal(allowed.state, "stored");

    const listed = await ws.client.getInboundMessages({ status: Models.InboundMessageStatus.Blocked });
    assert.deepEqual(listed.InboundMessages.map((m) => [m.MessageID, m.Status]), [[blocked.id, "Blocked"]]);
    const details = await ws.client.getInboundMessageDetails(blocked.id);
    assert.equal(details.BlockedReason, "The sender matches the inbound rule 'spam.test'.");

    const bypassed = await ws.client.bypassBlockedInboundMessage(blocked.id);
    assert.deepEqual(bypassed, { ErrorCode: 0, Message: `Successfully bypassed message: ${blocked.id}.` });
    const after = await ws.client.getInboundMessageDetails(blocked.id);
    assert.deepEqual([after.Status, after.BlockedReason], ["Queued", ""]);

    for (const id of [blocked.id, allowed.id]) {
      const err = await failure(ws.client.bypassBlockedInboundMessage(id));
      assert.deepEqual([err.statusCode, err.code], [422, 701]);
      assert.match(err.message, /is not blocked/);
    }
  });
});
