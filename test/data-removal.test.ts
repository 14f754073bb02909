// End to end, on SQLite and (with TEST_DATABASE_URL) PostgreSQL: a data removal requested with
// the official AccountClient erases one address from every table of a running Posthorn. The
// tables are filled the way real traffic fills them — sends through the API to a real SMTP sink
// that bounces the address, inbound mail over real SMTP posted to a real webhook — and the proof
// reads every text and binary value of every table afterwards: the address is in none, and the
// other people's messages are still there.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "../src/store/kysely.js";
import { AccountClient, ServerClient } from "postmark";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { sendRawSmtp } from "./support/smtp-client.js";
import { eventually } from "./support/eventually.js";
import { serverDatabases } from "./support/stores.js";
import { failure } from "../src/api/postmark/testing/client-failure.js";

/** The person to erase, written in mixed case as people write their addresses. */
const ADA = "Ada.Victim@Example.com";
const ada = ADA.toLowerCase();

/** Every row of every table whose text or bytes mention the address, as `table.column`. */
async function mentionsOf(server: TestServer, address: string): Promise<string[]> {
  const db = server.app.services.store.db;
  const found = new Set<string>();
  for (const table of await db.introspection.getTables()) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table.name)}`.execute(db);
    for (const row of rows) {
      for (const [column, value] of Object.entries(row)) {
        const text = Buffer.isBuffer(value) || value instanceof Uint8Array ? Buffer.from(value).toString("latin1") : typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
        if (text.toLowerCase().includes(address)) found.add(`${table.name}.${column}`);
      }
    }
  }
  return [...found].sort();
}

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
  return { posts, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

for (const target of serverDatabases()) {
  describe(`data removal (${target.name})`, () => {
    let server: TestServer;
    let sink: SmtpSink;
    let hooks: Awaited<ReturnType<typeof startHookServer>>;
    let drop: () => Promise<void>;
    let account: AccountClient;
    let acme: ServerClient;
    let globex: ServerClient;
    const kept: Record<string, string> = {};

    before(async () => {
      const database = await target.open();
      drop = database.drop;
      sink = await startSmtpSink({ rcptReply: (rcpt) => (rcpt.toLowerCase() === ada ? { code: 550, message: "5.1.1 No such user here" } : null) });
      hooks = await startHookServer();
      server = await startTestServer({
        ...database.env,
        POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
        POSTHORN_INBOUND_PORT: "0",
        POSTHORN_INBOUND_HOST: "127.0.0.1",
        POSTHORN_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.1/32",
      });
      const host = server.url.replace(/^http:\/\//, "");
      acme = new ServerClient(await server.createWorkspace("acme"), { useHttps: false, requestHost: host });
      globex = new ServerClient(await server.createWorkspace("globex"), { useHttps: false, requestHost: host });
      account = new AccountClient(await server.app.services.workspaces.createAccountToken(), { useHttps: false, requestHost: host, timeout: 10 });

      // Outbound: to her alone (bounces, suppresses her), to her and others, from her, and about her.
      await acme.sendEmail({ From: "shop@acme.test", To: `"Ada Victim" <${ADA}>`, Subject: "Your order", TextBody: "Shipped." });
      kept.shared = (
        await acme.sendEmail({ From: "shop@acme.test", To: `Ada Victim <${ADA}>, bob@keep.test`, Cc: "carol@keep.test", Subject: "Team news", TextBody: "Hello all.", Metadata: { contact: ADA } })
      ).MessageID;
      await globex.sendEmail({ From: `Ada <${ADA}>`, To: "dave@keep.test", Subject: "From Ada", TextBody: "Hi Dave." });
      kept.about = (await globex.sendEmail({ From: "crm@globex.test", To: "erin@keep.test", Subject: "Lead", TextBody: `Call ${ADA} back.` })).MessageID;
      kept.other = (await globex.sendEmail({ From: "crm@globex.test", To: "frank@keep.test", Subject: "Unrelated", TextBody: "Nothing about her." })).MessageID;

      // Inbound, posted to a webhook: from her (erased), and from someone else with her in Cc (kept).
      const inbound = (await acme.editServer({ InboundHookUrl: hooks.url })).InboundAddress;
      const port = server.app.smtp!.inbound!.port;
      await sendRawSmtp(port, { from: ada, to: [inbound] }, `From: Ada Victim <${ADA}>\r\nTo: ${inbound}\r\nSubject: Question\r\n\r\nWhere is my order?\r\n`);
      await sendRawSmtp(port, { from: "grace@keep.test", to: [inbound] }, `From: grace@keep.test\r\nTo: ${inbound}\r\nCc: "Ada Victim" <${ADA}>\r\nSubject: Complaint\r\n\r\nAbout Ada's order.\r\n`);

      // Every outcome recorded before the removal: the sink got the deliveries, the hook both posts.
      await sink.waitForMessages(4);
      await eventually(async () => hooks.posts.length === 2);
      await eventually(async () => (await server.app.services.store.db.selectFrom("deliveries").select("id").where("state", "in", ["queued", "deferred"]).execute()).length === 0);
      await eventually(async () => (await server.app.services.store.db.selectFrom("suppressions").select("email").execute()).length > 0);
    });

    after(async () => {
      await server.close();
      await sink.close();
      await hooks.close();
      await drop();
    });

    test("the address is in many tables before, in none after, and everyone else's data stays", async () => {
      const before = await mentionsOf(server, ada);
      for (const place of ["messages.to_json", "messages.from_json", "messages.mime", "messages.metadata_json", "deliveries.recipient", "events.recipient", "bounces.email", "suppressions.email", "inbound_messages.payload_json", "inbound_messages.mime"]) {
        assert.ok(before.includes(place), `the test put the address in ${place}: ${before.join(", ")}`);
      }

      const requested = await account.requestDataRemoval({ RequestedBy: "dpo@acme.test", RequestedFor: ADA, NotifyWhenCompleted: false });
      assert.equal(requested.Status, "Pending");
      assert.ok(Number.isInteger(requested.ID) && requested.ID > 0);
      await eventually(async () => (await account.getDataRemovalStatus(requested.ID)).Status === "Done");

      assert.deepEqual(await mentionsOf(server, ada), [], "no column of any table mentions the address");

      // What was only hers is gone; what was shared is there without her.
      const subjects = (await server.app.services.store.db.selectFrom("messages").select("subject").execute()).map((m) => m.subject).sort();
      assert.deepEqual(subjects, ["Lead", "Team news", "Unrelated"]);
      const shared = await acme.getOutboundMessageDetails(kept.shared!);
      assert.deepEqual(
        shared.To.map((t) => t.Email),
        ["erased@erased.invalid", "bob@keep.test"],
      );
      assert.equal(shared.To[0]!.Name, "", "her display name went with her address");
      assert.deepEqual(shared.Cc.map((c) => c.Email), ["carol@keep.test"]);
      // Her place in the message's recipients keeps a reserved address that reaches nobody.
      assert.deepEqual(shared.Recipients.sort(), ["bob@keep.test", "carol@keep.test", "erased@erased.invalid"]);
      assert.ok(shared.MessageEvents.some((e) => e.Recipient === "bob@keep.test" && e.Type === "Delivered"));
      assert.ok(!shared.MessageEvents.some((e) => e.Recipient.toLowerCase() === ada));
      assert.match((await globex.getOutboundMessageDetails(kept.about!)).TextBody ?? "", /^Call erased@erased\.invalid back\./);
      const other = await globex.getOutboundMessageDetails(kept.other!);
      assert.deepEqual([other.Subject, other.TextBody?.trim(), other.To[0]!.Email], ["Unrelated", "Nothing about her.", "frank@keep.test"]);
      const inbound = await acme.getInboundMessages({ count: 10, offset: 0 });
      assert.deepEqual(inbound.InboundMessages.map((m) => m.Subject), ["Complaint"]);
      assert.equal(inbound.InboundMessages[0]!.From, "grace@keep.test");
      assert.equal((await acme.getInboundMessageDetails(inbound.InboundMessages[0]!.MessageID)).TextBody.trim(), "About Ada's order.");

      // The request itself keeps who asked, not whom it was about.
      const row = await server.app.services.store.db.selectFrom("data_removals").selectAll().where("id", "=", requested.ID).executeTakeFirstOrThrow();
      assert.deepEqual([row.requested_by, row.requested_for, row.state], ["dpo@acme.test", null, "done"]);
      assert.match(row.subject_hash, /^[0-9a-f]{64}$/);
    });

    test("NotifyWhenCompleted: the requester is told when it is done, in a mail that does not name the address; never the erased address itself", async () => {
      const zed = "zed@example.test";
      const told = await account.requestDataRemoval({ RequestedBy: "privacy@acme.test", RequestedFor: zed, NotifyWhenCompleted: true });
      await eventually(async () => (await account.getDataRemovalStatus(told.ID)).Status === "Done");
      const notice = await eventually(async () => sink.messages.find((m) => m.rcptTo.includes("privacy@acme.test")), 20_000);
      assert.match(notice.raw.toString(), new RegExp(`Subject: Data removal request ${told.ID} is complete`));
      assert.ok(!notice.raw.toString().toLowerCase().includes(zed), "the notice does not name the erased address");

      const self = await account.requestDataRemoval({ RequestedBy: "yan@example.test", RequestedFor: "yan@example.test", NotifyWhenCompleted: true });
      await eventually(async () => (await account.getDataRemovalStatus(self.ID)).Status === "Done");
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!sink.messages.some((m) => m.rcptTo.includes("yan@example.test")), "no mail to the address just erased");
    });

    test("bad requests get 422 / 300; unknown IDs too; a server token gets 401", async () => {
      const cases: Array<Record<string, unknown>> = [
        { RequestedBy: "dpo@acme.test" },
        { RequestedBy: "dpo@acme.test", RequestedFor: "not an address" },
        { RequestedFor: ADA },
        { RequestedBy: "dpo@acme.test", RequestedFor: `${"a".repeat(250)}@x.test` },
        { RequestedBy: "dpo@acme.test", RequestedFor: ADA, NotifyWhenCompleted: "yes" },
      ];
      for (const body of cases) {
        const refused = await failure(account.requestDataRemoval(body as never));
        assert.deepEqual([refused.statusCode, refused.code], [422, 300], JSON.stringify(body));
      }
      for (const id of [999999, 0]) {
        const missing = await failure(account.getDataRemovalStatus(id));
        assert.deepEqual([missing.statusCode, missing.code], [422, 300], `id ${id}`);
      }
      const host = server.url.replace(/^http:\/\//, "");
      const asServer = new AccountClient(await server.createWorkspace("initech"), { useHttps: false, requestHost: host });
      const refused = await failure(asServer.requestDataRemoval({ RequestedBy: "a@b.test", RequestedFor: "c@d.test", NotifyWhenCompleted: false }));
      assert.deepEqual([refused.statusCode, refused.code], [401, 10]);
    });
  });
}
