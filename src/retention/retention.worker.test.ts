// Retention on each store: bodies of final messages past the limit go and their rows stay; a
// message still queued keeps its body; events past the limit go except those a lagging consumer
// has not read; nothing goes when set to keep; a large removal is several bounded transactions;
// a pass stopped part-way (a crash between batches) leaves every row consistent and the next pass,
// by any worker once the lease runs out, finishes it; two workers never run passes at once.
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { sql } from "../store/kysely.js";
import { storeTargets } from "../../test/support/stores.js";
import type { Store } from "../store/store.js";
import type { MessageState } from "../store/schema.js";
import { WorkspacesService } from "../workspaces/workspaces.service.js";
import { EventsRepository } from "../events/events.repository.js";
import { newMessageId } from "../shared/ids.js";
import type { InboundState } from "../inbound/inbound.schema.js";
import type { WebhookState } from "../webhooks/webhooks.schema.js";
import { silentLogger } from "../shared/logger.js";
import { RetentionRepository } from "./retention.repository.js";
import { RetentionWorker, idBelow, type RetentionSettings } from "./retention.worker.js";

const DAY_MS = 86_400_000;
const BODIES_MS = 45 * DAY_MS;
const OUTBOX_MS = 90 * DAY_MS;
const WEBHOOKS_MS = 45 * DAY_MS;

for (const target of storeTargets()) {
  describe(`retention (${target.name})`, () => {
    let store: Store;
    let ws: string;
    let now = Date.UTC(2026, 5, 1);
    const clock = { now: () => now };
    const events = () => new EventsRepository(store.dialect);

    before(async () => {
      store = await target.open();
      ws = (await new WorkspacesService({ store, clock }).create("a", { sandbox: false })).workspace.id;
    });

    after(async () => {
      await store.close();
    });

    beforeEach(async () => {
      await store.write(async (trx) => {
        await sql`delete from events`.execute(trx);
        await sql`delete from outbox_cursors`.execute(trx);
        await sql`delete from bounce_reports`.execute(trx);
        await sql`delete from deliveries`.execute(trx);
        await sql`delete from messages`.execute(trx);
        await sql`delete from webhook_attempts`.execute(trx);
        await sql`delete from webhook_deliveries`.execute(trx);
        await sql`delete from inbound_messages`.execute(trx);
        await sql`update retention_progress set bodies_after = '', inbound_after_at = 0, inbound_after_id = '', lease_owner = null, lease_until = 0`.execute(trx);
      });
    });

    const worker = (settings: Partial<RetentionSettings> = {}, extra: { removed?: (kind: string, n: number) => void; afterBatch?: (kind: string) => void } = {}) =>
      new RetentionWorker({ store, clock, logger: silentLogger(), repository: new RetentionRepository(store.dialect), settings: { bodiesMs: BODIES_MS, outboxMs: OUTBOX_MS, webhooksMs: WEBHOOKS_MS, batch: 1_000, pauseMs: 0, intervalMs: 60_000, ...settings }, ...extra });

    /** Messages accepted at `at` (their ids carry that time, as acceptance makes them), with a bounce report each. */
    async function addMessages(count: number, at: number, state: MessageState = "finished"): Promise<string[]> {
      const ids = Array.from({ length: count }, () => newMessageId(at));
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        await store.write(async (trx) => {
          await trx.insertInto("messages").values(chunk.map((id) => ({
            id, workspace_id: ws, stream: "outbound", envelope_from: "a@shop.test", from_json: '{"address":"a@shop.test","name":""}', to_json: '[{"address":"b@example.test","name":""}]',
            cc_json: "[]", bcc_json: "[]", subject: "Your receipt", tag: "receipt", metadata_json: '{"order":"7"}', track_opens: 0, track_links: "none", attachments_json: '["receipt.pdf"]',
            text_body: "secret text", html_body: "<p>secret html</p>", mime: Buffer.from("Subject: Your receipt\r\n\r\nsecret text\r\n"), sandboxed: 0, state, created_at: at,
          }))).execute();
          await trx.insertInto("bounce_reports").values(chunk.map((id) => ({ workspace_id: ws, message_id: id, email_key: "b@example.test", raw: "a report quoting secret text", received_at: at }))).execute();
        });
      }
      return ids;
    }

    async function addEvents(count: number, at: number): Promise<void> {
      await store.write((trx) => events().append(trx, Array.from({ length: count }, () => ({ type: "suppression.added" as const, workspaceId: ws, messageId: null, recipient: "b@example.test", data: { stream: "outbound", reason: "HardBounce" as const, origin: "Recipient" as const } })), at, false));
    }

    /** Records a consumer that has read up to the event log's end now (moving its cursor there). */
    async function consumerAtEnd(name: string): Promise<void> {
      const end = await events().head(store.db);
      await store.write(async (trx) => {
        await events().registerCursor(trx, name, end, now);
        await trx.updateTable("outbox_cursors").set({ position_tx: end.tx, position_id: end.id }).where("consumer", "=", name).execute();
      });
    }

    const bodies = async () =>
      (await store.db.selectFrom("messages").select(["id", "state", "subject", "metadata_json", "attachments_json", "text_body", "html_body", "mime", "body_removed_at"]).execute()).map((r) => ({ ...r, mime: Buffer.from(r.mime).length, body_removed_at: r.body_removed_at === null ? null : Number(r.body_removed_at) }));
    /** Inbound messages received at `at`, as the inbound service stores them (random ids, a payload with bodies and an attachment). */
    async function addInbound(count: number, at: number, state: InboundState = "posted"): Promise<string[]> {
      const ids = Array.from({ length: count }, () => randomUUID());
      const payload = { From: "c@sender.test", Subject: "Where is my order", TextBody: "secret inbound text", HtmlBody: "<p>secret inbound</p>", StrippedTextReply: "secret reply", Headers: [{ Name: "X-Mailer", Value: "m" }], Attachments: [{ Name: "photo.jpg", Content: "c2VjcmV0", ContentType: "image/jpeg", ContentLength: 6, ContentID: "" }] };
      await store.write((trx) =>
        trx.insertInto("inbound_messages").values(ids.map((id) => ({
          id, workspace_id: ws, stream: "inbound", recipient: "in@shop.test", mailbox_hash: "", from_email: "c@sender.test", subject: "Where is my order", tag: null, state, blocked_reason: null,
          payload_json: JSON.stringify(payload), mime: Buffer.from("Subject: Where is my order\r\n\r\nsecret inbound text\r\n"), received_at: at,
        }))).execute(),
      );
      return ids;
    }

    /** Webhook posts made at `at`, in `state`, with two attempts each. */
    async function addWebhookPosts(count: number, at: number, state: WebhookState = "posted"): Promise<number[]> {
      const ids: number[] = [];
      await store.write(async (trx) => {
        for (let i = 0; i < count; i++) {
          const row = await trx.insertInto("webhook_deliveries").values({ workspace_id: ws, kind: "outbound", subject_id: "m", cause_event_id: null, state, attempts: 2, next_attempt_at: state === "retrying" ? at + 60_000 : null, last_error: null, created_at: at, updated_at: at, body: '{"RecordType":"Delivery","Recipient":"b@example.test"}', order_key: null }).returning("id").executeTakeFirstOrThrow();
          ids.push(Number(row.id));
          for (const attempt of [1, 2]) await trx.insertInto("webhook_attempts").values({ delivery_id: row.id, workspace_id: ws, attempt, attempted_at: at, status: attempt === 1 ? 500 : 200, duration_ms: 5, response: "ok", error: null }).execute();
        }
      });
      return ids;
    }

    const inbound = async () =>
      (await store.db.selectFrom("inbound_messages").select(["id", "state", "subject", "payload_json", "mime", "body_removed_at"]).execute()).map((r) => ({ ...r, payload: JSON.parse(r.payload_json) as Record<string, unknown>, mime: Buffer.from(r.mime).length, body_removed_at: r.body_removed_at === null ? null : Number(r.body_removed_at) }));
    const count = async (table: "events" | "bounce_reports" | "webhook_deliveries" | "webhook_attempts") => Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(store.db)).rows[0]!.n);

    test("bodies of final messages past the retention are removed, their metadata kept; queued and recent messages keep theirs", async () => {
      const old = await addMessages(3, now - 50 * DAY_MS);
      const oldQueued = await addMessages(1, now - 50 * DAY_MS, "queued");
      const recent = await addMessages(2, now - 10 * DAY_MS);
      const removed: Array<[string, number]> = [];
      const report = await worker({}, { removed: (k, n) => removed.push([k, n]) }).runOnce();
      assert.equal(report.bodies, 3);
      assert.equal(report.bounceDumps, 3);
      const rows = new Map((await bodies()).map((r) => [r.id, r]));
      for (const id of old) {
        const r = rows.get(id)!;
        assert.deepEqual({ text: r.text_body, html: r.html_body, mime: r.mime, at: r.body_removed_at }, { text: null, html: null, mime: 0, at: now });
        assert.deepEqual({ subject: r.subject, metadata: r.metadata_json, attachments: r.attachments_json, state: r.state }, { subject: "Your receipt", metadata: '{"order":"7"}', attachments: '["receipt.pdf"]', state: "finished" });
      }
      for (const id of [...oldQueued, ...recent]) assert.equal(rows.get(id)!.body_removed_at, null, "kept");
      assert.equal(rows.get(oldQueued[0]!)!.text_body, "secret text");
      assert.equal(await count("bounce_reports"), 3, "the kept messages' dumps stay");
      assert.deepEqual(removed, [["bodies", 3], ["bounce_dumps", 3]]);

      // The queued message finishes later: the next pass finds it (the mark stopped before it).
      await store.write((trx) => trx.updateTable("messages").set({ state: "finished" }).where("id", "=", oldQueued[0]!).execute());
      assert.equal((await worker().runOnce()).bodies, 1);
      assert.equal((await worker().runOnce()).bodies, 0, "nothing left");
    });

    test("inbound messages past the body retention lose their content and keep their metadata; one whose webhook is still due keeps it", async () => {
      const old = await addInbound(3, now - 50 * DAY_MS);
      const blocked = await addInbound(1, now - 50 * DAY_MS, "blocked");
      const retrying = await addInbound(1, now - 50 * DAY_MS, "retrying");
      const recent = await addInbound(2, now - 10 * DAY_MS);
      const removed: Array<[string, number]> = [];
      const report = await worker({ outboxMs: null, webhooksMs: null }, { removed: (k, n) => removed.push([k, n]) }).runOnce();
      assert.equal(report.inboundBodies, 4);
      assert.deepEqual(removed, [["inbound_bodies", 4]]);
      const rows = new Map((await inbound()).map((r) => [r.id, r]));
      for (const id of [...old, ...blocked]) {
        const r = rows.get(id)!;
        assert.deepEqual({ at: r.body_removed_at, mime: r.mime, text: r.payload.TextBody, html: r.payload.HtmlBody, reply: r.payload.StrippedTextReply }, { at: now, mime: 0, text: "", html: "", reply: "" });
        assert.deepEqual(r.payload.Attachments, [{ Name: "photo.jpg", Content: "", ContentType: "image/jpeg", ContentLength: 6, ContentID: "" }], "the attachment's name stays, its content goes");
        assert.deepEqual({ subject: r.payload.Subject, from: r.payload.From, headers: r.payload.Headers, state: r.state }, { subject: "Where is my order", from: "c@sender.test", headers: [{ Name: "X-Mailer", Value: "m" }], state: id === blocked[0] ? "blocked" : "posted" });
      }
      for (const id of [...retrying, ...recent]) {
        assert.equal(rows.get(id)!.body_removed_at, null, "kept");
        assert.equal(rows.get(id)!.payload.TextBody, "secret inbound text");
      }
      // The retried message's webhook fails for good later: the next pass finds it (the mark stopped before it).
      await store.write((trx) => trx.updateTable("inbound_messages").set({ state: "failed" }).where("id", "=", retrying[0]!).execute());
      assert.equal((await worker({ outboxMs: null, webhooksMs: null }).runOnce()).inboundBodies, 1);
      assert.equal((await worker({ outboxMs: null, webhooksMs: null }).runOnce()).inboundBodies, 0, "nothing left");
    });

    test("webhook posts past their retention are deleted with their attempts once final; one still to be tried stays", async () => {
      const posted = await addWebhookPosts(2, now - 50 * DAY_MS, "posted");
      const failed = await addWebhookPosts(1, now - 50 * DAY_MS, "failed");
      const retrying = await addWebhookPosts(1, now - 50 * DAY_MS, "retrying");
      const recent = await addWebhookPosts(2, now - 10 * DAY_MS, "posted");
      const removed: Array<[string, number]> = [];
      const report = await worker({ bodiesMs: null, outboxMs: null }, { removed: (k, n) => removed.push([k, n]) }).runOnce();
      assert.equal(report.webhookRecords, 3);
      assert.deepEqual(removed, [["webhook_records", 3]]);
      const left = (await store.db.selectFrom("webhook_deliveries").select("id").orderBy("id").execute()).map((r) => Number(r.id));
      assert.deepEqual(left, [...retrying, ...recent]);
      assert.equal(await count("webhook_attempts"), 6, "the attempts of the posts left, two each");
      assert.ok(!posted.some((id) => left.includes(id)) && !failed.some((id) => left.includes(id)));
      // Once the last try has failed, the next pass deletes it too.
      await store.write((trx) => trx.updateTable("webhook_deliveries").set({ state: "failed", next_attempt_at: null }).where("id", "=", retrying[0]!).execute());
      assert.equal((await worker({ bodiesMs: null, outboxMs: null }).runOnce()).webhookRecords, 1);
      assert.equal(await count("webhook_attempts"), 4);
    });

    test("events past the retention are deleted, except those a lagging consumer has not read; none without any consumer", async () => {
      await addEvents(5, now - 100 * DAY_MS);
      assert.equal((await worker({ bodiesMs: null }).runOnce()).events, 0, "no consumer has a cursor: nothing is known read");
      await consumerAtEnd("fast");
      await consumerAtEnd("lagging");
      await addEvents(4, now - 95 * DAY_MS); // old, but the lagging consumer has not read them
      await addEvents(3, now - DAY_MS); // recent
      await consumerAtEnd("fast");
      assert.equal((await worker({ bodiesMs: null }).runOnce()).events, 5);
      assert.equal(await count("events"), 7);
      // The lagging consumer reads on: the rest of the old ones go, the recent ones stay.
      await consumerAtEnd("lagging");
      assert.equal((await worker({ bodiesMs: null }).runOnce()).events, 4);
      assert.equal(await count("events"), 3);
    });

    test("set to keep, nothing is removed", async () => {
      await addMessages(3, now - 400 * DAY_MS);
      await addEvents(3, now - 400 * DAY_MS);
      await consumerAtEnd("c");
      await addInbound(2, now - 400 * DAY_MS);
      await addWebhookPosts(2, now - 400 * DAY_MS);
      const report = await worker({ bodiesMs: null, outboxMs: null, webhooksMs: null }).runOnce();
      assert.deepEqual(report, { ran: false, bodies: 0, bounceDumps: 0, inboundBodies: 0, events: 0, webhookRecords: 0, batches: 0 });
      assert.equal((await inbound()).filter((r) => r.body_removed_at !== null).length, 0);
      assert.equal(await count("webhook_deliveries"), 2);
      assert.equal((await bodies()).filter((r) => r.body_removed_at !== null).length, 0);
      assert.equal(await count("events"), 3);
    });

    test("a large removal is several transactions of at most a batch each", async () => {
      await addMessages(2_500, now - 60 * DAY_MS);
      await addEvents(2_500, now - 100 * DAY_MS);
      await consumerAtEnd("c");
      const sizes: number[] = [];
      let last = 0;
      const w = worker({ batch: 1_000 }, {
        removed: (kind, n) => {
          if (kind !== "bounce_dumps") sizes.push(n);
        },
      });
      const started = performance.now();
      const report = await w.runOnce();
      const seconds = (performance.now() - started) / 1000;
      last = report.batches;
      assert.equal(report.bodies, 2_500);
      assert.equal(report.events, 2_500);
      assert.ok(last >= 6, `${last} transactions`);
      assert.ok(sizes.every((n) => n <= 1_000), `batch sizes ${sizes.join(",")}`);
      // Measured, not asserted: rows (bodies with their dumps, and events) removed per second.
      console.log(`# retention ${target.name}: ${report.bodies} bodies + ${report.bounceDumps} dumps + ${report.events} events in ${seconds.toFixed(2)} s (${Math.round((report.bodies + report.events) / seconds)} rows/s, batch 1000, no pause)`);
    });

    test("a pass stopped between batches leaves every row consistent, and the next worker finishes it once the lease runs out", async () => {
      await addMessages(2_500, now - 60 * DAY_MS);
      let batches = 0;
      const crashing = worker({ batch: 1_000 }, {
        afterBatch: () => {
          batches += 1;
          if (batches === 2) throw new Error("killed");
        },
      });
      await assert.rejects(crashing.runOnce(), /killed/);
      const rows = await bodies();
      const gone = rows.filter((r) => r.body_removed_at !== null);
      assert.equal(gone.length, 2_000, "two committed batches");
      // Each row is whole: its body removed with its dump, or both kept.
      for (const r of rows) assert.equal(r.body_removed_at === null, r.mime > 0 && r.text_body !== null);
      assert.equal(await count("bounce_reports"), 500);
      const mark = (await store.db.selectFrom("retention_progress").select(["bodies_after", "lease_owner"]).executeTakeFirstOrThrow());
      assert.equal(mark.bodies_after, gone.map((r) => r.id).sort().at(-1), "the mark is the last settled id");
      // The dead worker's lease holds for a minute: another worker waits, then resumes from the mark.
      assert.equal((await worker().runOnce()).ran, false);
      now += 61_000;
      let bodyBatches = 0;
      const report = await worker({ outboxMs: null }, {
        afterBatch: (kind) => {
          if (kind === "bodies") bodyBatches += 1;
        },
      }).runOnce();
      assert.deepEqual({ ran: report.ran, bodies: report.bodies }, { ran: true, bodies: 500 });
      assert.equal(bodyBatches, 1, "resumed from the mark, not from the start");
      assert.equal(await count("bounce_reports"), 0);
    });

    test("two workers at once: one runs the pass, and every body is removed once", async () => {
      await addMessages(1_200, now - 60 * DAY_MS);
      const [a, b] = await Promise.all([worker({ batch: 100 }).runOnce(), worker({ batch: 100 }).runOnce()]);
      assert.equal([a, b].filter((r) => r.ran).length, 1);
      assert.equal(a.bodies + b.bodies, 1_200);
    });
  });
}

test("the bound of the id walk sorts between the ids of the millisecond before and of its own", () => {
  const t = Date.UTC(2026, 0, 1);
  assert.ok(newMessageId(t - 1) < idBelow(t));
  assert.ok(newMessageId(t) > idBelow(t));
});
