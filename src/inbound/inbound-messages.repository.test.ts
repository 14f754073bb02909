// Inbound storage against real databases (SQLite, and PostgreSQL when TEST_DATABASE_URL is set):
// search filters and tenant scoping, the webhook claim that two dispatchers race for, outcomes
// that yield to a user's retry, inbound rules, and the workspace's inbound addressing and SMTP tokens.
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
    status: "Queued",
    blocked_reason: null,
    payload_json: "{}",
    mime: Buffer.from("Subject: x\r\n\r\nx\r\n"),
    hook_next_at: 1_000,
    hook_last_error: null,
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

    it("searches one workspace by recipient, sender, subject, mailbox hash, status and date", async () => {
      await store.write(async (trx) => {
        await repo.insert(trx, row(acme, "a1", { received_at: 1_000 }));
        await repo.insert(trx, row(acme, "a2", { mailbox_hash: "", from_email: "bob@else.test", status: "Blocked", hook_next_at: null, received_at: 2_000 }));
        await repo.insert(trx, row(other, "o1"));
      });
      const ids = async (q: Partial<Parameters<typeof repo.search>[1]>) =>
        (await repo.search(store.db, { workspaceId: acme.id, count: 10, offset: 0, ...q })).rows.map((r) => r.id);
      assert.deepEqual(await ids({}), ["a2", "a1"], "newest first, the other workspace's message not among them");
      assert.deepEqual(await ids({ mailboxHash: "box" }), ["a1"]);
      assert.deepEqual(await ids({ fromEmail: "BOB@" }), ["a2"]);
      assert.deepEqual(await ids({ status: "Blocked" }), ["a2"]);
      assert.deepEqual(await ids({ subject: "a1" }), ["a1"]);
      assert.deepEqual(await ids({ fromDate: 1_500 }), ["a2"]);
      assert.deepEqual(await ids({ recipient: "100%_" }), [], "LIKE wildcards in the query are literal text");
      assert.equal((await repo.search(store.db, { workspaceId: acme.id, count: 1, offset: 0 })).total, 2);
      assert.equal(await repo.findById(store.db, other.id, "a1"), null);
    });

    it("lets only one of two racing dispatchers claim a due message, and records an outcome only for the claim that still holds", async () => {
      await store.write((trx) => repo.insert(trx, row(acme, "h1", { hook_next_at: 5_000 })));
      const [first, second] = await Promise.all([
        store.write((trx) => repo.claimDueHooks(trx, 5_000, 65_000, 10)),
        store.write((trx) => repo.claimDueHooks(trx, 5_000, 65_001, 10)),
      ]);
      const winners = [first, second].filter((c) => c.some((r) => r.id === "h1"));
      assert.equal(winners.length, 1);
      const leaseUntil = first!.some((r) => r.id === "h1") ? 65_000 : 65_001;
      // A user retries meanwhile: the dispatcher's late outcome must not overwrite that.
      assert.equal(await store.write((trx) => repo.scheduleHook(trx, acme.id, "h1", ["Queued"], "Queued", 6_000)), true);
      assert.equal(await store.write((trx) => repo.recordHookOutcome(trx, "h1", leaseUntil, { status: "Failed", attempts: 1, nextAt: null, lastError: "HTTP 500" })), false);
      const claimed = await store.write((trx) => repo.claimDueHooks(trx, 6_000, 70_000, 10));
      assert.deepEqual(claimed.map((r) => r.id), ["h1"]);
      assert.equal(await store.write((trx) => repo.recordHookOutcome(trx, "h1", 70_000, { status: "Processed", attempts: 1, nextAt: null, lastError: null })), true);
      assert.equal((await repo.findById(store.db, acme.id, "h1"))?.status, "Processed");
      assert.equal(await store.write((trx) => repo.scheduleHook(trx, other.id, "h1", ["Processed"], "Queued", 7_000)), false, "scoped to the workspace");
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
