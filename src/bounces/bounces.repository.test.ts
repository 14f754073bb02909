// Bounce records, suppressions and streams against real databases (SQLite, and PostgreSQL when
// TEST_DATABASE_URL is set): bounce search filters and counts, activation by address key, the
// suppression dump's filters, and stream counts, each scoped to its workspace.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "../../test/support/stores.js";
import type { Store } from "../store/store.js";
import { WorkspacesService, type Workspace } from "../workspaces/workspaces.service.js";
import { StreamsRepository } from "../workspaces/streams.repository.js";
import { SuppressionsRepository } from "../suppressions/suppressions.repository.js";
import { BouncesRepository, type NewBounceRow } from "./bounces.repository.js";
import { BounceReportsRepository } from "./bounce-reports.repository.js";

const bounces = new BouncesRepository();
const suppressions = new SuppressionsRepository();
const streams = new StreamsRepository();

function bounce(workspace: Workspace, overrides: Partial<NewBounceRow> = {}): NewBounceRow {
  return {
    workspace_id: workspace.id,
    message_id: "m1",
    stream: "outbound",
    type: "HardBounce",
    type_code: 1,
    email: "Ada@example.test",
    from_header: "app@acme.test",
    subject: "s",
    tag: null,
    description: "Hard bounce",
    details: "550 5.1.1 unknown",
    inactive: 1,
    can_activate: 1,
    bounced_at: 1_000,
    ...overrides,
  };
}

for (const target of storeTargets()) {
  describe(`bounce, suppression and stream storage (${target.name})`, () => {
    let store: Store;
    let acme: Workspace;
    let other: Workspace;

    before(async () => {
      store = await target.open();
      const workspaces = new WorkspacesService({ store, clock: { now: () => 1_000 } });
      acme = (await workspaces.create("acme", { sandbox: false })).workspace;
      other = (await workspaces.create("other", { sandbox: false })).workspace;
      await bounces.insert(store.db, bounce(acme));
      await bounces.insert(store.db, bounce(acme, { message_id: "m2", tag: "t", stream: "billing", email: "bob_1@example.test", bounced_at: 2_000 }));
      await bounces.insert(store.db, bounce(acme, { message_id: "m3", type: "SoftBounce", type_code: 4096, inactive: 0, can_activate: 0, email: "bob%1@example.test", bounced_at: 3_000 }));
      await bounces.insert(store.db, bounce(other, { message_id: "m9" }));
    });

    after(async () => {
      await store.close();
    });

    it("searches a workspace's bounces by every filter, newest first, with the total", async () => {
      const page = { count: 10, offset: 0 };
      const ids = async (filter: Parameters<BouncesRepository["search"]>[2]) => (await bounces.search(store.db, acme.id, filter, page)).rows.map((r) => r.message_id);
      assert.deepEqual(await ids({}), ["m3", "m2", "m1"]);
      assert.deepEqual(await ids({ type: "SoftBounce" }), ["m3"]);
      assert.deepEqual(await ids({ inactive: true }), ["m2", "m1"]);
      assert.deepEqual(await ids({ emailContains: "ADA" }), ["m1"]);
      assert.deepEqual(await ids({ emailContains: "_" }), ["m2"], "LIKE wildcards match literally");
      assert.deepEqual(await ids({ emailContains: "%" }), ["m3"]);
      assert.deepEqual(await ids({ tag: "t" }), ["m2"]);
      assert.deepEqual(await ids({ messageId: "m1" }), ["m1"]);
      assert.deepEqual(await ids({ stream: "billing" }), ["m2"]);
      assert.deepEqual(await ids({ from: 2_000, to: 2_999 }), ["m2"]);
      const second = await bounces.search(store.db, acme.id, {}, { count: 1, offset: 1 });
      assert.deepEqual([second.total, second.rows.map((r) => r.message_id)], [3, ["m2"]]);
      assert.equal((await bounces.search(store.db, other.id, {}, page)).total, 1);
    });

    it("counts by type and inactive addresses; marks an address active by its key on one stream", async () => {
      assert.deepEqual((await bounces.countByType(store.db, acme.id)).sort((a, b) => a.type.localeCompare(b.type)), [
        { type: "HardBounce", count: 2 },
        { type: "SoftBounce", count: 1 },
      ]);
      assert.equal(await bounces.countInactiveAddresses(store.db, acme.id), 2);
      await bounces.markActive(store.db, acme.id, "outbound", "ada@example.test");
      assert.equal(await bounces.countInactiveAddresses(store.db, acme.id), 1);
      assert.equal(await bounces.countInactiveAddresses(store.db, other.id), 1, "the other workspace's record is untouched");
    });

    it("filters, finds and deletes suppressions within a workspace and stream", async () => {
      const row = { workspace_id: acme.id, stream: "outbound", email_key: "a@x.test", email: "A@x.test", reason: "HardBounce" as const, origin: "Recipient" as const, created_at: 5_000 };
      assert.equal(await suppressions.insertIfAbsent(store.db, row), true);
      assert.equal(await suppressions.insertIfAbsent(store.db, { ...row, reason: "ManualSuppression" }), false);
      await suppressions.insertIfAbsent(store.db, { ...row, email_key: "b@x.test", email: "b@x.test", reason: "ManualSuppression", origin: "Customer", created_at: 6_000 });
      await suppressions.insertIfAbsent(store.db, { ...row, workspace_id: other.id });
      const keys = async (filter: Parameters<SuppressionsRepository["list"]>[3]) => (await suppressions.list(store.db, acme.id, "outbound", filter)).map((r) => r.email_key);
      assert.deepEqual(await keys({}), ["b@x.test", "a@x.test"]);
      assert.deepEqual(await keys({ reason: "HardBounce" }), ["a@x.test"]);
      assert.deepEqual(await keys({ origin: "Customer" }), ["b@x.test"]);
      assert.deepEqual(await keys({ emailKey: "a@x.test" }), ["a@x.test"]);
      assert.deepEqual(await keys({ from: 5_500 }), ["b@x.test"]);
      assert.deepEqual(await keys({ to: 5_500 }), ["a@x.test"]);
      assert.equal((await suppressions.find(store.db, acme.id, "outbound", "a@x.test"))?.reason, "HardBounce");
      assert.equal(await suppressions.delete(store.db, acme.id, "outbound", "a@x.test"), true);
      assert.equal(await suppressions.delete(store.db, acme.id, "outbound", "a@x.test"), false);
      assert.equal((await suppressions.list(store.db, other.id, "outbound")).length, 1, "the other workspace keeps its own");
    });

    it("keeps reports per delivery and finds the latest, within the workspace", async () => {
      const reports = new BounceReportsRepository();
      await reports.insert(store.db, { workspace_id: acme.id, message_id: "m1", email_key: "ada@example.test", raw: "first", received_at: 1 });
      await reports.insert(store.db, { workspace_id: acme.id, message_id: "m1", email_key: "ada@example.test", raw: "second ✓", received_at: 2 });
      assert.equal(await reports.latest(store.db, acme.id, "m1", "ada@example.test"), "second ✓");
      assert.equal(await reports.latest(store.db, other.id, "m1", "ada@example.test"), null);
      assert.equal(await reports.latest(store.db, acme.id, "m1", "bob@example.test"), null);
      assert.deepEqual([...(await reports.keysWithReports(store.db, acme.id, ["m1", "m2"]))], ["m1 ada@example.test"]);
      assert.deepEqual([...(await reports.keysWithReports(store.db, acme.id, []))], []);
    });

    it("counts a workspace's streams and lists them by type and archive state", async () => {
      assert.deepEqual(await streams.counts(store.db, acme.id), { all: 3, inbound: 1 });
      await streams.insert(store.db, { workspace_id: acme.id, id: "x", name: "X", type: "Transactional", created_at: 2_000 });
      await streams.update(store.db, acme.id, "x", { archived_at: 3_000 });
      assert.deepEqual(await streams.counts(store.db, acme.id), { all: 4, inbound: 1 });
      assert.deepEqual((await streams.list(store.db, acme.id, { type: "Transactional", includeArchived: false })).map((s) => s.id), ["outbound"]);
      assert.deepEqual((await streams.list(store.db, acme.id, { type: "Transactional", includeArchived: true })).map((s) => s.id), ["outbound", "x"]);
      assert.deepEqual(await streams.counts(store.db, other.id), { all: 3, inbound: 1 });
    });
  });
}
