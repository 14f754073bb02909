// The people service on each database (SQLite; PostgreSQL when TEST_DATABASE_URL is set):
// identify as Customer.io's PUT (upsert, _update, null removes, an email attached to an id),
// events of known and anonymous people, the anonymous events merged on identify, de-duplication
// within and after the window, out-of-order events, and the outbox events of each change.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "../../test/support/stores.js";
import type { Store } from "../store/store.js";
import { WorkspacesService } from "../workspaces/workspaces.service.js";
import { EventsRepository, toEvents } from "../events/events.repository.js";
import { Outbox } from "../events/outbox.js";
import type { RecordedEvent } from "../events/event-map.js";
import { PeopleService } from "./people.service.js";
import { PersonEventsRepository } from "./person-events.repository.js";
import type { PersonOperation } from "./people.port.js";
import { peopleServiceFor } from "./testing/people-service.js";


const DAY_MS = 24 * 60 * 60 * 1000;

for (const target of storeTargets()) {
  describe(`people service (${target.name})`, () => {
    let store: Store;
    let people: PeopleService;
    let events: EventsRepository;
    let personEvents: PersonEventsRepository;
    let ws: string;
    let other: string;
    let now = 1_700_000_000_000;

    before(async () => {
      store = await target.open();
      const clock = { now: () => now };
      const workspaces = new WorkspacesService({ store, clock });
      ws = (await workspaces.create("a", { sandbox: true })).workspace.id;
      other = (await workspaces.create("b", { sandbox: true })).workspace.id;
      events = new EventsRepository(store.dialect);
      const outbox = new Outbox({ repository: events, clock });
      personEvents = new PersonEventsRepository(store.dialect);
      people = peopleServiceFor(store, clock, { outbox, events: personEvents });
    });

    after(async () => {
      await store.close();
    });

    /** Outbox events of one type appended since `from`. */
    // The outbox table read directly: a consumer's read (readAfter) on PostgreSQL stops below the
    // oldest running transaction of the whole server, which other test files' may hold open.
    async function outboxSince(from: number, type: string): Promise<RecordedEvent[]> {
      const rows = await store.db.selectFrom("events").selectAll().where("type", "=", type).where("id", ">", from).orderBy("id").execute();
      return rows.flatMap(toEvents);
    }
    async function head(): Promise<number> {
      const row = await store.db.selectFrom("events").select((eb) => eb.fn.max("id").as("id")).executeTakeFirst();
      return Number(row?.id ?? 0);
    }
    const apply = async (workspaceId: string, ops: PersonOperation[], atomic = false) => people.apply(workspaceId, ops, { atomic });
    const identify = (id: string, attributes: Record<string, unknown>, extra: Partial<Extract<PersonOperation, { op: "identify" }>> = {}): PersonOperation => ({ op: "identify", who: { kind: "id", value: id }, attributes, ...extra });
    const track = (who: { kind: "id" | "email" | "anonymous_id" | "cio_id"; value: string }, name: string, extra: { dedupeKey?: string; timestamp?: number; data?: Record<string, unknown> } = {}): PersonOperation => ({
      op: "track",
      who,
      event: { name, type: "event", dedupeKey: extra.dedupeKey ?? null, timestamp: extra.timestamp ?? null, data: extra.data ?? {} },
    });

    test("identify creates, then updates the same person; null removes an attribute; the changes are kept and announced", async () => {
      const start = await head();
      const [created] = await apply(ws, [identify("u1", { plan: "free", age: 30 })]);
      assert.equal(created!.ok, true);
      const personId = (created as { personId: string }).personId;
      now += 1000;
      const [updated] = await apply(ws, [identify("u1", { plan: "pro", age: null, city: "Oslo" })]);
      assert.deepEqual(updated, { ok: true, personId });
      const person = await people.find(ws, { kind: "id", value: "u1" });
      assert.equal(person!.personId, personId);
      assert.equal(person!.id, "u1");
      assert.deepEqual(person!.attributes, { plan: "pro", city: "Oslo" });
      assert.deepEqual(await people.get(ws, personId), person);
      const identified = await outboxSince(start, "person.identified");
      assert.equal(identified.length, 2);
      assert.deepEqual(identified[0]!.data, { personId, created: true, changes: { id: { from: null, to: "u1" }, plan: { from: null, to: "free" }, age: { from: null, to: 30 } } });
      assert.deepEqual(identified[1]!.data, { personId, created: false, changes: { plan: { from: "free", to: "pro" }, age: { from: 30, to: null }, city: { from: null, to: "Oslo" } } });
      // The same identify again changes nothing and announces nothing.
      const before = await head();
      await apply(ws, [identify("u1", { plan: "pro" })]);
      assert.equal((await outboxSince(before, "person.identified")).length, 0);
      const activity = await people.activity(ws, personId, { limit: 10, cursor: null });
      assert.deepEqual(
        activity.items.filter((i) => i.kind === "attribute_change").map((i) => i.detail.name).sort(),
        ["age", "age", "city", "id", "plan", "plan"],
      );
    });

    test("events naming new people create them with the events; later operations of the same batch see them", async () => {
      const start = await head();
      const results = await apply(ws, [
        track({ kind: "id", value: "new-1" }, "a"),
        track({ kind: "email", value: "New-2@Example.com" }, "b"),
        track({ kind: "id", value: "new-1" }, "c"),
        identify("new-1", { plan: "pro" }),
        track({ kind: "id", value: "new-3" }, "d"),
        { op: "delete", who: { kind: "id", value: "new-3" } },
        track({ kind: "id", value: "new-4" }, "e"),
      ]);
      assert.ok(results.every((r) => r.ok), JSON.stringify(results));
      const first = (await people.find(ws, { kind: "id", value: "new-1" }))!;
      assert.deepEqual(first.attributes, { plan: "pro" });
      assert.equal((results[2] as { personId: string }).personId, first.personId);
      const second = (await people.find(ws, { kind: "email", value: "new-2@example.com" }))!;
      assert.equal(second.email, "New-2@Example.com");
      assert.equal(await people.find(ws, { kind: "id", value: "new-3" }), null);
      const fourth = (await people.find(ws, { kind: "id", value: "new-4" }))!;
      const names = async (personId: string) => (await store.db.selectFrom("person_events").select("name").where("person_id", "=", personId).orderBy("id").execute()).map((r) => r.name);
      assert.deepEqual(await names(first.personId), ["a", "c"]);
      assert.deepEqual(await names(second.personId), ["b"]);
      assert.deepEqual(await names(fourth.personId), ["e"]);
      assert.deepEqual(await names((results[4] as { personId: string }).personId), []);
      const created = (await outboxSince(start, "person.identified")).filter((e) => (e.data as { created: boolean }).created);
      assert.deepEqual(
        created.map((e) => (e.data as { changes: Record<string, { to: unknown }> }).changes).map((c) => c.id?.to ?? c.email?.to),
        ["new-1", "New-2@Example.com", "new-3", "new-4"],
      );
    });

    test("each person.event names its own event's row, in a batch and across concurrent calls", async () => {
      const start = await head();
      const batch = Array.from({ length: 30 }, (_, i) => track({ kind: "id", value: `rowid-${i % 4}` }, `batch-${i}`, { data: { i } }));
      const singles = Array.from({ length: 20 }, (_, i) => apply(ws, [track({ kind: "id", value: `rowid-${i % 3}` }, `single-${i}`, { data: { i } })]));
      await Promise.all([apply(ws, batch), ...singles]);
      const announced = await outboxSince(start, "person.event");
      assert.equal(announced.length, 50);
      const rows = await store.db.selectFrom("person_events").select(["id", "name", "person_id"]).where("name", "like", "%-%").where("workspace_id", "=", ws).execute();
      const byId = new Map(rows.map((r) => [Number(r.id), r]));
      for (const e of announced) {
        const data = e.data as { eventRowId: number; name: string; personId: string };
        const row = byId.get(data.eventRowId);
        assert.ok(row, `no row ${data.eventRowId} for ${data.name}`);
        assert.equal(row.name, data.name);
        assert.equal(row.person_id, data.personId);
      }
      assert.equal(new Set(announced.map((e) => (e.data as { eventRowId: number }).eventRowId)).size, 50);
    });

    test("update-only never creates; a person of another workspace is not found", async () => {
      const [result] = await apply(ws, [identify("ghost", { a: 1 }, { updateOnly: true })]);
      assert.deepEqual(result, { ok: true, personId: null });
      assert.equal(await people.find(ws, { kind: "id", value: "ghost" }), null);
      await apply(ws, [identify("u-upd", { a: 1 })]);
      const [updated] = await apply(ws, [identify("u-upd", { a: 2 }, { updateOnly: true })]);
      assert.equal(updated!.ok, true);
      assert.deepEqual((await people.find(ws, { kind: "id", value: "u-upd" }))!.attributes, { a: 2 });
      assert.equal(await people.find(other, { kind: "id", value: "u-upd" }), null);
      const mine = await people.find(ws, { kind: "id", value: "u-upd" });
      assert.equal(await people.get(other, mine!.personId), null);
    });

    test("an id with an email attaches the email; the email then finds the person; another person's email is refused", async () => {
      const [r] = await apply(ws, [identify("u2", { name: "Ann" }, { alsoKnownAs: [{ kind: "email", value: "Ann@Example.com" }] })]);
      const personId = (r as { personId: string }).personId;
      const byEmail = await people.find(ws, { kind: "email", value: "ann@example.com" });
      assert.equal(byEmail!.personId, personId);
      assert.equal(byEmail!.email, "Ann@Example.com");
      assert.equal((await people.find(ws, { kind: "cio_id", value: personId }))!.id, "u2");
      // Identify by email alone updates the same person.
      await apply(ws, [{ op: "identify", who: { kind: "email", value: "ann@example.com" }, attributes: { name: "Anne" } }]);
      assert.equal((await people.get(ws, personId))!.attributes.name, "Anne");
      // The email of u2 given to u3: refused, nothing of u3 created.
      const [conflict] = await apply(ws, [identify("u3", { x: 1 }, { alsoKnownAs: [{ kind: "email", value: "ann@example.com" }] })]);
      assert.equal(conflict!.ok, false);
      assert.equal((conflict as { code: string }).code, "PEOPLE_IDENTIFIER_CONFLICT");
      assert.equal(await people.find(ws, { kind: "id", value: "u3" }), null);
      // A new email replaces the old one.
      await apply(ws, [identify("u2", {}, { alsoKnownAs: [{ kind: "email", value: "ann@new.example" }] })]);
      assert.equal(await people.find(ws, { kind: "email", value: "ann@example.com" }), null);
      assert.equal((await people.get(ws, personId))!.email, "ann@new.example");
    });

    test("events of an anonymous visitor are attached to the person when the anonymous id is identified", async () => {
      const start = await head();
      const anon = { kind: "anonymous_id" as const, value: "anon-1" };
      const results = await apply(ws, [track(anon, "viewed", { timestamp: now - 5000 }), track(anon, "clicked", { timestamp: now - 4000 })]);
      assert.deepEqual(results, [{ ok: true, personId: null }, { ok: true, personId: null }]);
      const tracked = await outboxSince(start, "person.event");
      assert.equal(tracked.length, 2);
      assert.equal((tracked[0]!.data as { anonymousId: string }).anonymousId, "anon-1");
      assert.equal((tracked[0]!.data as { personId: string | null }).personId, null);
      const [r] = await apply(ws, [identify("u4", { plan: "x" }, { alsoKnownAs: [anon] })]);
      const personId = (r as { personId: string }).personId;
      const stored = await people.events(ws, personId, { limit: 10 });
      assert.deepEqual(stored.map((e) => e.name), ["clicked", "viewed"]);
      assert.ok(stored.every((e) => e.anonymousId === "anon-1" && e.personId === personId));
      const merged = await outboxSince(start, "person.merged");
      assert.deepEqual(merged.map((e) => e.data), [{ personId, mergedId: null, anonymousId: "anon-1" }]);
      assert.deepEqual((await people.get(ws, personId))!.anonymousIds, ["anon-1"]);
      // Later anonymous events of that id go to the person directly.
      const [later] = await apply(ws, [track(anon, "again")]);
      assert.deepEqual(later, { ok: true, personId });
    });

    test("an anonymous-only profile is merged into the person who identifies with its anonymous id", async () => {
      const start = await head();
      const [anon] = await apply(ws, [{ op: "identify", who: { kind: "anonymous_id", value: "anon-prof" }, attributes: { seen: "landing", shared: "anon" } }, track({ kind: "anonymous_id", value: "anon-prof" }, "browsed")]);
      const anonId = (anon as { personId: string }).personId;
      assert.deepEqual((await people.get(ws, anonId))!.anonymousIds, ["anon-prof"]);
      assert.deepEqual((await people.events(ws, anonId, { limit: 10 })).map((e) => e.name), ["browsed"]);
      const [known] = await apply(ws, [identify("u-prof", { shared: "known" }, { alsoKnownAs: [{ kind: "anonymous_id", value: "anon-prof" }] })]);
      const personId = (known as { personId: string }).personId;
      assert.notEqual(personId, anonId);
      const person = (await people.get(ws, personId))!;
      assert.deepEqual(person.attributes, { shared: "known", seen: "landing" });
      assert.deepEqual(person.anonymousIds, ["anon-prof"]);
      assert.deepEqual((await people.events(ws, personId, { limit: 10 })).map((e) => e.name), ["browsed"]);
      assert.equal(await people.get(ws, anonId), null);
      // The profile took its anonymous id's waiting events when made, then was merged.
      assert.deepEqual((await outboxSince(start, "person.merged")).map((e) => e.data), [
        { personId: anonId, mergedId: null, anonymousId: "anon-prof" },
        { personId, mergedId: anonId, anonymousId: null },
      ]);
      // An anonymous id of a known person is not taken by another.
      const [third] = await apply(ws, [identify("u-other", {}, { alsoKnownAs: [{ kind: "anonymous_id", value: "anon-prof" }] })]);
      assert.deepEqual((await people.get(ws, (third as { personId: string }).personId))!.anonymousIds, []);
      assert.equal((await people.find(ws, { kind: "anonymous_id", value: "anon-prof" }))!.personId, personId);
    });

    test("unsubscribed, topic preferences and created_at are kept and their changes announced", async () => {
      const start = await head();
      const [r] = await apply(ws, [identify("u-sub", {}, { createdAt: 1_600_000_000_000, unsubscribed: false, topics: { topic_1: true } })]);
      const personId = (r as { personId: string }).personId;
      await apply(ws, [identify("u-sub", {}, { unsubscribed: true, topics: { topic_1: false, topic_2: true } })]);
      const person = (await people.get(ws, personId))!;
      assert.equal(person.createdAt, 1_600_000_000_000);
      assert.equal(person.unsubscribed, true);
      assert.deepEqual(person.topics, { topic_1: false, topic_2: true });
      const changes = (await outboxSince(start, "person.identified")).map((e) => (e.data as { changes: Record<string, unknown> }).changes);
      assert.deepEqual(changes[1], {
        unsubscribed: { from: false, to: true },
        "cio_subscription_preferences.topics.topic_1": { from: true, to: false },
        "cio_subscription_preferences.topics.topic_2": { from: null, to: true },
      });
      assert.deepEqual(changes[0]!["created_at"], { from: now, to: 1_600_000_000_000 });
    });

    test("events are de-duplicated by key within the window and accepted again after it; late events keep their time", async () => {
      const who = { kind: "id" as const, value: "u5" };
      const first = await apply(ws, [track(who, "paid", { dedupeKey: "01HKEY", timestamp: now - 3 * DAY_MS }), track(who, "paid", { dedupeKey: "01HKEY" })]);
      assert.equal(first.length, 2);
      const personId = (first[0] as { personId: string }).personId;
      await apply(ws, [track(who, "paid", { dedupeKey: "01HKEY" })]);
      assert.equal((await people.events(ws, personId, { names: ["paid"], limit: 10 })).length, 1);
      // The same key in another workspace is another event.
      await apply(other, [track(who, "paid", { dedupeKey: "01HKEY" })]);
      // Out of order: an older event after a newer one is placed by its own time.
      await apply(ws, [track(who, "late", { timestamp: now - 10 * DAY_MS })]);
      const all = await people.events(ws, personId, { limit: 10 });
      assert.deepEqual(all.map((e) => e.name), ["paid", "late"]);
      assert.equal(all[1]!.timestamp, now - 10 * DAY_MS);
      assert.equal(all[1]!.receivedAt, now);
      assert.equal(all[0]!.timestamp, now - 3 * DAY_MS);
      now += 8 * DAY_MS;
      await apply(ws, [track(who, "paid", { dedupeKey: "01HKEY" })]);
      assert.equal((await people.events(ws, personId, { names: ["paid"], limit: 10 })).length, 2);
      assert.equal((await people.events(ws, personId, { names: ["paid"], since: now - DAY_MS, limit: 10 })).length, 1);
    });

    test("a person's events read the same whether or not the person index has caught up (SQLite indexes behind ingest)", async () => {
      const index = () => store.write((trx) => personEvents.indexPending(trx, 1_000_000));
      const names = async (who: string) => {
        const p = await people.find(ws, { kind: "id", value: who });
        return p ? (await people.events(ws, p.personId, { limit: 100 })).map((e) => e.name) : null;
      };
      const at = (n: number) => now - 100_000 + n;
      await apply(ws, [track({ kind: "id", value: "ix-a" }, "a1", { timestamp: at(1) }), track({ kind: "id", value: "ix-a" }, "a2", { timestamp: at(2) }), track({ kind: "anonymous_id", value: "ix-anon" }, "anon1", { timestamp: at(3) })]);
      await index();
      await apply(ws, [track({ kind: "id", value: "ix-a" }, "a3", { timestamp: at(4) }), track({ kind: "anonymous_id", value: "ix-anon" }, "anon2", { timestamp: at(5) })]);
      assert.deepEqual(await names("ix-a"), ["a3", "a2", "a1"]);
      // The anonymous events, one indexed-side and one in the tail, become B's.
      await apply(ws, [identify("ix-b", {}, { alsoKnownAs: [{ kind: "anonymous_id", value: "ix-anon" }] })]);
      assert.deepEqual(await names("ix-b"), ["anon2", "anon1"]);
      // B merged into A: A has everything, before and after the index catches up.
      await apply(ws, [{ op: "merge", primary: { kind: "id", value: "ix-a" }, secondary: { kind: "id", value: "ix-b" } }]);
      assert.deepEqual(await names("ix-a"), ["anon2", "a3", "anon1", "a2", "a1"]);
      await index();
      assert.deepEqual(await names("ix-a"), ["anon2", "a3", "anon1", "a2", "a1"]);
      const a = (await people.find(ws, { kind: "id", value: "ix-a" }))!;
      assert.deepEqual((await people.events(ws, a.personId, { names: ["a2", "anon1"], since: at(2), limit: 10 })).map((e) => e.name), ["anon1", "a2"]);
      await apply(ws, [{ op: "delete", who: { kind: "id", value: "ix-a" } }]);
      assert.equal(await names("ix-a"), null);
      if (store.dialect === "sqlite") {
        const left = await store.db.selectFrom("person_event_index").selectAll().where("person_id", "=", a.personId).execute();
        assert.deepEqual(left, []);
      }
      const rows = await store.db.selectFrom("person_events").select("id").where("person_id", "=", a.personId).execute();
      assert.deepEqual(rows, []);
    });

    test("concurrent requests share commits and each gets its own answer", async () => {
      const ops = Array.from({ length: 50 }, (_, i) => apply(ws, [track({ kind: "id", value: `c${i % 5}` }, "tick", { dedupeKey: `k${i}` })]));
      const results = await Promise.all(ops);
      assert.ok(results.every((r) => r[0]!.ok));
      let total = 0;
      for (let i = 0; i < 5; i++) {
        const p = await people.find(ws, { kind: "id", value: `c${i}` });
        total += (await people.events(ws, p!.personId, { limit: 100 })).length;
      }
      assert.equal(total, 50);
    });
  });
}
