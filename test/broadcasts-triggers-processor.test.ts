// Broadcast triggers on SQLite and PostgreSQL with the real people and segments domains and a
// recording stand-in for JourneysService.enter (the end-to-end tests in broadcast-triggers.test.ts
// use the real journeys runtime): Customer.io's waiting-queue and rate limits, entry in chunks with
// the trigger's progress, a processor that dies mid-trigger taken over without entering anyone
// twice, a filter audience paged across many people, and a journey refusing the entry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "./support/stores.js";
import type { Db, Store } from "../src/store/store.js";
import { silentLogger } from "../src/shared/logger.js";
import { WorkspacesService } from "../src/workspaces/workspaces.service.js";
import { peopleServiceFor } from "../src/people/testing/people-service.js";
import { EventsRepository } from "../src/events/events.repository.js";
import { Outbox } from "../src/events/outbox.js";
import { SegmentsRepository } from "../src/segments/segments.repository.js";
import { SegmentsService } from "../src/segments/segments.service.js";
import { MembershipKeeper } from "../src/segments/membership.keeper.js";
import { BroadcastsRepository } from "../src/broadcasts/broadcasts.repository.js";
import { BroadcastTriggersService } from "../src/broadcasts/broadcast-triggers.service.js";
import { BroadcastTriggerProcessor } from "../src/broadcasts/broadcast-trigger.processor.js";
import { AudienceReader } from "../src/broadcasts/audience.reader.js";
import type { Journey } from "../src/journeys/journey.model.js";
import type { EnterOptions, JourneyEntry } from "../src/journeys/journeys.port.js";
import { JourneyStateConflict } from "../src/journeys/journeys.errors.js";

class TestClock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
}

const journey = (state: Journey["state"], kind: "broadcast" | "event" = "broadcast"): Journey =>
  ({ journeyId: "7", workspaceId: "", name: "Launch", state, version: 1, definition: { trigger: kind === "broadcast" ? { kind } : { kind, name: "x", type: null, where: [] } }, source: "", origin: "api", createdAt: 0, updatedAt: 0 }) as unknown as Journey;

async function world(store: Store, people = 0) {
  const clock = new TestClock(Date.parse("2026-12-05T12:00:00Z"));
  const workspaces = new WorkspacesService({ store, clock });
  const { workspace } = await workspaces.create(`ws-${Math.random().toString(36).slice(2, 8)}`, { sandbox: false });
  const outbox = new Outbox({ repository: new EventsRepository(store.dialect), clock });
  const peopleService = peopleServiceFor(store, clock, { outbox });
  const segmentsRepository = new SegmentsRepository();
  const keeper = new MembershipKeeper({ store, clock, outbox, repository: segmentsRepository, people: peopleService });
  const segments = new SegmentsService({ store, clock, repository: segmentsRepository, keeper, people: peopleService });
  if (people > 0) {
    const ops = Array.from({ length: people }, (_, i) => ({ op: "identify" as const, who: { kind: "id" as const, value: `p${String(i).padStart(4, "0")}` }, attributes: { plan: i % 2 === 0 ? "even" : "odd" } }));
    for (const r of await peopleService.apply(workspace.id, ops)) assert.ok(r.ok);
  }
  let current = journey("live");
  const entered: JourneyEntry[] = [];
  const calls = { enter: 0 };
  let beforeEnter: (call: number) => void = () => {};
  let beforeAlsoWrite: (trx: Db, call: number) => Promise<void> = async () => {};
  // Enters in a transaction, as JourneysService.enter does: the caller's alsoWrite commits with
  // the entries, and entries are recorded only once that transaction committed.
  const journeys = {
    get: async () => current,
    enter: async (_ws: string, _id: string, entries: JourneyEntry[], options: EnterOptions = {}) => {
      if (current.state !== "live") throw JourneyStateConflict(`Journey 7 is ${current.state}.`);
      const outcome = { entered: entries.length, skipped: 0 };
      await store.write(async (trx) => {
        await beforeAlsoWrite(trx, calls.enter + 1);
        await options.alsoWrite?.(trx, outcome);
        // After the entry and its progress were written, before the commit: a crash here commits neither.
        beforeEnter(++calls.enter);
      });
      entered.push(...entries);
      return outcome;
    },
  };
  const repository = new BroadcastsRepository();
  const service = new BroadcastTriggersService({ store, clock, repository, journeys });
  const audience = new AudienceReader({ people: peopleService, segments });
  return {
    clock,
    workspaceId: workspace.id,
    service,
    entered,
    calls,
    setJourney: (j: Journey) => (current = j),
    onEnter: (fn: (call: number) => void) => (beforeEnter = fn),
    onAlsoWrite: (fn: (trx: Db, call: number) => Promise<void>) => (beforeAlsoWrite = fn),
    processor: (chunkSize = 2) => new BroadcastTriggerProcessor({ store, clock, logger: silentLogger(), repository, journeys, people: peopleService, audience, chunkSize, leaseMs: 30_000 }),
  };
}

async function drain(p: BroadcastTriggerProcessor): Promise<void> {
  while (await p.runOnce());
}

for (const target of storeTargets()) {
  test(`[${target.name}] one trigger per campaign per 10 s and at most 5 waiting; only a live broadcast journey is triggered`, async () => {
    const store = await target.open();
    try {
      const w = await world(store, 1);
      for (let i = 0; i < 5; i++) {
        await w.service.trigger(w.workspaceId, "7", { ids: ["p0000"] });
        if (i < 4) await assert.rejects(w.service.trigger(w.workspaceId, "7", { ids: ["p0000"] }), { code: "BROADCAST_TRIGGER_TOO_BUSY", message: /10 seconds/ });
        w.clock.t += 10_000;
      }
      await assert.rejects(w.service.trigger(w.workspaceId, "7", { ids: ["p0000"] }), { code: "BROADCAST_TRIGGER_TOO_BUSY", message: /5 triggers waiting/ });
      await drain(w.processor());
      await w.service.trigger(w.workspaceId, "7", { ids: ["p0000"] });
      w.clock.t += 10_000;
      w.setJourney(journey("paused"));
      await assert.rejects(w.service.trigger(w.workspaceId, "7", { ids: ["p0000"] }), { code: "JOURNEY_STATE_CONFLICT" });
      w.setJourney(journey("live", "event"));
      await assert.rejects(w.service.trigger(w.workspaceId, "7", { ids: ["p0000"] }), { code: "JOURNEY_STATE_CONFLICT" });
      await assert.rejects(w.service.triggerStatus(w.workspaceId, "8", "1"), { code: "BROADCAST_TRIGGER_NOT_FOUND" });
    } finally {
      await store.close();
    }
  });

  test(`[${target.name}] a processor that dies mid-trigger is taken over: everyone entered once, progress exact`, async () => {
    const store = await target.open();
    try {
      const w = await world(store, 7);
      const ids = Array.from({ length: 7 }, (_, i) => `p${String(i).padStart(4, "0")}`);
      const t = await w.service.trigger(w.workspaceId, "7", { data: { headline: "x" }, per_user_data: ids.map((id, i) => ({ id, data: { n: i } })) });
      assert.equal(t.state, "pending");
      w.onEnter((call) => {
        if (call === 2) throw new Error("the process died here");
      });
      await assert.rejects(w.processor().runOnce(), /died/);
      w.onEnter(() => {});
      const second = w.processor();
      assert.equal(await second.runOnce(), false, "the dead process still holds its claim");
      w.clock.t += 30_001;
      await drain(second);
      const done = await w.service.triggerStatus(w.workspaceId, "7", t.triggerId);
      assert.equal(done.state, "done");
      assert.deepEqual([done.total, done.entered, done.skipped, done.missing], [7, 7, 0, 0]);
      assert.deepEqual(w.entered.map((e) => e.personId).length, 7);
      assert.equal(new Set(w.entered.map((e) => e.personId)).size, 7);
      assert.deepEqual(w.entered[0]!.trigger, { headline: "x" });
      assert.deepEqual(w.entered.map((e) => e.data.n), [0, 1, 2, 3, 4, 5, 6]);
      assert.ok(done.processedAt !== null);
    } finally {
      await store.close();
    }
  });

  test(`[${target.name}] a chunk whose claim was taken over meanwhile commits neither its entries nor its progress; the new holder enters them once`, async () => {
    const store = await target.open();
    try {
      const w = await world(store, 7);
      const ids = Array.from({ length: 7 }, (_, i) => `p${String(i).padStart(4, "0")}`);
      const t = await w.service.trigger(w.workspaceId, "7", { ids });
      w.onAlsoWrite(async (trx, call) => {
        // Another process claims the trigger while the second chunk is being entered.
        if (call === 2) await trx.updateTable("broadcast_triggers").set({ next_run_at: w.clock.t + 99_999 }).where("id", "=", Number(t.triggerId)).execute();
      });
      assert.equal(await w.processor().runOnce(), true, "the pass ends quietly when its claim is lost");
      assert.equal(w.entered.length, 2, "only the first chunk entered; the second rolled back");
      const mid = await w.service.triggerStatus(w.workspaceId, "7", t.triggerId);
      assert.deepEqual([mid.state, mid.entered], ["running", 2]);
      w.onAlsoWrite(async () => {});
      w.clock.t += 100_000;
      await drain(w.processor());
      const done = await w.service.triggerStatus(w.workspaceId, "7", t.triggerId);
      assert.deepEqual([done.state, done.total, done.entered], ["done", 7, 7]);
      assert.equal(w.entered.length, 7);
      assert.equal(new Set(w.entered.map((e) => e.personId)).size, 7, "each person entered exactly once");
    } finally {
      await store.close();
    }
  });

  test(`[${target.name}] a filter audience is paged across many people; a journey that stops being live fails the trigger`, async () => {
    const store = await target.open();
    try {
      const w = await world(store, 41);
      const t = await w.service.trigger(w.workspaceId, "7", { recipients: { attribute: { field: "plan", operator: "eq", value: "even" } } });
      await drain(w.processor(5));
      const done = await w.service.triggerStatus(w.workspaceId, "7", t.triggerId);
      assert.equal(done.state, "done");
      assert.equal(done.entered, 21);
      assert.equal(new Set(w.entered.map((e) => e.personId)).size, 21);
      w.clock.t += 10_000;
      const later = await w.service.trigger(w.workspaceId, "7", { ids: ["p0000", "p0001"] });
      w.setJourney(journey("archived"));
      await drain(w.processor());
      const failed = await w.service.triggerStatus(w.workspaceId, "7", later.triggerId);
      assert.equal(failed.state, "failed");
      assert.match(failed.errors.join(), /archived/);
    } finally {
      await store.close();
    }
  });
}
