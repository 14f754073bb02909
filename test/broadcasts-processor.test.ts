// The broadcast processor on SQLite and PostgreSQL, with the real people and segments domains and
// a recording stand-in for the outreach mailer (which honours alsoWrite in one transaction as the
// port requires; the end-to-end tests in broadcasts-app-api.test.ts use the real mailer and MTA):
// chunks with progress, each person once; cancel mid-way; a crash mid-broadcast taken over by
// another processor; three processors at once sharing broadcasts by their claims; local-time scheduling across timezones; throttling; held and skipped mail.
import { test } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "./support/stores.js";
import type { Store } from "../src/store/store.js";
import { silentLogger } from "../src/shared/logger.js";
import { WorkspacesService } from "../src/workspaces/workspaces.service.js";
import { peopleServiceFor } from "../src/people/testing/people-service.js";
import { EventsRepository } from "../src/events/events.repository.js";
import { Outbox } from "../src/events/outbox.js";
import { SegmentsRepository } from "../src/segments/segments.repository.js";
import { SegmentsService } from "../src/segments/segments.service.js";
import { MembershipKeeper } from "../src/segments/membership.keeper.js";
import { BroadcastsRepository } from "../src/broadcasts/broadcasts.repository.js";
import { BroadcastsService } from "../src/broadcasts/broadcasts.service.js";
import { BroadcastProcessor } from "../src/broadcasts/broadcast.processor.js";
import { AudienceReader } from "../src/broadcasts/audience.reader.js";
import { localInstant } from "../src/broadcasts/local-time.js";
import type { OutreachMail, OutreachMailer, OutreachOutcome } from "../src/channels/email/outreach.port.js";
import type { Db } from "../src/store/store.js";

class TestClock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
}

/** Accepts (or decides by `decide`) and records a mail only when its transaction, with the caller's writes, commits. */
class RecordingMailer implements OutreachMailer {
  committed: OutreachMail[] = [];
  calls = 0;
  decide: (mail: OutreachMail) => OutreachOutcome = (mail) => ({ kind: "accepted", messageId: `m-${mail.idempotencyKey}`, deliveryId: "d", duplicate: false });
  /** Runs before the transaction's writes: a test cancels or "crashes" here. */
  beforeCommit: (call: number) => Promise<void> = async () => {};
  constructor(private readonly store: Store) {}
  async send(mails: OutreachMail[], alsoWrite?: (trx: Db, outcomes: OutreachOutcome[]) => Promise<void>): Promise<OutreachOutcome[]> {
    const call = ++this.calls;
    await this.beforeCommit(call);
    const outcomes = mails.map((m) => this.decide(m));
    await this.store.write(async (trx) => {
      await alsoWrite?.(trx, outcomes);
    });
    this.committed.push(...mails.filter((_, i) => outcomes[i]!.kind === "accepted"));
    return outcomes;
  }
}

interface World {
  store: Store;
  clock: TestClock;
  workspaceId: string;
  service: BroadcastsService;
  mailer: RecordingMailer;
  processor: (options?: { chunkSize?: number; leaseMs?: number }) => BroadcastProcessor;
  segmentOf: (people: Array<{ id: string; timezone?: string }>) => Promise<string>;
}

async function world(store: Store): Promise<World> {
  const clock = new TestClock(Date.parse("2026-12-05T12:00:00Z"));
  const workspaces = new WorkspacesService({ store, clock });
  const { workspace } = await workspaces.create(`shop-${Math.random().toString(36).slice(2, 8)}`, { sandbox: false });
  const outbox = new Outbox({ repository: new EventsRepository(store.dialect), clock });
  const people = peopleServiceFor(store, clock, { outbox });
  const repository = new SegmentsRepository();
  const keeper = new MembershipKeeper({ store, clock, outbox, repository, people });
  const segments = new SegmentsService({ store, clock, repository, keeper, people });
  const broadcasts = new BroadcastsRepository();
  const mailer = new RecordingMailer(store);
  const service = new BroadcastsService({ store, clock, repository: broadcasts, segments, ledger: { countsByBroadcast: async () => ({ sent: 0, delivered: 0, opened: 0, clicked: 0, bounced: 0, unsubscribed: 0, skipped: 0 }) } });
  const audience = new AudienceReader({ people, segments });
  return {
    store,
    clock,
    workspaceId: workspace.id,
    service,
    mailer,
    processor: (options = {}) => new BroadcastProcessor({ store, clock, logger: silentLogger(), repository: broadcasts, mailer, audience, chunkSize: options.chunkSize ?? 3, snapshotPage: 2, leaseMs: options.leaseMs ?? 30_000 }),
    async segmentOf(list) {
      for (const p of list) {
        const [r] = await people.apply(workspace.id, [{ op: "identify", who: { kind: "id", value: p.id }, attributes: p.timezone ? { timezone: p.timezone } : {}, alsoKnownAs: [{ kind: "email", value: `${p.id}@example.com` }] }], { atomic: true });
        assert.ok(r!.ok, JSON.stringify(r));
      }
      const segment = await segments.create(workspace.id, { name: "Readers" });
      await segments.addPeople(workspace.id, segment.segmentId, list.map((p) => ({ kind: "id", value: p.id })));
      return segment.segmentId;
    },
  };
}

const newsletter = (segmentId: string, extra: Record<string, unknown> = {}) => ({ name: "December news", recipients: { segment: { id: Number(segmentId) } }, subject: "News for {{ customer.first_name | default: 'you' }}", html: "<p>Hello</p>", ...extra });

async function drain(processor: BroadcastProcessor): Promise<void> {
  while (await processor.runOnce());
}

for (const target of storeTargets()) {
  test(`[${target.name}] a newsletter to a segment goes to each member once, in chunks, with its progress`, async () => {
    const store = await target.open();
    try {
      const w = await world(store);
      const segmentId = await w.segmentOf(["a", "b", "c", "d", "e", "f", "g"].map((id) => ({ id })));
      const created = await w.service.create(w.workspaceId, newsletter(segmentId, { tag: "news" }));
      assert.equal(created.state, "scheduled");
      assert.deepEqual(created.progress, { audience: null, handled: 0, sent: 0, skipped: 0, failed: 0 });
      await drain(w.processor());
      const done = (await w.service.get(w.workspaceId, created.broadcastId))!;
      assert.equal(done.state, "done");
      assert.deepEqual(done.progress, { audience: 7, handled: 7, sent: 7, skipped: 0, failed: 0 });
      assert.equal(w.mailer.calls, 3, "7 people in chunks of 3");
      const keys = w.mailer.committed.map((m) => m.idempotencyKey);
      assert.equal(new Set(keys).size, 7);
      assert.ok(keys.every((k) => k!.startsWith(`broadcast:${created.broadcastId}:`)));
      const mail = w.mailer.committed[0]!;
      assert.deepEqual(mail.origin, { kind: "broadcast", broadcastId: created.broadcastId });
      assert.equal(mail.tag, "news");
      assert.equal(mail.overLimit, "skip");
      assert.equal(mail.send.countsTowardLimit, true);
      assert.deepEqual((mail.scope.campaign as Record<string, unknown>).type, "broadcast");
    } finally {
      await store.close();
    }
  });

  test(`[${target.name}] cancel stops at the next chunk: the chunk in flight commits nothing, no one after it is sent`, async () => {
    const store = await target.open();
    try {
      const w = await world(store);
      const segmentId = await w.segmentOf(["a", "b", "c", "d", "e", "f", "g"].map((id) => ({ id })));
      const b = await w.service.create(w.workspaceId, newsletter(segmentId));
      w.mailer.beforeCommit = async (call) => {
        if (call === 2) await w.service.cancel(w.workspaceId, b.broadcastId);
      };
      await drain(w.processor());
      const after = (await w.service.get(w.workspaceId, b.broadcastId))!;
      assert.equal(after.state, "cancelled");
      assert.equal(after.progress.handled, 3);
      assert.equal(w.mailer.committed.length, 3);
      assert.equal(w.mailer.calls, 2, "nothing is tried after the cancel");
      await assert.rejects(w.service.cancel(w.workspaceId, b.broadcastId), { code: "BROADCAST_STATE_CONFLICT" });
      const states = await w.service.recipients(w.workspaceId, b.broadcastId);
      assert.deepEqual(states.map((s) => s.state).sort(), ["pending", "pending", "pending", "pending", "sent", "sent", "sent"]);
    } finally {
      await store.close();
    }
  });

  test(`[${target.name}] a processor that dies mid-broadcast is taken over when its claim runs out: nobody twice, nobody skipped`, async () => {
    const store = await target.open();
    try {
      const w = await world(store);
      const segmentId = await w.segmentOf(["a", "b", "c", "d", "e", "f", "g", "h"].map((id) => ({ id })));
      const b = await w.service.create(w.workspaceId, newsletter(segmentId));
      w.mailer.beforeCommit = async (call) => {
        if (call === 2) throw new Error("the process died here");
      };
      const first = w.processor({ leaseMs: 30_000 });
      await assert.rejects(first.runOnce(), /died/);
      w.mailer.beforeCommit = async () => {};
      const second = w.processor({ leaseMs: 30_000 });
      assert.equal(await second.runOnce(), false, "the claim is still held by the dead process");
      w.clock.t += 30_001;
      await drain(second);
      const done = (await w.service.get(w.workspaceId, b.broadcastId))!;
      assert.equal(done.state, "done");
      assert.deepEqual(done.progress, { audience: 8, handled: 8, sent: 8, skipped: 0, failed: 0 });
      const keys = w.mailer.committed.map((m) => m.idempotencyKey);
      assert.equal(keys.length, 8);
      assert.equal(new Set(keys).size, 8);
    } finally {
      await store.close();
    }
  });

  test(`[${target.name}] two processors working at once share the broadcasts: every person of each once`, async () => {
    const store = await target.open();
    try {
      const w = await world(store);
      const segmentId = await w.segmentOf(Array.from({ length: 20 }, (_, i) => ({ id: `p${i}` })));
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await w.service.create(w.workspaceId, newsletter(segmentId))).broadcastId);
      await Promise.all([drain(w.processor()), drain(w.processor()), drain(w.processor())]);
      for (const id of ids) assert.deepEqual((await w.service.get(w.workspaceId, id))!.progress, { audience: 20, handled: 20, sent: 20, skipped: 0, failed: 0 });
      const keys = w.mailer.committed.map((m) => m.idempotencyKey);
      assert.equal(keys.length, 60);
      assert.equal(new Set(keys).size, 60);
    } finally {
      await store.close();
    }
  });

  test(`[${target.name}] a local-time broadcast reaches each timezone at its own 09:00 (fallback for people without one)`, async () => {
    const store = await target.open();
    try {
      const w = await world(store);
      const segmentId = await w.segmentOf([
        { id: "tokyo", timezone: "Asia/Tokyo" },
        { id: "ny", timezone: "America/New_York" },
        { id: "none" },
        { id: "bogus", timezone: "Mars/Olympus" },
      ]);
      const b = await w.service.create(w.workspaceId, newsletter(segmentId, { schedule: { local: { date: "2026-12-07", time: "09:00", fallback: "Europe/Berlin" } } }));
      const processor = w.processor();
      assert.equal(await processor.runOnce(), false, "nothing is due two days ahead");
      const tokyo = Date.parse("2026-12-07T00:00:00Z"); // 09:00 JST
      const berlin = Date.parse("2026-12-07T08:00:00Z"); // 09:00 CET
      const ny = Date.parse("2026-12-07T14:00:00Z"); // 09:00 EST
      assert.equal(localInstant("2026-12-07", "09:00", "Asia/Tokyo"), tokyo);
      w.clock.t = tokyo - 60_000;
      await drain(processor);
      assert.equal(w.mailer.committed.length, 0, "the audience is taken, nobody is due yet");
      assert.equal((await w.service.get(w.workspaceId, b.broadcastId))!.progress.audience, 4);
      w.clock.t = tokyo;
      await drain(processor);
      assert.deepEqual(w.mailer.committed.map((m) => m.personId).length, 1);
      w.clock.t = berlin;
      await drain(processor);
      assert.equal(w.mailer.committed.length, 3, "the person without a timezone and the one with a bad one fall back to Berlin");
      assert.equal((await w.service.get(w.workspaceId, b.broadcastId))!.state, "sending");
      w.clock.t = ny;
      await drain(processor);
      assert.equal(w.mailer.committed.length, 4);
      assert.equal((await w.service.get(w.workspaceId, b.broadcastId))!.state, "done");
      const due = new Map((await w.service.recipients(w.workspaceId, b.broadcastId)).map((r) => [r.dueAt, r.state]));
      assert.deepEqual([...due.keys()].sort(), [tokyo, berlin, ny]);
    } finally {
      await store.close();
    }
  });

  test(`[${target.name}] a scheduled broadcast waits for its time; a throttled one spaces its chunks over the minute`, async () => {
    const store = await target.open();
    try {
      const w = await world(store);
      const segmentId = await w.segmentOf(["a", "b", "c", "d", "e"].map((id) => ({ id })));
      const sendAt = w.clock.t + 3_600_000;
      await w.service.create(w.workspaceId, newsletter(segmentId, { schedule: { send_at: sendAt / 1000 }, throttle_per_minute: 2 }));
      const processor = w.processor();
      assert.equal(await processor.runOnce(), false);
      w.clock.t = sendAt;
      await drain(processor);
      assert.equal(w.mailer.committed.length, 2, "two a minute");
      w.clock.t += 59_000;
      await drain(processor);
      assert.equal(w.mailer.committed.length, 2, "not before the minute is up");
      w.clock.t += 1_000;
      await drain(processor);
      assert.equal(w.mailer.committed.length, 4);
      w.clock.t += 60_000;
      await drain(processor);
      assert.equal(w.mailer.committed.length, 5);
    } finally {
      await store.close();
    }
  });

  test(`[${target.name}] mail over the message limit is skipped (counted), or held and sent when there is room`, async () => {
    const store = await target.open();
    try {
      const w = await world(store);
      const segmentId = await w.segmentOf(["a", "b", "c"].map((id) => ({ id })));
      const room = w.clock.t + 3_600_000;
      // The first person the processor reaches is over the limit until `room`.
      let overLimit: string | null = null;
      w.mailer.decide = (mail) => {
        overLimit ??= mail.personId;
        if (mail.personId === overLimit && w.clock.t < room) return mail.overLimit === "hold" ? { kind: "held", until: room, reason: "message_limit" } : { kind: "skipped", reason: "message_limit", detail: "3 in 7 days" };
        return { kind: "accepted", messageId: `m-${mail.idempotencyKey}`, deliveryId: "d", duplicate: false };
      };
      const people = (await w.service.create(w.workspaceId, newsletter(segmentId))).broadcastId;
      const processor = w.processor();
      await drain(processor);
      const skipped = (await w.service.get(w.workspaceId, people))!;
      assert.deepEqual(skipped.progress, { audience: 3, handled: 3, sent: 2, skipped: 1, failed: 0 });
      const detail = (await w.service.recipients(w.workspaceId, people)).find((r) => r.state === "skipped")!.detail;
      assert.equal(detail, "message_limit");

      const held = (await w.service.create(w.workspaceId, newsletter(segmentId, { over_limit: "hold" }))).broadcastId;
      await drain(processor);
      const waiting = (await w.service.get(w.workspaceId, held))!;
      assert.equal(waiting.state, "sending");
      assert.deepEqual(waiting.progress, { audience: 3, handled: 2, sent: 2, skipped: 0, failed: 0 });
      w.clock.t = room;
      await drain(processor);
      const finished = (await w.service.get(w.workspaceId, held))!;
      assert.equal(finished.state, "done");
      assert.deepEqual(finished.progress, { audience: 3, handled: 3, sent: 3, skipped: 0, failed: 0 });
    } finally {
      await store.close();
    }
  });
}
