// The rollup repository on each store (SQLite always, PostgreSQL with TEST_DATABASE_URL): counts
// add up across batches, sums are bounded by workspace, metric, days, stream and tag, and event
// ids are counted once.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "../../test/support/stores.js";
import type { Store } from "../store/store.js";
import { METRICS, scopesOf } from "./stats-metrics.js";
import { StatsRepository, type RollupCount } from "./stats.repository.js";

/** A message's count as the consumer adds it: in each (stream, tag) scope of its stream and tag. */
const row = (over: Partial<Omit<RollupCount, "tag">> & { tag?: string | null }): RollupCount[] =>
  scopesOf(over.stream ?? "outbound", over.tag ?? null).map((scope) => ({ workspaceId: "w1", day: "2026-01-01", metric: METRICS.accepted, dimension: "", count: 1, ...over, ...scope }));

for (const target of storeTargets()) {
  describe(`stats rollups on ${target.name}`, () => {
    let store: Store;
    const repo = new StatsRepository();

    before(async () => {
      store = await target.open();
      await store.write((trx) =>
        repo.add(trx, [
          ...[
          row({ count: 5 }),
          row({ tag: "welcome", count: 2 }),
          row({ day: "2026-01-02", count: 3 }),
          row({ day: "2026-01-03", stream: "broadcast", tag: "welcome", count: 4 }),
          row({ metric: METRICS.bounced, dimension: "HardBounce", count: 1 }),
          row({ metric: METRICS.bounced, dimension: "SoftBounce", day: "2026-01-02", count: 2 }),
          row({ workspaceId: "w2", count: 100 }),
          ].flat(),
        ]),
      );
      // A second batch adds to the same keys.
      await store.write((trx) => repo.add(trx, [...row({ count: 1 }), ...row({ metric: METRICS.bounced, dimension: "HardBounce", count: 6 })]));
    });

    after(async () => {
      await store.close();
    });

    const sums = (f: Partial<Parameters<StatsRepository["sumsByDay"]>[1]> = {}) => repo.sumsByDay(store.db, { workspaceId: "w1", metrics: [METRICS.accepted], ...f });

    test("counts of a key add up across batches; sums come per day, in order", async () => {
      assert.deepEqual(await sums(), [
        { day: "2026-01-01", metric: METRICS.accepted, dimension: "", count: 8 },
        { day: "2026-01-02", metric: METRICS.accepted, dimension: "", count: 3 },
        { day: "2026-01-03", metric: METRICS.accepted, dimension: "", count: 4 },
      ]);
      const bounced = await repo.totals(store.db, { workspaceId: "w1", metrics: [METRICS.bounced] });
      assert.deepEqual(
        bounced.map((b) => [b.dimension, b.count]).sort(),
        [
          ["HardBounce", 7],
          ["SoftBounce", 2],
        ],
      );
    });

    test("sums are bounded by day range (inclusive), stream and tag", async () => {
      assert.deepEqual((await sums({ fromDay: "2026-01-02" })).map((s) => s.count), [3, 4]);
      assert.deepEqual((await sums({ toDay: "2026-01-02" })).map((s) => s.count), [8, 3]);
      assert.deepEqual((await sums({ fromDay: "2026-01-02", toDay: "2026-01-02" })).map((s) => s.count), [3]);
      assert.deepEqual((await sums({ stream: "broadcast" })).map((s) => s.count), [4]);
      assert.deepEqual((await sums({ tag: "welcome" })).map((s) => [s.day, s.count]), [["2026-01-01", 2], ["2026-01-03", 4]]);
      assert.deepEqual(await sums({ tag: "welcome", stream: "outbound", fromDay: "2026-01-02" }), []);
    });

    test("a tag or stream literally named * is its own scope, not every tag", async () => {
      await store.write((trx) => repo.add(trx, row({ workspaceId: "w-star", tag: "*", stream: "*", count: 2 })));
      await store.write((trx) => repo.add(trx, row({ workspaceId: "w-star", tag: "other", count: 3 })));
      const total = async (f: { tag?: string; stream?: string }) => (await repo.totals(store.db, { workspaceId: "w-star", metrics: [METRICS.accepted], ...f }))[0]?.count ?? 0;
      assert.deepEqual([await total({}), await total({ tag: "*" }), await total({ stream: "*" }), await total({ tag: "other" }), await total({ tag: "other", stream: "*" })], [5, 2, 2, 3, 0]);
    });

    test("one workspace's counts never appear in another's", async () => {
      assert.deepEqual((await repo.totals(store.db, { workspaceId: "w2", metrics: [METRICS.accepted, METRICS.bounced] })).map((s) => s.count), [100]);
      assert.deepEqual(await repo.totals(store.db, { workspaceId: "w3", metrics: [METRICS.accepted] }), []);
    });

    test("many keys in one batch go in chunks", async () => {
      const many = Array.from({ length: 1_000 }, (_, i) => row({ workspaceId: "w-many", stream: `s${i}` })[0]!);
      await store.write((trx) => repo.add(trx, many));
      const [one] = await repo.totals(store.db, { workspaceId: "w-many", stream: "s999", metrics: [METRICS.accepted] });
      assert.equal(one!.count, 1);
    });

    test("hourly counts add up across batches, bounded by workspace, scope, metric and hour range", async () => {
      const hour = (over: { workspaceId?: string; hour: string; stream?: string; tag?: string; count: number }) => ({ workspaceId: "w-hours", stream: "*", tag: "*", metric: METRICS.accepted, ...over });
      await store.write((trx) => repo.addHourly(trx, [hour({ hour: "2026-01-01T09", count: 2 }), hour({ hour: "2026-01-01T10", count: 1 }), hour({ hour: "2026-01-02T00", count: 7 }), hour({ hour: "2026-01-01T09", stream: "=outbound", count: 2 })]));
      await store.write((trx) => repo.addHourly(trx, [hour({ hour: "2026-01-01T09", count: 3 }), hour({ workspaceId: "w-other", hour: "2026-01-01T09", count: 50 })]));
      const sums = await repo.sumsByHour(store.db, { workspaceId: "w-hours", metrics: [METRICS.accepted, METRICS.delivered], fromHour: "2026-01-01T00", toHour: "2026-01-01T23" });
      assert.deepEqual(sums.map((s) => [s.hour, s.count]), [["2026-01-01T09", 5], ["2026-01-01T10", 1]]);
      const ofStream = await repo.sumsByHour(store.db, { workspaceId: "w-hours", stream: "outbound", metrics: [METRICS.accepted], fromHour: "2026-01-01T00", toHour: "2026-01-02T23" });
      assert.deepEqual(ofStream.map((s) => [s.hour, s.count]), [["2026-01-01T09", 2]]);
    });
  });
}
