// Inbound storage against real databases (SQLite, and PostgreSQL when TEST_DATABASE_URL is set):
// search filters and tenant scoping, state changes scoped to the workspace, inbound rules, and the
// workspace's inbound addressing and SMTP tokens. (Webhook claims are in src/webhooks/.)
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "../../test/support/stores.js";
import type { Store } from "../store/store.js";
import { isPosthornError } from "../shared/errors.js";
import { WorkspacesService, type Workspace } from "../workspaces/workspaces.service.js";
import { InboundMessagesRepository } from "./inbound-messages.repository.js";
import type { NewInboundMessageRow } from "./inbound.schema.js";

const repo = new InboundMessagesRepository();

function row(workspace: Workspace, id: string, overrides: Partial<NewInboundMessageRow> = {}): NewInboundMessageRow {
  return {
    id,
    workspace_id: workspace.id,
    stream: "inbound",
    recipient: "hash+box@inbound.test",
    mailbox_hash: "box",
    from_email: "ada@sender.test",
    subject: `subject ${id}`,
    tag: null,
    state: "pending",
    blocked_reason: null,
    payload_json: "{}",
    mime: Buffer.from("Subject: x\r\n\r\nx\r\n"),
    received_at: 1_000,
    ...overrides,
  };
}

for (const target of storeTargets()) {
  describe(`inbound messages repository (${target.name})`, () => {
    let store: Store;
    let acme: Workspace;
    let other: Workspace;
    let workspaces: WorkspacesService;

    before(async () => {
      store = await target.open();
      workspaces = new WorkspacesService({ store, clock: { now: () => 1_000 } });
      acme = (await workspaces.create("acme", { sandbox: false })).workspace;
      other = (await workspaces.create("other", { sandbox: false })).workspace;
    });
    after(() => store.close());

    it("searches one workspace by recipient, sender, subject, mailbox hash, state and date", async () => {
      await store.write(async (trx) => {
        await repo.insert(trx, row(acme, "a1", { received_at: 1_000 }));
        await repo.insert(trx, row(acme, "a2", { mailbox_hash: "", from_email: "bob@else.test", state: "blocked", received_at: 2_000 }));
        await repo.insert(trx, row(other, "o1"));
      });
      const ids = async (q: Partial<Parameters<typeof repo.search>[1]>) =>
        (await repo.search(store.db, { workspaceId: acme.id, count: 10, offset: 0, ...q })).records.map((r) => r.id);
      assert.deepEqual(await ids({}), ["a2", "a1"], "newest first, the other workspace's message not among them");
      assert.deepEqual(await ids({ mailboxHash: "box" }), ["a1"]);
      assert.deepEqual(await ids({ fromEmail: "BOB@" }), ["a2"]);
      assert.deepEqual(await ids({ states: ["blocked"] }), ["a2"]);
      assert.deepEqual(await ids({ states: ["stored", "posted"] }), []);
      assert.deepEqual(await ids({ subject: "a1" }), ["a1"]);
      assert.deepEqual(await ids({ fromDate: 1_500 }), ["a2"]);
      assert.deepEqual(await ids({ recipient: "100%_" }), [], "LIKE wildcards in the query are literal text");
      assert.equal((await repo.search(store.db, { workspaceId: acme.id, count: 1, offset: 0 })).total, 2);
      assert.equal(await repo.findById(store.db, other.id, "a1"), null);
    });

    it("moves a message between states only from the states named, and only within its workspace", async () => {
      await store.write((trx) => repo.insert(trx, row(acme, "h1", { state: "failed" })));
      assert.equal(await store.write((trx) => repo.moveState(trx, other.id, "h1", ["failed"], "pending")), false, "scoped to the workspace");
      assert.equal(await store.write((trx) => repo.moveState(trx, acme.id, "h1", ["blocked"], "pending")), false);
      assert.equal(await store.write((trx) => repo.moveState(trx, acme.id, "h1", ["failed"], "pending")), true);
      assert.equal((await repo.findById(store.db, acme.id, "h1"))?.state, "pending");
    });

    it("matches inbound rules by address or domain, and deletes them by id within the workspace", async () => {
      const id = await store.write((trx) => repo.insertRule(trx, acme.id, "spam.test", 1_000));
      await store.write((trx) => repo.insertRule(trx, acme.id, "x@ok.test", 1_000));
      assert.equal(await repo.matchingRule(store.db, acme.id, "anyone@spam.test", "spam.test"), "spam.test");
      assert.equal(await repo.matchingRule(store.db, acme.id, "x@ok.test", "ok.test"), "x@ok.test");
      assert.equal(await repo.matchingRule(store.db, acme.id, "y@ok.test", "ok.test"), null);
      assert.equal(await repo.matchingRule(store.db, other.id, "anyone@spam.test", "spam.test"), null);
      assert.equal(await store.write((trx) => repo.deleteRule(trx, other.id, id)), null);
      assert.equal(await store.write((trx) => repo.deleteRule(trx, acme.id, id)), "spam.test");
      const next = await store.write((trx) => repo.insertRule(trx, acme.id, "again.test", 1_000));
      assert.ok(next > id, "a deleted rule's id is not reused");
    });

    it("gives each workspace its own inbound hash, keeps custom inbound domains unique, and authenticates SMTP token pairs per stream", async () => {
      const a = await workspaces.inboundSettings(acme.id);
      const o = await workspaces.inboundSettings(other.id);
      assert.match(a.inboundHash, /^[0-9a-f]{32}$/);
      assert.notEqual(a.inboundHash, o.inboundHash);
      assert.equal((await workspaces.findByInboundHash(a.inboundHash.toUpperCase()))?.id, acme.id);
      await workspaces.updateInbound(acme.id, { inboundDomain: "In.Acme.Test", inboundHookUrl: "https://hooks.acme.test/in" });
      assert.equal((await workspaces.findByInboundDomain("in.acme.test"))?.id, acme.id);
      await assert.rejects(workspaces.updateInbound(other.id, { inboundDomain: "in.acme.test" }), (err) => isPosthornError(err, "INBOUND_DOMAIN_TAKEN"));

      const pair = await workspaces.createSmtpToken("acme", "broadcast");
      assert.deepEqual(await workspaces.authenticateSmtp(pair.accessKey, pair.secretKey), { workspace: acme, stream: "broadcast" });
      assert.equal(await workspaces.authenticateSmtp(pair.accessKey, "wrong"), null);
      assert.equal(await workspaces.authenticateSmtp(pair.secretKey, pair.accessKey), null);
      await assert.rejects(workspaces.createSmtpToken("acme", "inbound"), (err) => isPosthornError(err, "STREAM_NOT_SENDABLE"));
    });
  });
}
