// The tracking service against each store (SQLite, and PostgreSQL when TEST_DATABASE_URL is set):
// reads recorded with their first-open and first-click rules, the searches with Postmark's
// filters, workspace isolation, recipients of several-recipient messages, and unsubscribes.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { storeTargets } from "../../test/support/stores.js";
import type { Store } from "../store/store.js";
import { loadConfig } from "../config/config.schema.js";
import { silentLogger } from "../shared/logger.js";
import { buildContainer, type Container } from "../app/container.js";
import { structuredSubmission } from "../messages/accept/submission.js";
import type { AcceptOutcome } from "../messages/accept/accept.service.js";
import type { Workspace } from "../workspaces/workspaces.service.js";

const OUTLOOK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)";
const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";
const GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";

function submission(to: string[], stream = "outbound") {
  return structuredSubmission({
    from: { email: "a@shop.test", name: "" },
    to: to.map((email) => ({ email, name: "" })),
    cc: [],
    bcc: [],
    replyTo: [],
    subject: "s",
    htmlBody: "<p>x</p>",
    textBody: null,
    tag: "t1",
    headers: [],
    attachments: [],
    metadata: {},
    stream,
    trackOpens: true,
    trackLinks: "none",
  });
}

function messageIdOf(outcome: AcceptOutcome | undefined): string {
  assert.ok(outcome?.ok, JSON.stringify(outcome));
  return outcome.messageId;
}

for (const target of storeTargets()) {
  describe(`tracking on ${target.name}`, () => {
    let store: Store;
    let c: Container;
    let dataDir: string;
    let a: Workspace;
    let b: Workspace;

    before(async () => {
      store = await target.open();
      dataDir = mkdtempSync(join(tmpdir(), "posthorn-tracking-"));
      // The From rule is not what these tests are about: they send from made-up addresses.
      const config = loadConfig({ POSTHORN_DATA_DIR: dataDir, POSTHORN_HOSTNAME: "posthorn.test", POSTHORN_ENCRYPTION_KEY: randomBytes(32).toString("base64"), LOG_LEVEL: "silent", POSTHORN_REQUIRE_VERIFIED_FROM: "false" });
      c = buildContainer(store, config, silentLogger());
      a = (await c.workspaces.create("a", { sandbox: false })).workspace;
      b = (await c.workspaces.create("b", { sandbox: false })).workspace;
    });

    after(async () => {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const tokenOf = (url: string) => url.slice(url.lastIndexOf("/") + 1);
    const page = { count: 100, offset: 0 };

    test("opens and clicks are recorded per delivery and searched with filters, within the workspace only", async () => {
      const [accepted] = await c.accept.acceptMany(a, [submission(["ann@rcpt.test"])]);
      const id = messageIdOf(accepted);
      const open = tokenOf(c.tracking.openUrl(id));
      assert.equal(await c.tracking.recordOpen(open, { userAgent: GMAIL, ip: "66.249.84.1" }), true);
      assert.equal(await c.tracking.recordOpen(open, { userAgent: OUTLOOK, ip: "203.0.113.1" }), true);
      assert.equal(await c.tracking.recordOpen(open, { userAgent: IPHONE, ip: "203.0.113.2" }), true);
      const link = tokenOf(c.tracking.clickUrl(id, "html", "https://shop.example/a"));
      const other = tokenOf(c.tracking.clickUrl(id, "text", "https://shop.example/b"));
      assert.equal(await c.tracking.recordClick(link, { userAgent: IPHONE, ip: null }), "https://shop.example/a");
      assert.equal(await c.tracking.recordClick(link, { userAgent: IPHONE, ip: null }), "https://shop.example/a");
      assert.equal(await c.tracking.recordClick(other, { userAgent: OUTLOOK, ip: null }), "https://shop.example/b");

      const opens = await c.tracking.search({ workspaceId: a.id, kind: "open" }, page);
      assert.equal(opens.total, 3);
      assert.deepEqual(opens.records.map((r) => [r.client_family, r.first, r.proxied]).sort(), [["Apple Mail", 0, 0], ["Gmail", 0, 1], ["Outlook", 1, 0]]);
      assert.ok(opens.records.every((r) => r.recipient === "ann@rcpt.test" && r.tag === "t1" && r.stream === "outbound"));
      const clicks = await c.tracking.search({ workspaceId: a.id, kind: "click", messageId: id }, page);
      assert.deepEqual(clicks.records.map((r) => [r.link, r.location, r.first]).sort(), [
        ["https://shop.example/a", "html", 0],
        ["https://shop.example/a", "html", 1],
        ["https://shop.example/b", "text", 1],
      ]);

      const count = async (filter: object) => (await c.tracking.search({ workspaceId: a.id, kind: "open", ...filter }, page)).total;
      assert.equal(await count({ platform: "mobile" }), 1);
      assert.equal(await count({ platform: "webmail", clientCompany: "Google" }), 1);
      assert.equal(await count({ osFamily: "Windows", osCompany: "Microsoft Corporation", clientName: "Outlook 16.0.17328" }), 1);
      assert.equal(await count({ recipient: "ANN@RCPT.TEST", tag: "t1", stream: "outbound" }), 3);
      assert.equal(await count({ recipient: "ann" }), 0, "recipient is an exact match");
      assert.equal(await count({ country: "New Zealand" }), 0);
      assert.equal((await c.tracking.search({ workspaceId: a.id, kind: "open" }, { count: 2, offset: 2 })).records.length, 1);

      assert.equal((await c.tracking.search({ workspaceId: b.id, kind: "open" }, page)).total, 0);
      await assert.rejects(c.tracking.search({ workspaceId: b.id, kind: "open", messageId: id }, page), { code: "MESSAGE_NOT_FOUND" });
    });

    test("a message to several recipients is tracked per delivery: each read is its delivery's recipient's, and a delivery of another message names no one", async () => {
      const [accepted, single] = await c.accept.acceptMany(a, [submission(["x@rcpt.test", "y@rcpt.test"]), submission(["w@rcpt.test"])]);
      const id = messageIdOf(accepted);
      const stored = await store.db.selectFrom("messages").select(["mime", "per_delivery_json"]).where("id", "=", id).executeTakeFirstOrThrow();
      assert.deepEqual(JSON.parse(stored.per_delivery_json!), { opens: true, links: "none", unsubscribe: false });
      assert.equal(Buffer.from(stored.mime).toString("latin1").includes("/t/o/"), false, "no one's pixel in the stored message");
      const deliveries = await store.db.selectFrom("deliveries").select(["id", "recipient"]).where("message_id", "=", id).orderBy("id").execute();
      for (const d of deliveries) assert.equal(await c.tracking.recordOpen(tokenOf(c.tracking.openUrl(id, Number(d.id))), { userAgent: OUTLOOK, ip: null }), true);
      const { records } = await c.tracking.search({ workspaceId: a.id, kind: "open", messageId: id }, page);
      assert.deepEqual(records.map((r) => [r.recipient, r.first]).sort(), [["x@rcpt.test", 1], ["y@rcpt.test", 1]]);
      // A message-level token (never in a copy of such a message) is nobody's read.
      await c.tracking.recordOpen(tokenOf(c.tracking.openUrl(id)), { userAgent: IPHONE, ip: null });
      assert.ok((await c.tracking.search({ workspaceId: a.id, kind: "open", messageId: id }, page)).records.some((r) => r.recipient === null));
      // Signed for a delivery of another message: records nothing.
      const otherDelivery = await store.db.selectFrom("deliveries").select("id").where("message_id", "=", messageIdOf(single)).executeTakeFirstOrThrow();
      assert.equal(await c.tracking.recordOpen(tokenOf(c.tracking.openUrl(id, Number(otherDelivery.id))), { userAgent: OUTLOOK, ip: null }), false);
      const single2 = await store.db.selectFrom("messages").select("per_delivery_json").where("id", "=", messageIdOf(single)).executeTakeFirstOrThrow();
      assert.equal(single2.per_delivery_json, null, "a message to one recipient is tracked in its stored copy");
    });

    test("an unsubscribe suppresses the one recipient on the message's stream, once", async () => {
      const [accepted] = await c.accept.acceptMany(b, [submission(["zoe@rcpt.test"], "broadcast")]);
      const id = messageIdOf(accepted);
      const token = tokenOf(c.tracking.unsubscribeUrl(id));
      assert.equal((await c.tracking.unsubscribeTarget(token))?.recipient, "zoe@rcpt.test");
      assert.equal((await c.suppressions.list(store.db, b.id, "broadcast")).length, 0, "looking changes nothing");
      assert.equal((await c.tracking.unsubscribe(token))?.recipient, "zoe@rcpt.test");
      assert.equal((await c.tracking.unsubscribe(token))?.recipient, "zoe@rcpt.test");
      const list = await c.suppressions.list(store.db, b.id, "broadcast");
      assert.deepEqual(list.map((s) => [s.email, s.reason, s.origin]), [["zoe@rcpt.test", "ManualSuppression", "Recipient"]]);
      assert.equal((await c.suppressions.list(store.db, b.id, "outbound")).length, 0);
      assert.equal((await c.suppressions.list(store.db, a.id, "broadcast")).length, 0);
      assert.equal(await c.tracking.unsubscribe(tokenOf(c.tracking.openUrl(id))), null, "an open token unsubscribes no one");
    });
  });
}
