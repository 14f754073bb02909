// The activity list's full-text search (migration 038, src/messages/activity/search-*.ts) on the
// repositories, on SQLite and, with TEST_DATABASE_URL, PostgreSQL: the index filled by the
// backfill and by the live indexer's batches; found by a subject word, by an address fragment,
// with other filters, page by page without gaps or repeats; another workspace's messages never
// found; query characters taken literally; entries gone with their message, and an address
// rewritten by a data removal no longer found. The HTTP side (400s, the lag) is in activity-api.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { sql } from "../src/store/kysely.js";
import { storeTargets } from "./support/stores.js";
import { ActivityRepository } from "../src/messages/activity/activity.repository.js";
import { SearchIndexRepository, SLOTS, slotOf } from "../src/messages/activity/search-index.repository.js";
import type { ActivityQuery } from "../src/messages/activity/activity.types.js";
import type { Store } from "../src/store/store.js";

interface Seed {
  id: string;
  workspace?: string;
  subject: string;
  to: string[];
  cc?: string[];
  tag?: string | null;
  at: number;
}

function messageRow(s: Seed) {
  return {
    id: s.id,
    workspace_id: s.workspace ?? "w1",
    stream: "outbound",
    envelope_from: "shop@brand.test",
    from_json: JSON.stringify({ address: "shop@brand.test", name: "" }),
    to_json: JSON.stringify(s.to.map((address) => ({ address, name: "" }))),
    cc_json: JSON.stringify((s.cc ?? []).map((address) => ({ address, name: "" }))),
    bcc_json: "[]",
    subject: s.subject,
    tag: s.tag ?? null,
    metadata_json: "{}",
    track_opens: 0,
    track_links: "none",
    attachments_json: "[]",
    text_body: null,
    html_body: null,
    mime: Buffer.from("Subject: x\r\n\r\nx"),
    sandboxed: 1,
    state: "sandboxed" as const,
    created_at: s.at,
  };
}

const SEEDS: Seed[] = [
  { id: "m01", subject: "Welcome aboard", to: ["Ann@Example.test"], tag: "welcome", at: 1_000 },
  { id: "m02", subject: "Your receipt 1001", to: ["bob@acme.com"], tag: "receipt", at: 2_000 },
  { id: "m03", subject: "Your receipt 1002", to: ["cy@example.test"], cc: ["ann@example.test"], tag: "receipt", at: 3_000 },
  { id: "m04", subject: "100% off_sale \"quoted\" NEAR(x y) -minus *star*", to: ["dee@acme.com"], tag: "promo", at: 4_000 },
  { id: "m05", subject: "Password reset", to: ["eve@example.test"], tag: "reset", at: 5_000 },
  { id: "m06", subject: "Your receipt 1003", to: ["fay@acme.community"], tag: "receipt", at: 6_000 },
  { id: "m07", subject: "Crème brûlée Ünïcode", to: ["gus@example.test"], at: 7_000 },
  { id: "r01", workspace: "w2", subject: "Your receipt 9999 rival", to: ["zed@acme.com"], tag: "receipt", at: 3_500 },
];

async function seeded(open: () => Promise<Store>): Promise<{ store: Store; repo: ActivityRepository; index: SearchIndexRepository }> {
  const store = await open();
  await store.write((trx) => trx.insertInto("messages").values(SEEDS.map(messageRow)).execute());
  const index = new SearchIndexRepository(store.dialect);
  return { store, repo: new ActivityRepository(store.dialect), index };
}

for (const target of storeTargets()) {
  describe(`activity search (${target.name})`, () => {
    const find = async (repo: ActivityRepository, store: Store, text: string, more: Partial<ActivityQuery> = {}) =>
      (await repo.page(store.db, { workspaceId: "w1", text, count: 50, ...more })).rows.map((r) => r.id);

    it("backfills in batches, newest first, and then finds by subject word, address fragment and with filters", async () => {
      const { store, repo, index } = await seeded(target.open);
      try {
        assert.equal(await index.backfillDone(store.db), false);
        assert.deepEqual(await find(repo, store, "receipt"), [], "nothing is found before it is indexed");
        let batches = 0;
        for (;;) {
          const { done } = await store.write((trx) => index.backfill(trx, 3));
          batches += 1;
          if (done) break;
        }
        assert.equal(batches, 3, "8 messages in batches of 3");
        assert.equal(await index.backfillDone(store.db), true);
        assert.deepEqual(await find(repo, store, "receipt"), ["m06", "m03", "m02"]);
        assert.deepEqual(await find(repo, store, "RECEIPT 1001"), ["m02"], "every word, any case");
        assert.deepEqual(await find(repo, store, "1001 receipt"), ["m02"], "in any order");
        assert.deepEqual(await find(repo, store, "@acme.com"), ["m04", "m02"], "an address fragment: its words, not acme.community");
        assert.deepEqual(await find(repo, store, "acme"), ["m06", "m04", "m02"]);
        assert.deepEqual(await find(repo, store, "ann@example.test"), ["m03", "m01"], "To and Cc, any case");
        assert.deepEqual(await find(repo, store, "rece"), [], "whole words, not prefixes");
        assert.deepEqual(await find(repo, store, "crème brûlée"), ["m07"]);
        assert.deepEqual(await find(repo, store, "receipt", { tag: "receipt", fromAt: 2_500 }), ["m06", "m03"], "with a tag and a date");
        assert.deepEqual(await find(repo, store, "receipt", { toAt: 3_000 }), ["m03", "m02"]);
        assert.deepEqual(await find(repo, store, "receipt", { state: "accepted" }), ["m06", "m03", "m02"], "with a state (sandboxed: no deliveries)");
        assert.deepEqual(await find(repo, store, "welcome", { tag: "receipt" }), []);
      } finally {
        await store.close();
      }
    });

    it("never finds another workspace's messages", async () => {
      const { store, repo, index } = await seeded(target.open);
      try {
        await store.write((trx) => index.backfill(trx, 100));
        assert.deepEqual(await find(repo, store, "rival"), []);
        assert.deepEqual(await find(repo, store, "9999"), []);
        assert.deepEqual(await find(repo, store, "zed"), []);
        assert.deepEqual(await find(repo, store, "rival", { workspaceId: "w2" }), ["r01"]);
        assert.deepEqual(await find(repo, store, "receipt", { workspaceId: "w2" }), ["r01"]);
        assert.deepEqual(await find(repo, store, "receipt", { workspaceId: "w3" }), []);
      } finally {
        await store.close();
      }
    });

    it("takes FTS and tsquery syntax characters literally: quotes, stars, NEAR, minus, OR", async () => {
      const { store, repo, index } = await seeded(target.open);
      try {
        await store.write((trx) => index.backfill(trx, 100));
        assert.deepEqual(await find(repo, store, '"quoted'), ["m04"]);
        assert.deepEqual(await find(repo, store, "star*"), ["m04"], "* is punctuation, not a prefix");
        assert.deepEqual(await find(repo, store, "NEAR(x y)"), ["m04"], "NEAR is a word of that subject");
        assert.deepEqual(await find(repo, store, "NEAR(receipt 1001)"), [], "not an operator");
        assert.deepEqual(await find(repo, store, "-minus"), ["m04"], "- is not NOT");
        assert.deepEqual(await find(repo, store, "receipt -1001"), ["m02"], "both words");
        assert.deepEqual(await find(repo, store, "receipt OR welcome"), [], "OR is a word that no subject holds");
        assert.deepEqual(await find(repo, store, "receipt & !1001 | (x):* <-> 'a'"), [], "tsquery operators are punctuation");
        assert.deepEqual(await find(repo, store, "off_sale 100%"), ["m04"], "LIKE's wildcards are punctuation too");
        assert.deepEqual(await find(repo, store, "body : receipt"), [], "a column filter is two words");
      } finally {
        await store.close();
      }
    });

    it("pages newest first by cursor without gaps or repeats, and polls for what is newer", async () => {
      const { store, repo, index } = await seeded(target.open);
      try {
        // Many messages of one millisecond: SQLite's keys then share slots and must probe.
        const burst = Array.from({ length: 40 }, (_, i) => ({ id: `b${String(i).padStart(2, "0")}`, subject: `Burst receipt ${i}`, to: [`p${i}@acme.com`], at: 8_000 }));
        await store.write((trx) => trx.insertInto("messages").values(burst.map(messageRow)).execute());
        await store.write((trx) => index.backfill(trx, 1_000));
        const all = await find(repo, store, "receipt");
        assert.equal(all.length, 43);
        assert.deepEqual(all.slice(-3), ["m06", "m03", "m02"]);
        const seen: string[] = [];
        let page = await repo.page(store.db, { workspaceId: "w1", text: "receipt", count: 7 });
        let pages = 1;
        seen.push(...page.rows.map((r) => r.id));
        while (page.next) {
          page = await repo.page(store.db, { workspaceId: "w1", text: "receipt", count: 7, before: page.next });
          seen.push(...page.rows.map((r) => r.id));
          pages += 1;
          assert.equal(page.partial, false);
        }
        assert.deepEqual(seen, all);
        assert.equal(pages, 7);
        const first = await repo.page(store.db, { workspaceId: "w1", text: "receipt", count: 5 });
        assert.deepEqual((await repo.page(store.db, { workspaceId: "w1", text: "receipt", count: 5, after: first.newest! })).rows, []);
        await store.write((trx) => trx.insertInto("messages").values(messageRow({ id: "n01", subject: "New receipt", to: ["new@acme.com"], at: 9_000 })).execute());
        assert.deepEqual((await repo.page(store.db, { workspaceId: "w1", text: "receipt", count: 5, after: first.newest! })).rows, [], "not indexed yet: search lags acceptance");
        assert.equal(await store.write((trx) => index.indexMessages(trx, ["n01", "gone"])), 1, "the live indexer's batch; a message no longer stored is skipped");
        assert.equal(await store.write((trx) => index.indexMessages(trx, ["n01"])), 1, "a batch that comes again changes nothing");
        const newer = await repo.page(store.db, { workspaceId: "w1", text: "receipt", count: 5, after: first.newest! });
        assert.deepEqual(newer.rows.map((r) => r.id), ["n01"]);
        assert.equal((await find(repo, store, "receipt")).length, 44);
      } finally {
        await store.close();
      }
    });

    it("finds a word deep in the list whether it is common or rare (SQLite walks the documents for a common one, FTS5 reads a rare one)", async () => {
      const store = await target.open();
      try {
        // 3,000 messages, a third of them "order", and one "needle" among the oldest.
        const rows = Array.from({ length: 3_000 }, (_, i) => ({ id: `d${String(i).padStart(4, "0")}`, subject: i === 40 ? "rare needle" : i % 3 === 0 ? `order ${i}` : `hay ${i}`, to: [`r${i}@x.test`], at: 10_000 + i }));
        for (let i = 0; i < rows.length; i += 500) await store.write((trx) => trx.insertInto("messages").values(rows.slice(i, i + 500).map(messageRow)).execute());
        await store.write((trx) => new SearchIndexRepository(store.dialect).backfill(trx, 5_000));
        const repo = new ActivityRepository(store.dialect);
        const cursor = { at: 10_000 + 2_500, id: "d2500" };
        const common = await repo.page(store.db, { workspaceId: "w1", text: "order", count: 5, before: cursor });
        assert.deepEqual(common.rows.map((r) => r.id), ["d2499", "d2496", "d2493", "d2490", "d2487"]);
        assert.deepEqual(common.next, { at: 10_000 + 2_487, id: "d2487" });
        const rare = await repo.page(store.db, { workspaceId: "w1", text: "needle", count: 5, before: cursor });
        assert.deepEqual(rare.rows.map((r) => r.id), ["d0040"]);
        assert.equal(rare.next, null);
        const both = await repo.page(store.db, { workspaceId: "w1", text: "rare needle", count: 5, before: { at: 10_000 + 41, id: "d0041" } });
        assert.deepEqual(both.rows.map((r) => r.id), ["d0040"], "a walk that reaches the range's end has all there is");
      } finally {
        await store.close();
      }
    });

    it("stops at the scan bound when another filter is rare, says so, and goes on from where it stopped", async () => {
      const store = await target.open();
      try {
        const rows = Array.from({ length: 12 }, (_, i) => ({ id: `m${String(i).padStart(2, "0")}`, subject: "hay", to: [`r${i}@x.test`], tag: i === 1 ? "needle" : null, at: 1_000 + i }));
        await store.write((trx) => trx.insertInto("messages").values(rows.map(messageRow)).execute());
        await store.write((trx) => new SearchIndexRepository(store.dialect).backfill(trx, 100));
        const repository = new ActivityRepository(store.dialect, 4);
        const seen: string[] = [];
        let page = await repository.page(store.db, { workspaceId: "w1", text: "hay", tag: "needle", count: 2 });
        let pages = 1;
        assert.equal(page.partial, true, "the newest four rows hold no needle");
        assert.deepEqual(page.rows, []);
        while (page.next) {
          seen.push(...page.rows.map((r) => r.id));
          page = await repository.page(store.db, { workspaceId: "w1", text: "hay", tag: "needle", count: 2, before: page.next });
          pages += 1;
        }
        seen.push(...page.rows.map((r) => r.id));
        assert.deepEqual(seen, ["m01"]);
        assert.equal(pages, 3);
        assert.equal((await repository.page(store.db, { workspaceId: "w1", text: "hay", count: 5 })).partial, false, "the index alone is never partial");
      } finally {
        await store.close();
      }
    });

    it("loses a message's entry with the message, and an address rewritten by a data removal is no longer found", async () => {
      const { store, repo, index } = await seeded(target.open);
      try {
        await store.write((trx) => index.backfill(trx, 100));
        // Deleted as retention or an erasure of a whole message would: the entry goes with it.
        await store.write((trx) => trx.deleteFrom("messages").where("id", "=", "m02").execute());
        assert.deepEqual(await find(repo, store, "receipt"), ["m06", "m03"]);
        const table = store.dialect === "postgres" ? "message_search" : "message_search_docs";
        assert.equal((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)} where message_id = 'm02'`.execute(store.db)).rows.map((r) => Number(r.n))[0], 0);
        // The erasure rewrites every text value mentioning the address (erasure.repository.ts),
        // as here: the index follows the rewritten text.
        assert.deepEqual(await find(repo, store, "ann"), ["m03", "m01"]);
        await store.write(async (trx) => {
          await sql`update messages set cc_json = replace(cc_json, 'ann@example.test', 'erased@erased.invalid') where id = 'm03'`.execute(trx);
          if (store.dialect === "postgres") await sql`update message_search set body = replace(body, 'ann@example.test', 'erased@erased.invalid') where body = (select body from message_search where message_id = 'm03')`.execute(trx);
          else await sql`update message_search_docs set body = replace(body, 'ann@example.test', 'erased@erased.invalid') where id = (select id from message_search_docs where message_id = 'm03')`.execute(trx);
        });
        assert.deepEqual(await find(repo, store, "ann"), ["m01"]);
        assert.deepEqual(await find(repo, store, "erased"), ["m03"]);
        assert.deepEqual(await find(repo, store, "receipt 1002"), ["m03"], "the rest of the entry stays");
      } finally {
        await store.close();
      }
    });
  });
}

describe("search keys (SQLite)", () => {
  it("start at the id's slot of its millisecond, so a cursor's key is known without its document", () => {
    assert.ok(slotOf("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b") < SLOTS);
    assert.equal(slotOf("m01"), slotOf("m01"));
    assert.ok(Number.isSafeInteger(4_102_444_800_000 * SLOTS + SLOTS - 1), "keys stay exact in JavaScript until 2100");
  });
});
