// The Message Streams and Suppressions APIs driven by the official postmark client: Postmark's
// rules for streams (limits, IDs, defaults, broadcasts' unsubscribe handling), archived streams
// refusing mail, suppressions per stream with filters and events, and workspace isolation.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Models } from "postmark";
import { startInboundApi, type InboundApi, type TestWorkspace } from "./testing/inbound-api.js";
import { failure } from "./testing/client-failure.js";

describe("Message Streams API (ServerClient)", () => {
  let api: InboundApi;
  let acme: TestWorkspace;
  let globex: TestWorkspace;

  before(async () => {
    api = await startInboundApi();
    acme = await api.createWorkspace("acme", { sandbox: true });
    globex = await api.createWorkspace("globex", { sandbox: true });
  });

  after(async () => {
    await api.close();
  });

  const send = (ws: TestWorkspace, stream: string, to = "someone@example.test") =>
    ws.client.sendEmail({ From: "app@acme.test", To: to, Subject: "hi", TextBody: "hello", MessageStream: stream });

  test("a workspace starts with the outbound, inbound and broadcast streams", async () => {
    const listed = await acme.client.getMessageStreams();
    assert.equal(listed.TotalCount, 3);
    assert.deepEqual(listed.MessageStreams.map((s) => [s.ID, s.MessageStreamType, s.SubscriptionManagementConfiguration.UnsubscribeHandlingType]).sort(), [
      ["broadcast", "Broadcasts", "Postmark"],
      ["inbound", "Inbound", "None"],
      ["outbound", "Transactional", "None"],
    ]);
    const inbound = await acme.client.getMessageStreams({ messageStreamType: "Inbound" } as Models.MessageStreamsFilteringParameters);
    assert.deepEqual(inbound.MessageStreams.map((s) => s.ID), ["inbound"]);
    const outbound = await acme.client.getMessageStream("outbound");
    assert.equal(outbound.ArchivedAt, null);
    assert.equal(outbound.ExpectedPurgeDate, null);
  });

  test("create, read and edit a stream; its ID and type do not change", async () => {
    const created = await acme.client.createMessageStream({ ID: "receipts", Name: "Receipts", MessageStreamType: "Transactional", Description: "Order receipts" });
    assert.equal(created.ID, "receipts");
    assert.equal(created.Name, "Receipts");
    assert.equal(created.Description, "Order receipts");
    assert.equal(created.MessageStreamType, "Transactional");
    assert.equal(created.SubscriptionManagementConfiguration.UnsubscribeHandlingType, "None");
    assert.ok(Number.isInteger(created.ServerID) && created.ServerID > 0);
    assert.ok(!Number.isNaN(Date.parse(created.CreatedAt)));
    assert.equal(created.UpdatedAt, null, "not edited yet");
    assert.equal(created.ArchivedAt, null);

    const edited = await acme.client.editMessageStream("receipts", { Name: "All receipts", ID: "other", MessageStreamType: "Broadcasts" } as unknown as Models.UpdateMessageStreamRequest);
    assert.deepEqual([edited.ID, edited.Name, edited.Description, edited.MessageStreamType], ["receipts", "All receipts", "Order receipts", "Transactional"]);
    assert.ok(edited.UpdatedAt && !Number.isNaN(Date.parse(edited.UpdatedAt)));
    assert.deepEqual(await acme.client.getMessageStream("receipts"), edited);
    assert.equal((await send(acme, "receipts")).ErrorCode, 0);
  });

  test("broadcast streams must handle unsubscribes; transactional streams cannot", async () => {
    const news = await acme.client.createMessageStream({ ID: "news", Name: "News", MessageStreamType: "Broadcasts" });
    assert.equal(news.SubscriptionManagementConfiguration.UnsubscribeHandlingType, "Postmark");
    const custom = await acme.client.editMessageStream("news", { SubscriptionManagementConfiguration: { UnsubscribeHandlingType: "Custom" } } as Models.UpdateMessageStreamRequest);
    assert.equal(custom.SubscriptionManagementConfiguration.UnsubscribeHandlingType, "Custom");
    const none = await failure(acme.client.editMessageStream("news", { SubscriptionManagementConfiguration: { UnsubscribeHandlingType: "None" } } as Models.UpdateMessageStreamRequest));
    assert.deepEqual([none.statusCode, none.code], [422, 1221]);
    const tx = await failure(acme.client.editMessageStream("outbound", { SubscriptionManagementConfiguration: { UnsubscribeHandlingType: "Postmark" } } as Models.UpdateMessageStreamRequest));
    assert.deepEqual([tx.statusCode, tx.code], [422, 1221]);
    const bogus = await failure(acme.client.createMessageStream({ ID: "promo", Name: "Promo", MessageStreamType: "Broadcasts", SubscriptionManagementConfiguration: { UnsubscribeHandlingType: "Sometimes" } } as unknown as Models.CreateMessageStreamRequest));
    assert.equal(bogus.code, 1221);
  });

  test("bad IDs, names and types are refused with the stream error code", async () => {
    const cases: Array<Record<string, unknown>> = [
      { ID: "Upper", Name: "x", MessageStreamType: "Transactional" },
      { ID: "has space", Name: "x", MessageStreamType: "Transactional" },
      { ID: "a".repeat(31), Name: "x", MessageStreamType: "Transactional" },
      { ID: 12, Name: "x", MessageStreamType: "Transactional" },
      { ID: "ok-id", Name: "", MessageStreamType: "Transactional" },
      { ID: "ok-id", Name: "n".repeat(101), MessageStreamType: "Transactional" },
      { ID: "ok-id", Name: "x", MessageStreamType: "Marketing" },
      { ID: "ok-id", Name: "x", MessageStreamType: "Transactional", Description: "d".repeat(1001) },
    ];
    for (const body of cases) {
      const err = await failure(acme.client.createMessageStream(body as unknown as Models.CreateMessageStreamRequest));
      assert.deepEqual([err.statusCode, err.code], [422, 1221], JSON.stringify(body).slice(0, 80));
    }
    const dup = await failure(acme.client.createMessageStream({ ID: "outbound", Name: "again", MessageStreamType: "Transactional" }));
    assert.deepEqual([dup.statusCode, dup.code], [422, 1222]);
    const secondInbound = await failure(acme.client.createMessageStream({ ID: "inbound-2", Name: "again", MessageStreamType: "Inbound" }));
    assert.deepEqual([secondInbound.statusCode, secondInbound.code], [422, 1224]);
    const missing = await failure(acme.client.getMessageStream("nope"));
    assert.deepEqual([missing.statusCode, missing.code], [422, 1235]);
  });

  test("an archived stream refuses mail until it is unarchived; default streams cannot be archived", async () => {
    await acme.client.createMessageStream({ ID: "alerts", Name: "Alerts", MessageStreamType: "Transactional" });
    // A send first, so that the stream's verdict is cached: archiving must forget it at once.
    assert.equal((await send(acme, "alerts")).ErrorCode, 0);
    const archived = await acme.client.archiveMessageStream("alerts");
    assert.equal(archived.ID, "alerts");
    assert.equal(archived.ServerID, (await acme.client.getMessageStream("outbound")).ServerID);
    const stream = await acme.client.getMessageStream("alerts");
    assert.ok(stream.ArchivedAt);
    assert.equal(Date.parse(archived.ExpectedPurgeDate) - Date.parse(stream.ArchivedAt!), 45 * 86_400_000);

    const refused = await failure(send(acme, "alerts"));
    assert.deepEqual([refused.statusCode, refused.code], [422, 1226]);
    assert.match(refused.message, /archived/);
    const edit = await failure(acme.client.editMessageStream("alerts", { Name: "x" }));
    assert.equal(edit.code, 1226);
    // Listed only when asked for.
    assert.ok(!(await acme.client.getMessageStreams()).MessageStreams.some((s) => s.ID === "alerts"));
    const all = await acme.client.getMessageStreams({ includeArchivedStreams: true } as Models.MessageStreamsFilteringParameters);
    assert.ok(all.MessageStreams.some((s) => s.ID === "alerts" && s.ArchivedAt !== null));

    const back = await acme.client.unarchiveMessageStream("alerts");
    assert.equal(back.ArchivedAt, null);
    assert.equal(back.ExpectedPurgeDate, null);
    assert.equal((await send(acme, "alerts")).ErrorCode, 0);

    for (const id of ["outbound", "inbound", "broadcast"]) {
      const err = await failure(acme.client.archiveMessageStream(id));
      assert.deepEqual([err.statusCode, err.code], [422, 1225], id);
    }
  });

  test("at most 10 streams per workspace, counting the defaults and archived ones", async () => {
    const ws = await api.createWorkspace("many", { sandbox: true });
    for (let i = 0; i < 7; i++) await ws.client.createMessageStream({ ID: `s${i}`, Name: `S ${i}`, MessageStreamType: "Transactional" });
    await ws.client.archiveMessageStream("s0");
    const over = await failure(ws.client.createMessageStream({ ID: "s7", Name: "one too many", MessageStreamType: "Transactional" }));
    assert.deepEqual([over.statusCode, over.code], [422, 1223]);
    assert.equal((await ws.client.getMessageStreams({ includeArchivedStreams: true } as Models.MessageStreamsFilteringParameters)).TotalCount, 10);
  });

  test("query keys and values match in any case; bad filter values are refused", async () => {
    const res = await fetch(`${api.baseUrl}/Message-Streams?MessageStreamType=transactional&IncludeArchivedStreams=TRUE`, { headers: { "X-Postmark-Server-Token": acme.token, Accept: "application/json" } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { MessageStreams: Array<{ MessageStreamType: string }> };
    assert.ok(body.MessageStreams.length > 0 && body.MessageStreams.every((s) => s.MessageStreamType === "Transactional"));
    const bad = await fetch(`${api.baseUrl}/message-streams?messageStreamType=Marketing`, { headers: { "X-Postmark-Server-Token": acme.token } });
    assert.equal(bad.status, 422);
    assert.equal(((await bad.json()) as { ErrorCode: number }).ErrorCode, 300);
  });

  test("a workspace sees, edits and archives only its own streams", async () => {
    await acme.client.createMessageStream({ ID: "private", Name: "Acme only", MessageStreamType: "Transactional" });
    assert.ok(!(await globex.client.getMessageStreams()).MessageStreams.some((s) => s.ID === "private"));
    const attempts = [
      () => globex.client.getMessageStream("private"),
      () => globex.client.editMessageStream("private", { Name: "mine" }),
      () => globex.client.archiveMessageStream("private"),
      () => globex.client.unarchiveMessageStream("private"),
      () => globex.client.getSuppressions("private"),
      () => globex.client.createSuppressions("private", { Suppressions: [{ EmailAddress: "x@example.test" }] }),
      () => globex.client.deleteSuppressions("private", { Suppressions: [{ EmailAddress: "x@example.test" }] }),
      () => globex.client.sendEmail({ From: "a@globex.test", To: "b@example.test", Subject: "s", TextBody: "t", MessageStream: "private" }),
    ];
    for (const [i, attempt] of attempts.entries()) {
      const err = await failure(attempt());
      assert.deepEqual([err.statusCode, err.code, i], [422, 1235, i], err.message);
    }
    assert.equal((await acme.client.getMessageStream("private")).Name, "Acme only");
    // The same ID in another workspace is another stream.
    const theirs = await globex.client.createMessageStream({ ID: "private", Name: "Globex's own", MessageStreamType: "Transactional" });
    assert.equal(theirs.Name, "Globex's own");
    assert.notEqual(theirs.ServerID, (await acme.client.getMessageStream("private")).ServerID);
  });
});

describe("Suppressions API (ServerClient)", () => {
  let api: InboundApi;
  let acme: TestWorkspace;
  let globex: TestWorkspace;

  before(async () => {
    api = await startInboundApi();
    acme = await api.createWorkspace("acme", { sandbox: true });
    globex = await api.createWorkspace("globex", { sandbox: true });
  });

  after(async () => {
    await api.close();
  });

  const events = async (type: string) =>
    api.store.db.selectFrom("events").select(["workspace_id", "recipient", "data_json"]).where("type", "=", type).orderBy("id").execute();

  test("suppressed addresses are refused with 406; the key is the address's case- and IDNA-folded form", async () => {
    const created = await acme.client.createSuppressions("outbound", { Suppressions: [{ EmailAddress: "User@Bücher.de" }, { EmailAddress: "not an address" }, { EmailAddress: "second@example.test" }] });
    assert.deepEqual(created.Suppressions, [
      { EmailAddress: "User@Bücher.de", Status: "Suppressed", Message: null },
      { EmailAddress: "not an address", Status: "Failed", Message: "Invalid email address." },
      { EmailAddress: "second@example.test", Status: "Suppressed", Message: null },
    ]);
    const refused = await failure(acme.client.sendEmail({ From: "app@acme.test", To: "user@xn--bcher-kva.de", Subject: "s", TextBody: "t" }));
    assert.deepEqual([refused.statusCode, refused.code], [422, 406]);
    // Another stream, or another workspace, is not affected.
    assert.equal((await acme.client.sendEmail({ From: "app@acme.test", To: "user@xn--bcher-kva.de", Subject: "s", TextBody: "t", MessageStream: "broadcast" })).ErrorCode, 0);
    assert.equal((await globex.client.sendEmail({ From: "app@globex.test", To: "user@xn--bcher-kva.de", Subject: "s", TextBody: "t" })).ErrorCode, 0);

    const dump = await acme.client.getSuppressions("outbound");
    assert.deepEqual(dump.Suppressions.map((s) => [s.EmailAddress, s.SuppressionReason, s.Origin]).sort(), [
      ["User@xn--bcher-kva.de", "ManualSuppression", "Customer"],
      ["second@example.test", "ManualSuppression", "Customer"],
    ]);
    assert.deepEqual((await globex.client.getSuppressions("outbound")).Suppressions, []);
    const added = (await events("suppression.added")).filter((e) => e.workspace_id === acme.workspace.id);
    assert.deepEqual(added.map((e) => [e.recipient, JSON.parse(e.data_json)]), [
      ["User@xn--bcher-kva.de", { stream: "outbound", reason: "ManualSuppression", origin: "Customer" }],
      ["second@example.test", { stream: "outbound", reason: "ManualSuppression", origin: "Customer" }],
    ]);
    // Suppressing again changes nothing and announces nothing.
    assert.equal((await acme.client.createSuppressions("outbound", { Suppressions: [{ EmailAddress: "SECOND@example.test" }] })).Suppressions[0]!.Status, "Suppressed");
    assert.equal((await events("suppression.added")).filter((e) => e.workspace_id === acme.workspace.id).length, 2);
  });

  test("the dump filters by reason, origin, address and dates", async () => {
    const ws = await api.createWorkspace("filters", { sandbox: true });
    await ws.client.createSuppressions("outbound", { Suppressions: [{ EmailAddress: "manual@example.test" }] });
    // A spam complaint's suppression, as the bounce reaction writes it.
    await api.store.db
      .insertInto("suppressions")
      .values({ workspace_id: ws.workspace.id, stream: "outbound", email_key: "spam@example.test", email: "spam@example.test", reason: "SpamComplaint", origin: "Recipient", created_at: Date.parse("2024-01-10T12:00:00Z") })
      .execute();
    const get = (filter: Record<string, string>) =>
      ws.client.getSuppressions("outbound", filter as unknown as Models.SuppressionFilteringParameters).then((r) => r.Suppressions.map((s) => s.EmailAddress).sort());
    assert.deepEqual(await get({ suppressionReason: "SpamComplaint" }), ["spam@example.test"]);
    assert.deepEqual(await get({ suppressionReason: "manualsuppression" }), ["manual@example.test"]);
    assert.deepEqual(await get({ origin: "Recipient" }), ["spam@example.test"]);
    assert.deepEqual(await get({ origin: "Customer" }), ["manual@example.test"]);
    assert.deepEqual(await get({ emailAddress: "MANUAL@example.test" }), ["manual@example.test"]);
    assert.deepEqual(await get({ fromDate: "2024-01-10", toDate: "2024-01-10" }), ["spam@example.test"]);
    assert.deepEqual(await get({ toDate: "2024-01-09" }), []);
    assert.deepEqual(await get({ fromDate: "2024-01-11" }), ["manual@example.test"]);
    for (const bad of [{ suppressionReason: "Bounced" }, { origin: "Someone" }, { fromDate: "yesterday" }]) {
      const err = await failure(ws.client.getSuppressions("outbound", bad as unknown as Models.SuppressionFilteringParameters));
      assert.deepEqual([err.statusCode, err.code], [422, 300], JSON.stringify(bad));
    }

    // Deleting: a spam complaint stays (the recipient asked), the manual one goes and is announced.
    const deleted = await ws.client.deleteSuppressions("outbound", { Suppressions: [{ EmailAddress: "spam@example.test" }, { EmailAddress: "manual@example.test" }] });
    assert.deepEqual(
      deleted.Suppressions.map((s) => [s.EmailAddress, s.Status]),
      [
        ["spam@example.test", "Failed"],
        ["manual@example.test", "Deleted"],
      ],
    );
    assert.match(String(deleted.Suppressions[0]!.Message), /spam complaint/);
    assert.deepEqual(await get({}), ["spam@example.test"]);
    const removed = (await events("suppression.removed")).filter((e) => e.workspace_id === ws.workspace.id);
    assert.deepEqual(removed.map((e) => [e.recipient, JSON.parse(e.data_json)]), [["manual@example.test", { stream: "outbound", reason: "ManualSuppression", origin: "Customer" }]]);
    assert.equal((await ws.client.sendEmail({ From: "app@x.test", To: "manual@example.test", Subject: "s", TextBody: "t" })).ErrorCode, 0);
  });

  test("at most 50 addresses per request; the body must list them", async () => {
    const many = Array.from({ length: 51 }, (_, i) => ({ EmailAddress: `a${i}@example.test` }));
    // One call at a time: a rejection not yet awaited would be reported as unhandled.
    for (const call of [() => acme.client.createSuppressions("outbound", { Suppressions: many }), () => acme.client.deleteSuppressions("outbound", { Suppressions: many })]) {
      const err = await failure(call());
      assert.deepEqual([err.statusCode, err.code], [422, 300]);
    }
    const fifty = await acme.client.createSuppressions("outbound", { Suppressions: many.slice(0, 50) });
    assert.equal(fifty.Suppressions.filter((s) => s.Status === "Suppressed").length, 50);
    for (const body of [{}, { Suppressions: "a@example.test" }, { Suppressions: [] }]) {
      const res = await fetch(`${api.baseUrl}/message-streams/outbound/suppressions`, {
        method: "POST",
        headers: { "X-Postmark-Server-Token": acme.token, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 422, JSON.stringify(body));
    }
    const inbound = await failure(acme.client.createSuppressions("inbound", { Suppressions: [{ EmailAddress: "x@example.test" }] }));
    assert.deepEqual([inbound.statusCode, inbound.code], [422, 1235]);
  });
});
