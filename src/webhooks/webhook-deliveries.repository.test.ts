// Webhook deliveries against real databases (SQLite, and PostgreSQL when TEST_DATABASE_URL is
// set): a post asked for twice by one event is scheduled once; two racing dispatchers never claim
// the same post; an outcome is recorded only by the claim that still holds.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "../../test/support/stores.js";
import type { Store } from "../store/store.js";
import { WorkspacesService, type Workspace } from "../workspaces/workspaces.service.js";
import { WebhookDeliveriesRepository } from "./webhook-deliveries.repository.js";
import type { WebhookDeliveryRow } from "./webhooks.schema.js";

const repo = new WebhookDeliveriesRepository();

for (const target of storeTargets()) {
  describe(`webhook deliveries repository (${target.name})`, () => {
    let store: Store;
    let acme: Workspace;

    before(async () => {
      store = await target.open();
      acme = (await new WorkspacesService({ store, clock: { now: () => 1_000 } }).create("acme", { sandbox: false })).workspace;
    });
    after(() => store.close());

    it("schedules a post once per causing event, however often the event is seen", async () => {
      const post = { workspaceId: acme.id, kind: "inbound", subjectId: "m1", causeEventId: 41 };
      assert.equal(await store.write((trx) => repo.schedule(trx, [post, post], 1_000)), 1);
      assert.equal(await store.write((trx) => repo.schedule(trx, [post, { ...post, causeEventId: 42 }], 1_000)), 1);
      assert.deepEqual((await repo.forSubject(store.db, "inbound", "m1")).map((r) => [r.cause_event_id === null ? null : Number(r.cause_event_id), r.state]), [[41, "pending"], [42, "pending"]]);
    });

    it("lets only one of two racing dispatchers claim a due post, and records an outcome only for the claim that still holds", async () => {
      await store.write((trx) => repo.schedule(trx, [{ workspaceId: acme.id, kind: "inbound", subjectId: "h1", causeEventId: 7 }], 5_000));
      const [first, second] = await Promise.all([
        store.write((trx) => repo.claimDue(trx, 5_000, 65_000, 10)),
        store.write((trx) => repo.claimDue(trx, 5_000, 65_001, 10)),
      ]);
      const mine = (claims: typeof first) => claims.filter((r) => r.subject_id === "h1");
      assert.equal(mine(first).length + mine(second).length, 1);
      const id = Number((mine(first)[0] ?? mine(second)[0])!.id);
      const claimedUntil = mine(first).length > 0 ? 65_000 : 65_001;
      assert.equal(await store.write((trx) => repo.recordOutcome(trx, id, claimedUntil + 1, { state: "posted", attempts: 1, nextAttemptAt: null, lastError: null }, 6_000)), false, "not the holder's claim");
      assert.equal(await store.write((trx) => repo.recordOutcome(trx, id, claimedUntil, { state: "retrying", attempts: 1, nextAttemptAt: 70_000, lastError: "HTTP 500" }, 6_000)), true);
      assert.deepEqual(mine(await store.write((trx) => repo.claimDue(trx, 69_999, 80_000, 10))), [], "not due before its retry");
      assert.deepEqual((await store.write((trx) => repo.claimDue(trx, 70_000, 80_000, 10))).map((r) => [r.subject_id, r.attempts]), [["h1", 1]]);
    });

    it("schedules one post per event and endpoint, claims a message's posts to an endpoint one after the other, and skips held endpoints", async () => {
      const post = (cause: number, webhookId: number, subject: string) => ({ workspaceId: acme.id, kind: "outbound", subjectId: subject, causeEventId: cause, webhookId, body: `{"c":${cause}}`, orderKey: `${webhookId}:${subject}` });
      const at = 100_000;
      assert.equal(await store.write((trx) => repo.schedule(trx, [post(501, 7, "o1"), post(501, 8, "o1"), post(502, 7, "o1"), post(503, 9, "o2")], at)), 4);
      assert.equal(await store.write((trx) => repo.schedule(trx, [post(501, 7, "o1"), post(501, 8, "o1")], at)), 0, "the same event to the same endpoints: nothing new");
      const outbound = (rows: WebhookDeliveryRow[]) => rows.filter((r) => r.kind === "outbound");
      // Earlier tests' posts are due too: claim them out of the way.
      await store.write((trx) => repo.claimDue(trx, at - 1, at + 10_000_000, 100));
      const first = outbound(await store.write((trx) => repo.claimDue(trx, at, at + 1_000, 10, [9])));
      assert.deepEqual(first.map((r) => [Number(r.cause_event_id), Number(r.webhook_id)]).sort(), [[501, 7], [501, 8]], "502 waits for 501 at endpoint 7; endpoint 9 is held");
      const held = first.find((r) => Number(r.webhook_id) === 7)!;
      await store.write((trx) => repo.release(trx, [Number(held.id)], at + 1_000, at));
      assert.deepEqual(outbound(await store.write((trx) => repo.claimDue(trx, at, at + 2_000, 10, [9]))).map((r) => Number(r.cause_event_id)), [501], "given back without an attempt, claimable again, 502 still waiting");
      await store.write((trx) => repo.recordOutcome(trx, Number(held.id), at + 2_000, { state: "posted", attempts: 1, nextAttemptAt: null, lastError: null }, at, { workspace_id: acme.id, attempt: 1, attempted_at: at, status: 200, duration_ms: 3, response: "ok", response_bytes: 2, error: null }));
      assert.deepEqual(outbound(await store.write((trx) => repo.claimDue(trx, at, at + 3_000, 10))).map((r) => Number(r.cause_event_id)).sort(), [502, 503]);
      assert.deepEqual((await repo.attemptsOf(store.db, Number(held.id))).map((a) => [a.attempt, a.status, a.response]), [[1, 200, "ok"]]);
    });
  });
}
