// The people service's other operations and reads on each database: every limit (a coded error
// naming the field, nothing written), atomic and non-atomic requests, merge, delete, suppress,
// devices, objects and relationships, unsubscribe by delivery, the activity timeline's paging,
// and search.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { storeTargets } from "../../test/support/stores.js";
import type { Store } from "../store/store.js";
import { WorkspacesService } from "../workspaces/workspaces.service.js";
import { EventsRepository, toEvents } from "../events/events.repository.js";
import { Outbox } from "../events/outbox.js";
import { PeopleService } from "./people.service.js";
import type { OperationResult, PersonIdentifier, PersonOperation } from "./people.port.js";
import { peopleServiceFor, TEST_DELIVERY_ID_KEY } from "./testing/people-service.js";
import { PublicDeliveryIds } from "../messages/public-delivery-ids.js";


for (const target of storeTargets()) {
  describe(`people operations (${target.name})`, () => {
    let store: Store;
    let people: PeopleService;
    let ws: string;
    let other: string;
    let now = 1_700_000_000_000;

    before(async () => {
      store = await target.open();
      const clock = { now: () => now };
      const workspaces = new WorkspacesService({ store, clock });
      ws = (await workspaces.create("a", { sandbox: true })).workspace.id;
      other = (await workspaces.create("b", { sandbox: true })).workspace.id;
      const outbox = new Outbox({ repository: new EventsRepository(store.dialect), clock });
      people = peopleServiceFor(store, clock, { outbox });
    });

    after(async () => {
      await store.close();
    });

    const id = (value: string): PersonIdentifier => ({ kind: "id", value });
    const identify = (who: string, attributes: Record<string, unknown>): PersonOperation => ({ op: "identify", who: id(who), attributes });
    const track = (who: string, name: string, data: Record<string, unknown> = {}): PersonOperation => ({ op: "track", who: id(who), event: { name, type: "event", dedupeKey: null, timestamp: null, data } });
    const refused = (r: OperationResult | undefined) => {
      assert.ok(r && !r.ok, `expected a refusal, got ${JSON.stringify(r)}`);
      return r as Extract<OperationResult, { ok: false }>;
    };
    async function outbox(type: string, personId: string) {
      const rows = await store.db.selectFrom("events").selectAll().where("type", "=", type).where("workspace_id", "=", ws).orderBy("id").execute();
      return rows.flatMap(toEvents).filter((e) => (e.data as { personId?: string }).personId === personId);
    }

    test("every limit is refused with its code and field, and nothing of the operation is written", async () => {
      const cases: Array<[PersonOperation, string, string | null]> = [
        [identify("x".repeat(151), {}), "PEOPLE_IDENTIFIER_TOO_LARGE", "id"],
        [{ op: "identify", who: { kind: "email", value: `${"é".repeat(73)}@x.io` }, attributes: {} }, "PEOPLE_IDENTIFIER_TOO_LARGE", "email"],
        [identify("", {}), "PEOPLE_IDENTIFIER_INVALID", "id"],
        [{ op: "identify", who: { kind: "email", value: "not-an-address" }, attributes: {} }, "PEOPLE_IDENTIFIER_INVALID", "email"],
        [identify("lim", { ["n".repeat(151)]: 1 }), "PEOPLE_ATTRIBUTE_NAME_TOO_LARGE", "n".repeat(151)],
        [identify("lim", { email: `${"e".repeat(150)}@x.io` }), "PEOPLE_IDENTIFIER_TOO_LARGE", "email"],
        [identify("lim", { email: "nobody" }), "PEOPLE_IDENTIFIER_INVALID", "email"],
        [{ op: "identify", who: id("lim"), attributes: {}, unsubscribed: "yes" as unknown as boolean }, "PEOPLE_FIELD_INVALID", "unsubscribed"],
        [identify("lim", { big: "v".repeat(999) }), "PEOPLE_ATTRIBUTE_VALUE_TOO_LARGE", "big"],
        [identify("lim", Object.fromEntries(Array.from({ length: 301 }, (_, i) => [`a${i}`, i]))), "PEOPLE_ATTRIBUTES_LIMIT", "attributes"],
        [track("lim", "e".repeat(101)), "PEOPLE_EVENT_NAME_TOO_LARGE", "name"],
        // Sizes are UTF-8 bytes: 34 three-byte characters are 102 bytes, 51 are 153.
        [track("lim", "€".repeat(34)), "PEOPLE_EVENT_NAME_TOO_LARGE", "name"],
        [identify("lim", { ["€".repeat(51)]: 1 }), "PEOPLE_ATTRIBUTE_NAME_TOO_LARGE", "€".repeat(51)],
        [track("lim", "big", { blob: "€".repeat(33_330) }), "PEOPLE_EVENT_DATA_TOO_LARGE", "data"],
        [track("lim", ""), "PEOPLE_EVENT_NAME_INVALID", "name"],
        [track("lim", "big", { blob: "d".repeat(100_000) }), "PEOPLE_EVENT_DATA_TOO_LARGE", "data"],
        [{ op: "add_device", who: id("lim"), device: { deviceId: "t".repeat(151), platform: "ios", lastUsedAt: null, attributes: {} } }, "PEOPLE_IDENTIFIER_TOO_LARGE", "device.id"],
        [{ op: "add_device", who: id("lim"), device: { deviceId: "tok", platform: "", lastUsedAt: null, attributes: {} } }, "PEOPLE_FIELD_INVALID", "platform"],
        [{ op: "identify_object", object: { typeId: "1", objectId: "o".repeat(151) }, attributes: {} }, "PEOPLE_IDENTIFIER_TOO_LARGE", "object_id"],
        [{ op: "track", who: id("lim"), event: { name: "x", type: "click" as "event", dedupeKey: null, timestamp: null, data: {} } }, "PEOPLE_FIELD_INVALID", "type"],
        [{ op: "identify", who: { kind: "cio_id", value: "no-such-person" }, attributes: { a: 1 } }, "PEOPLE_NOT_FOUND", "cio_id"],
      ];
      for (const [op, code, field] of cases) {
        const r = refused((await people.apply(ws, [op]))[0]);
        assert.equal(r.code, code, JSON.stringify(op).slice(0, 80));
        assert.equal(r.field, field, code);
      }
      assert.equal(await people.find(ws, id("lim")), null, "no refused operation created the person");
      // At the limits exactly, everything is accepted: 150-byte id, 1,000-byte value, 300 attributes, 100-byte name.
      const atLimit = await people.apply(ws, [
        identify("i".repeat(150), { v: "v".repeat(998), ...Object.fromEntries(Array.from({ length: 299 }, (_, i) => [`a${i}`, i])) }),
        track("i".repeat(150), "e".repeat(100), { blob: "d".repeat(99_980) }),
        track("i".repeat(150), "€".repeat(33), { blob: "€".repeat(33_320) }),
      ]);
      assert.ok(atLimit.every((r) => r.ok), JSON.stringify(atLimit));
      // 300 kept + 1 new is over the limit, counted after the merge of old and new.
      const over = refused((await people.apply(ws, [identify("i".repeat(150), { one_more: true })]))[0]);
      assert.equal(over.code, "PEOPLE_ATTRIBUTES_LIMIT");
      // Removing one and adding one in the same identify stays at 300.
      assert.equal((await people.apply(ws, [identify("i".repeat(150), { a0: null, one_more: true })]))[0]!.ok, true);
    });

    test("operations of the wrong shape are refused one by one, never thrown", async () => {
      const garbage = [
        null,
        "identify",
        { op: "explode" },
        { op: "identify" },
        { op: "identify", who: { kind: "nickname", value: "x" }, attributes: {} },
        { op: "identify", who: id("g"), attributes: [] },
        { op: "identify", who: id("g"), attributes: {}, alsoKnownAs: "g@x.io" },
        { op: "identify", who: id("g"), attributes: {}, topics: { topic_1: "yes" } },
        { op: "track", who: id("g") },
        { op: "track", who: id("g"), event: { name: "e", type: "event", dedupeKey: null, timestamp: "noon", data: {} } },
        { op: "track", who: id("g"), event: { name: "e", type: "event", dedupeKey: null, timestamp: null, data: [1] } },
        { op: "track", who: { kind: "id", value: 42 }, event: { name: "e", type: "event", dedupeKey: null, timestamp: null, data: {} } },
        { op: "add_device", who: id("g") },
        { op: "merge", primary: id("g") },
        { op: "relate", who: id("g"), object: null, attributes: {} },
      ] as unknown as PersonOperation[];
      const results = await people.apply(ws, garbage);
      assert.equal(results.length, garbage.length);
      for (const [i, r] of results.entries()) assert.equal(r.ok, false, `operation ${i} ${JSON.stringify(garbage[i])}`);
      assert.equal(await people.find(ws, id("g")), null);
    });

    test("a non-atomic request applies the good operations and skips the bad; an atomic one applies none", async () => {
      const results = await people.apply(ws, [identify("nb1", { a: 1 }), identify("x".repeat(200), {}), track("nb1", "ok")]);
      assert.deepEqual(results.map((r) => r.ok), [true, false, true]);
      assert.ok(await people.find(ws, id("nb1")));
      const atomic = await people.apply(ws, [identify("at1", { a: 1 }), track("at1", "e".repeat(101))], { atomic: true });
      assert.deepEqual(atomic.map((r) => r.ok), [false, false]);
      assert.equal(await people.find(ws, id("at1")), null);
      // Refused by the database-side checks too (a conflict found while applying).
      await people.apply(ws, [{ op: "identify", who: id("owner"), attributes: {}, alsoKnownAs: [{ kind: "email", value: "taken@x.io" }] }]);
      const late = await people.apply(ws, [identify("at2", { a: 1 }), { op: "identify", who: id("at2"), attributes: {}, alsoKnownAs: [{ kind: "email", value: "taken@x.io" }] }], { atomic: true });
      assert.deepEqual(late.map((r) => (r.ok ? "ok" : r.code)), ["PEOPLE_IDENTIFIER_CONFLICT", "PEOPLE_IDENTIFIER_CONFLICT"]);
      assert.equal(await people.find(ws, id("at2")), null);
    });

    test("merge moves identifiers, events, devices and missing attributes to the primary and deletes the secondary", async () => {
      await people.apply(ws, [
        { op: "identify", who: id("prim"), attributes: { plan: "pro", shared: "primary's" } },
        { op: "identify", who: { kind: "email", value: "sec@x.io" }, attributes: { shared: "secondary's", only_sec: 1 } },
        { op: "track", who: { kind: "email", value: "sec@x.io" }, event: { name: "sec-event", type: "event", dedupeKey: null, timestamp: null, data: {} } },
        { op: "add_device", who: { kind: "email", value: "sec@x.io" }, device: { deviceId: "dev-sec", platform: "ios", lastUsedAt: 5, attributes: { app_version: "1" } } },
      ]);
      const secondary = (await people.find(ws, { kind: "email", value: "sec@x.io" }))!;
      const [r] = await people.apply(ws, [{ op: "merge", primary: id("prim"), secondary: { kind: "email", value: "sec@x.io" } }]);
      const primary = (await people.find(ws, id("prim")))!;
      assert.deepEqual(r, { ok: true, personId: primary.personId });
      assert.equal(primary.email, "sec@x.io");
      assert.deepEqual(primary.attributes, { plan: "pro", shared: "primary's", only_sec: 1 });
      assert.deepEqual(primary.devices.map((d) => d.deviceId), ["dev-sec"]);
      assert.deepEqual((await people.events(ws, primary.personId, { limit: 10 })).map((e) => e.name), ["sec-event"]);
      assert.equal(await people.get(ws, secondary.personId), null);
      assert.deepEqual((await outbox("person.merged", primary.personId)).map((e) => e.data), [{ personId: primary.personId, mergedId: secondary.personId, anonymousId: null }]);
      assert.equal((await outbox("person.deleted", secondary.personId)).length, 1);
      // A merge whose primary does not exist is refused; one whose secondary does not is a no-op.
      assert.equal(refused((await people.apply(ws, [{ op: "merge", primary: id("nobody"), secondary: id("prim") }]))[0]).field, "primary");
      assert.deepEqual((await people.apply(ws, [{ op: "merge", primary: id("prim"), secondary: id("nobody") }]))[0], { ok: true, personId: primary.personId });
    });

    test("delete removes the person, their identifiers and events; the id can be used again for a new person", async () => {
      const [r] = await people.apply(ws, [identify("del", { a: 1 }), track("del", "e1")]);
      const personId = (r as { personId: string }).personId;
      assert.deepEqual((await people.apply(ws, [{ op: "delete", who: id("del") }]))[0], { ok: true, personId });
      assert.equal(await people.get(ws, personId), null);
      assert.deepEqual(await people.events(ws, personId, { limit: 10 }), []);
      assert.equal((await outbox("person.deleted", personId)).length, 1);
      const count = await store.db.selectFrom("person_events").select((eb) => eb.fn.countAll<number>().as("n")).where("person_id", "=", personId).executeTakeFirstOrThrow();
      assert.equal(Number(count.n), 0);
      assert.deepEqual((await people.apply(ws, [{ op: "delete", who: id("del") }]))[0], { ok: true, personId: null });
      const [again] = await people.apply(ws, [identify("del", { b: 2 })]);
      assert.notEqual((again as { personId: string }).personId, personId);
    });

    test("a suppressed person's data is forgotten and later calls naming them are dropped until unsuppressed", async () => {
      const [r] = await people.apply(ws, [identify("sup", { a: 1 }), track("sup", "before")]);
      const personId = (r as { personId: string }).personId;
      await people.apply(ws, [{ op: "suppress", who: id("sup") }]);
      let person = (await people.get(ws, personId))!;
      assert.equal(person.suppressed, true);
      assert.deepEqual(person.attributes, {});
      assert.deepEqual(await people.events(ws, personId, { limit: 10 }), []);
      const dropped = await people.apply(ws, [identify("sup", { b: 2 }), track("sup", "after")]);
      assert.deepEqual(dropped, [{ ok: true, personId }, { ok: true, personId }]);
      assert.deepEqual((await people.get(ws, personId))!.attributes, {});
      assert.deepEqual(await people.events(ws, personId, { limit: 10 }), []);
      assert.deepEqual((await outbox("person.suppressed", personId)).map((e) => (e.data as { suppressed: boolean }).suppressed), [true]);
      await people.apply(ws, [{ op: "unsuppress", who: id("sup") }]);
      await people.apply(ws, [identify("sup", { c: 3 })]);
      person = (await people.get(ws, personId))!;
      assert.equal(person.suppressed, false);
      assert.deepEqual(person.attributes, { c: 3 });
      // An unknown id is suppressed all the same, so it cannot be added later.
      await people.apply(ws, [{ op: "suppress", who: id("never-seen") }]);
      await people.apply(ws, [identify("never-seen", { a: 1 })]);
      const blocked = (await people.find(ws, id("never-seen")))!;
      assert.equal(blocked.suppressed, true);
      assert.deepEqual(blocked.attributes, {});
    });

    test("devices are added, updated, moved to whoever adds the token last, and deleted", async () => {
      const device = (deviceId: string, platform: string, attributes: Record<string, unknown> = {}) => ({ deviceId, platform, lastUsedAt: now, attributes });
      await people.apply(ws, [{ op: "add_device", who: id("dev1"), device: device("tok1", "ios", { app_version: "1.0" }) }]);
      await people.apply(ws, [{ op: "add_device", who: id("dev1"), device: device("tok1", "ios", { app_version: "1.1" }) }]);
      let p1 = (await people.find(ws, id("dev1")))!;
      assert.deepEqual(p1.devices, [{ deviceId: "tok1", platform: "ios", attributes: { app_version: "1.1" }, lastUsedAt: now }]);
      await people.apply(ws, [{ op: "add_device", who: id("dev2"), device: device("tok1", "android") }]);
      p1 = (await people.find(ws, id("dev1")))!;
      assert.deepEqual(p1.devices, []);
      const p2 = (await people.find(ws, id("dev2")))!;
      assert.deepEqual(p2.devices.map((d) => d.platform), ["android"]);
      // Deleting through a person who does not hold the token changes nothing.
      await people.apply(ws, [{ op: "delete_device", who: id("dev1"), deviceId: "tok1" }]);
      assert.equal((await people.find(ws, id("dev2")))!.devices.length, 1);
      await people.apply(ws, [{ op: "delete_device", who: id("dev2"), deviceId: "tok1" }]);
      assert.deepEqual((await people.find(ws, id("dev2")))!.devices, []);
      const changed = await outbox("person.device-changed", p2.personId);
      assert.deepEqual(changed.map((e) => (e.data as { removed: boolean }).removed), [false, true]);
    });

    test("objects carry attributes; relationships tie people to them and go with a deleted object", async () => {
      const company = { typeId: "1", objectId: "acme" };
      await people.apply(ws, [{ op: "identify_object", object: company, attributes: { name: "Acme", size: 10 } }]);
      await people.apply(ws, [{ op: "identify_object", object: company, attributes: { size: null, city: "Oslo" } }]);
      const row = await store.db.selectFrom("objects").select("attributes_json").where("workspace_id", "=", ws).where("object_id", "=", "acme").executeTakeFirstOrThrow();
      assert.deepEqual(JSON.parse(row.attributes_json), { name: "Acme", city: "Oslo" });
      await people.apply(ws, [{ op: "relate", who: id("emp"), object: company, attributes: { role: "admin" } }, { op: "relate", who: id("emp"), object: { typeId: "1", objectId: "new-co" }, attributes: {} }]);
      const emp = (await people.find(ws, id("emp")))!;
      const rels = () => store.db.selectFrom("relationships").select(["object_id", "attributes_json"]).where("person_id", "=", emp.personId).orderBy("object_id").execute();
      assert.deepEqual(await rels(), [{ object_id: "acme", attributes_json: '{"role":"admin"}' }, { object_id: "new-co", attributes_json: "{}" }]);
      await people.apply(ws, [{ op: "unrelate", who: id("emp"), object: { typeId: "1", objectId: "new-co" } }]);
      await people.apply(ws, [{ op: "delete_object", object: company }]);
      assert.deepEqual(await rels(), []);
      // Objects are per workspace.
      assert.equal((await store.db.selectFrom("objects").selectAll().where("workspace_id", "=", other).execute()).length, 0);
    });

    test("unsubscribe by delivery unsubscribes the recipient in the delivery's workspace; unknown ids answer false", async () => {
      await store.write(async (trx) => {
        await trx
          .insertInto("messages")
          .values({
            id: "m-unsub",
            workspace_id: ws,
            stream: "outbound",
            envelope_from: "a@x.io",
            from_json: "{}",
            to_json: "[]",
            cc_json: "[]",
            bcc_json: "[]",
            subject: "s",
            tag: null,
            metadata_json: "{}",
            track_opens: 0,
            track_links: "none",
            attachments_json: "[]",
            text_body: "t",
            html_body: null,
            mime: Buffer.from("x"),
            sandboxed: 0,
            state: "queued",
            created_at: now,
          })
          .execute();
        await trx.insertInto("deliveries").values({ id: 987_654, message_id: "m-unsub", workspace_id: ws, recipient: "Reader@X.io", domain: "x.io", state: "delivered", attempts: 1, next_attempt_at: now, lease_owner: null, last_reply: null, created_at: now, updated_at: now }).execute();
      });
      await people.apply(ws, [{ op: "identify", who: id("reader"), attributes: {}, alsoKnownAs: [{ kind: "email", value: "reader@x.io" }] }]);
      const publicIds = new PublicDeliveryIds(TEST_DELIVERY_ID_KEY);
      assert.equal(await people.unsubscribeByDelivery("987654"), false, "a bare row id is not taken: it could be counted");
      assert.equal(await people.unsubscribeByDelivery(publicIds.format(987_654)), true);
      const reader = (await people.find(ws, id("reader")))!;
      assert.equal(reader.unsubscribed, true);
      const identified = await outbox("person.identified", reader.personId);
      assert.deepEqual((identified.at(-1)!.data as { changes: unknown }).changes, { unsubscribed: { from: false, to: true } });
      assert.equal(await people.unsubscribeByDelivery(publicIds.format(123)), false, "signed, but no such delivery");
      assert.equal(await people.unsubscribeByDelivery("abc"), false);
      assert.equal(await people.unsubscribeByDelivery("99999999999999999999"), false);
      assert.equal(await people.find(other, { kind: "email", value: "reader@x.io" }), null);
    });

    test("activity pages through events and attribute changes, newest first, without gaps or repeats", async () => {
      const [r] = await people.apply(ws, [identify("act", { step: 0 })]);
      const personId = (r as { personId: string }).personId;
      for (let i = 1; i <= 6; i++) {
        now += 1000;
        await people.apply(ws, [identify("act", { step: i }), track("act", `e${i}`)]);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await people.activity(ws, personId, { limit: 4, cursor });
        assert.ok(page.items.length <= 4);
        seen.push(...page.items.map((i) => (i.kind === "event" ? `event:${String(i.detail.name)}` : `change:${String(i.detail.name)}=${JSON.stringify(i.detail.to)}`)));
        cursor = page.next;
      } while (cursor);
      // 1 id + 7 step changes and 6 events; at the same time events come first.
      assert.equal(seen.length, 14);
      assert.equal(new Set(seen).size, seen.length);
      assert.deepEqual(seen.slice(0, 2), ["event:e6", "change:step=6"]);
      assert.deepEqual(seen.slice(-2), ["change:step=0", 'change:id="act"']);
      assert.deepEqual((await people.activity(other, personId, { limit: 4, cursor: null })).items, []);
    });

    test("search filters by attributes with and/or/not, eq and exists, paged by person", async () => {
      const sws = (await new WorkspacesService({ store, clock: { now: () => now } }).create("search", { sandbox: true })).workspace.id;
      await people.apply(sws, Array.from({ length: 25 }, (_, i) => ({ op: "identify" as const, who: id(`s${i}`), attributes: { n: i, even: i % 2 === 0, ...(i % 5 === 0 ? { vip: "yes" } : {}) } })));
      const all = async (filter: Parameters<PeopleService["search"]>[1]) => {
        const found: string[] = [];
        let cursor: string | null = null;
        do {
          const page = await people.search(sws, filter, { limit: 3, cursor });
          found.push(...page.items.map((p) => p.id!));
          cursor = page.next;
        } while (cursor);
        return found.sort();
      };
      assert.deepEqual(await all({ attribute: { field: "vip", operator: "exists" } }), ["s0", "s10", "s15", "s20", "s5"]);
      assert.deepEqual(await all({ and: [{ attribute: { field: "vip", operator: "exists" } }, { attribute: { field: "even", operator: "eq", value: true } }] }), ["s0", "s10", "s20"]);
      assert.deepEqual(await all({ or: [{ attribute: { field: "n", operator: "eq", value: "3" } }, { attribute: { field: "id", operator: "eq", value: "s4" } }] }), ["s3", "s4"]);
      assert.equal((await all({ not: { attribute: { field: "vip", operator: "exists" } } })).length, 20);
      assert.deepEqual(await all({ attribute: { field: "n", operator: "eq", value: 99 } }), []);
      assert.deepEqual((await people.search(other, { attribute: { field: "vip", operator: "exists" } }, { limit: 10, cursor: null })).items, []);
    });
  });
}
