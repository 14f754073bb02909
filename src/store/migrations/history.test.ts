// Migrations 007 and 008 rewrite what an existing installation has stored in Postmark's words:
// message_events become events (with the bounce and complaint records they announced), and
// messages get addresses as {address, name}, states and link tracking in our words. Run on a
// store migrated up to 006 and filled as the code of that time wrote it.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "../../../test/support/stores.js";
import { EventsRepository } from "../../events/events.repository.js";
import { MessagesRepository } from "../../messages/messages.repository.js";

for (const target of storeTargets()) {
  describe(`migrating stored history on ${target.name}`, () => {
    test("old messages and message events read back in Posthorn's words", async () => {
      const store = await target.open("006_inbound");
      try {
        const db = store.db as unknown as import("kysely").Kysely<Record<string, Record<string, unknown>>>;
        const message = (id: string, over: Record<string, unknown> = {}) => ({
          id, workspace_id: "w1", stream: "outbound", envelope_from: "a@shop.test", from_header: '"Shop, Inc." <a@shop.test>',
          to_json: '[{"Email":"Ada@example.test","Name":"Ada \\"A\\" L."}]', cc_json: "[]", bcc_json: '[{"Email":"b@example.test","Name":""}]',
          subject: "s", tag: null, metadata_json: "{}", track_opens: 0, track_links: "HtmlOnly", attachments_json: "[]", text_body: "x", html_body: null,
          mime: Buffer.from("Subject: s\r\n\r\nx\r\n"), sandboxed: 0, status: "Sent", created_at: 1_000, ...over,
        });
        await db.insertInto("messages").values([message("m1"), message("m2", { status: "Processed", sandboxed: 1, from_header: "not an address" }), message("m3", { status: "Queued", track_links: "None" })]).execute();
        await db.insertInto("deliveries").values({ message_id: "m1", workspace_id: "w1", recipient: "Ada@example.test", domain: "example.test", state: "bounced", attempts: 1, next_attempt_at: 1, lease_owner: null, last_reply: "550", created_at: 1, updated_at: 1 }).execute();
        const event = (type: string, details: Record<string, unknown>) => ({ message_id: "m1", workspace_id: "w1", recipient: "Ada@example.test", type, details_json: JSON.stringify(details), created_at: 2_000 });
        const server = { DeliveryMessage: "451 4.7.1 later", DestinationServer: "mx.example.test", DestinationIP: "192.0.2.1", Tls: true };
        await db.insertInto("message_events").values([
          event("Transient", { ...server, NextAttemptAt: new Date(3_000).toISOString() }),
          event("Bounced", { Summary: "550 5.1.1 gone", BounceType: "HardBounce", ...server, DeliveryMessage: "550 5.1.1 gone", BounceID: "7" }),
          event("SpamComplaint", { Summary: "Feedback-Type: abuse; reported by Yahoo", BounceID: "8", BounceType: "SpamComplaint", Origin: "report" }),
          event("Bounced", { Summary: "Gave up after 6 attempts: 451 busy", ...server, DeliveryMessage: "451 busy", BounceID: "9" }),
        ]).execute();

        await store.migrate();

        const events = await new EventsRepository(store.dialect).forMessage(store.db, "w1", "m1");
        assert.deepEqual(
          events.map((e) => [e.id, e.type, e.recipient]),
          [
            [1, "delivery.deferred", "Ada@example.test"],
            [2, "delivery.bounced", "Ada@example.test"],
            [3, "bounce.recorded", "Ada@example.test"],
            [4, "delivery.complained", "Ada@example.test"],
            [5, "complaint.recorded", "Ada@example.test"],
            [6, "delivery.expired", "Ada@example.test"],
            [7, "bounce.recorded", "Ada@example.test"],
          ],
        );
        assert.deepEqual(events[0]!.data, { stream: "outbound", attempt: { reply: "451 4.7.1 later", code: 451, enhanced: "4.7.1", remoteHost: "mx.example.test", remoteIp: "192.0.2.1", tls: true }, nextAttemptAt: 3_000 });
        assert.deepEqual(events[2]!.data, { bounceId: 7, bounceType: "HardBounce", stream: "outbound", cause: 2 });
        assert.deepEqual(events[3]!.data, { stream: "outbound", feedbackType: "abuse", summary: "Feedback-Type: abuse; reported by Yahoo" });
        assert.deepEqual(events[4]!.data, { bounceId: 8, stream: "outbound", cause: 4 });
        assert.equal((events[5]!.data as { attempts: number }).attempts, 6);
        // New events continue after the converted ones.
        const [next] = await store.write((trx) => new EventsRepository(store.dialect).append(trx, [{ type: "delivery.suppressed", workspaceId: "w1", messageId: "m1", recipient: "x@example.test", data: { stream: "outbound" } }], 5_000));
        assert.equal(next!.id, 8);

        const repo = new MessagesRepository();
        const m1 = (await repo.findById(store.db, "w1", "m1"))!.record;
        assert.deepEqual([m1.from, m1.to, m1.bcc, m1.state, m1.linkTracking], [
          { email: "a@shop.test", name: "Shop, Inc." },
          [{ email: "Ada@example.test", name: 'Ada "A" L.' }],
          [{ email: "b@example.test", name: "" }],
          "finished",
          "html-only",
        ]);
        const m2 = (await repo.findById(store.db, "w1", "m2"))!.record;
        assert.deepEqual([m2.from, m2.state], [{ email: "", name: "not an address" }, "sandboxed"]);
        const m3 = (await repo.findById(store.db, "w1", "m3"))!.record;
        assert.deepEqual([m3.state, m3.linkTracking], ["queued", "none"]);
        assert.equal((await repo.deliveries(store.db, "m1"))[0]!.stream, "outbound");
      } finally {
        await store.close();
      }
    });
  });
}
