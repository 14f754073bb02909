// Newsletters end to end, on SQLite and PostgreSQL: defined through the App API (Bearer app key),
// sent by the worker role through the real outreach mailer, accepted, and delivered by the MTA to
// an SMTP sink on loopback. Progress and metrics read back; a cancel mid-way; a scheduled one and a
// local-time one moved through time with a MovableClock; the workspace's message limits skipping
// (or not, with counts_toward_limit false) a second broadcast; the person's messages call; every
// bad input refused in Customer.io's form with the field; another workspace's key sees nothing.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { simpleParser } from "mailparser";
import { MAIN_JS, startTestServer, tempDir, type TestServer } from "./support/server.js";
import type { SmtpSink } from "./support/smtp-sink.js";
import { appApi, MovableClock, until, type AppApi } from "./support/segments.js";
import { startAppApiWorld, type AppApiWorld } from "./support/app-api-world.js";
import { serverDatabases } from "./support/stores.js";
import type { PersonOperation } from "../src/people/people.port.js";

const DAY = 86_400_000;

for (const database of serverDatabases()) {
  describe(`[${database.name}] newsletters through the App API to an SMTP sink`, () => {
    let sink: SmtpSink;
    let server: TestServer;
    let api: AppApi;
    let other: AppApi;
    let workspaceId: string;
    let world: AppApiWorld;
    const clock = new MovableClock();

    before(async () => {
      world = await startAppApiWorld(database, clock, { POSTHORN_RETRY_SCHEDULE: "300ms" });
      ({ sink, server, workspaceId, api, rival: other } = world);
    });
    after(async () => world.close());

    async function people(prefix: string, list: Array<{ name: string; timezone?: string; plan?: string }>): Promise<string> {
      const operations: PersonOperation[] = list.map((p) => ({
        op: "identify",
        who: { kind: "id", value: `${prefix}-${p.name}` },
        attributes: { first_name: p.name, plan: p.plan ?? prefix, ...(p.timezone ? { timezone: p.timezone } : {}) },
        alsoKnownAs: [{ kind: "email", value: `${prefix}-${p.name}@example.test` }],
      }));
      for (const r of await server.app.services.people.apply(workspaceId, operations, { atomic: true })) assert.ok(r.ok, JSON.stringify(r));
      const segment = await api.call("POST", "/segments", { segment: { name: `${prefix} readers` } });
      const segmentId = (segment.body.segment as { id: number }).id;
      await server.app.services.segments.addPeople(workspaceId, String(segmentId), list.map((p) => ({ kind: "id", value: `${prefix}-${p.name}` })));
      return String(segmentId);
    }

    const define = async (body: Record<string, unknown>) => {
      const created = await api.call("POST", "/broadcasts", { broadcast: { from: "news@shop.test", subject: "Hi {{ customer.first_name }}", text: "News for {{ customer.plan }}", ...body } });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      return created.body.broadcast as { id: number; state: string; progress: Record<string, unknown> };
    };
    const read = async (id: number) => {
      const got = await api.call("GET", `/broadcasts/${id}`);
      assert.equal(got.status, 200, JSON.stringify(got.body));
      return got.body.broadcast as { state: string; progress: { audience: number | null; handled: number; sent: number; skipped: number; failed: number }; metrics: Record<string, number> };
    };
    const finished = (id: number, state = "done") => until(`broadcast ${id} ${state}`, async () => ((await read(id)).state === state ? read(id) : false), 10_000);
    const delivered = async (prefix: string) => {
      const mine = [];
      for (const m of sink.messages) if (m.rcptTo.some((r) => r.startsWith(`${prefix}-`))) mine.push({ to: m.rcptTo[0]!, subject: (await simpleParser(m.raw)).subject });
      return mine.sort((a, b) => a.to.localeCompare(b.to));
    };

    test("a newsletter to a segment reaches each member once, personalised, with its progress and metrics", async () => {
      const segmentId = await people("nl", [{ name: "ada" }, { name: "bob" }, { name: "cy" }, { name: "dee" }, { name: "eve" }]);
      const b = await define({ name: "December", recipients: { segment: { id: Number(segmentId) } }, tag: "december" });
      assert.equal(b.state, "scheduled");
      assert.deepEqual((b as unknown as { recipients: unknown }).recipients, { segment: { id: Number(segmentId) } });
      const done = await finished(b.id);
      assert.deepEqual(done.progress, { audience: 5, handled: 5, sent: 5, skipped: 0, failed: 0 });
      await until("five messages at the sink", async () => (await delivered("nl")).length >= 5, 10_000);
      assert.deepEqual(await delivered("nl"), ["ada", "bob", "cy", "dee", "eve"].map((n) => ({ to: `nl-${n}@example.test`, subject: `Hi ${n}` })));
      assert.equal((await read(b.id)).metrics.sent, 5);
      const messages = await api.call("GET", "/customers/nl-ada/messages");
      assert.equal(messages.status, 200, JSON.stringify(messages.body));
      const [m] = messages.body.messages as Array<Record<string, unknown>>;
      assert.equal(m!.broadcast_id, b.id);
      assert.equal(m!.recipient, "nl-ada@example.test");
      assert.equal(m!.subject, "Hi ada");
      assert.equal(m!.type, "email");
      const listed = await api.call("GET", "/broadcasts");
      assert.ok((listed.body.broadcasts as Array<{ id: number }>).some((x) => x.id === b.id));
    });

    test("a broadcast of a stored template renders its model's Liquid for each person", async () => {
      const segmentId = await people("tpl", [{ name: "ann" }]);
      await server.app.services.templates.create(workspaceId, { name: "Digest", alias: "digest", subject: "Digest for {{name}}", textBody: "Plan: {{plan}}" });
      const b = await define({ name: "Digest", recipients: { segment: { id: Number(segmentId) } }, subject: undefined, text: undefined, template: "digest", model: { name: "{{ customer.first_name }}", plan: "{{ customer.plan }}" } });
      assert.deepEqual((await finished(b.id)).progress, { audience: 1, handled: 1, sent: 1, skipped: 0, failed: 0 });
      await until("the digest", async () => (await delivered("tpl")).length === 1, 10_000);
      assert.deepEqual(await delivered("tpl"), [{ to: "tpl-ann@example.test", subject: "Digest for ann" }]);
    });

    test("a throttled broadcast cancelled mid-way sends nothing after the cancel", async () => {
      const segmentId = await people("cx", [{ name: "a" }, { name: "b" }, { name: "c" }]);
      const b = await define({ name: "Slow", recipients: { segment: { id: Number(segmentId) } }, throttle_per_minute: 1 });
      await until("the first message", async () => (await read(b.id)).progress.handled === 1, 10_000);
      const cancelled = await api.call("POST", `/broadcasts/${b.id}/cancel`);
      assert.equal(cancelled.status, 200);
      assert.equal((cancelled.body.broadcast as { state: string }).state, "cancelled");
      clock.advance(5 * 60_000);
      await new Promise((r) => setTimeout(r, 1_500)); // more than a poll of the worker
      const after = await read(b.id);
      assert.equal(after.state, "cancelled");
      assert.deepEqual(after.progress, { audience: 3, handled: 1, sent: 1, skipped: 0, failed: 0 });
      const again = await api.call("POST", `/broadcasts/${b.id}/cancel`);
      assert.equal(again.status, 409);
      assert.match(String((again.body.meta as { error: string }).error), /cancelled/);
    });

    test("a scheduled broadcast waits for send_at; a local-time one reaches each timezone at its own 09:00", async () => {
      const segmentId = await people("tz", [{ name: "tokyo", timezone: "Asia/Tokyo" }, { name: "york", timezone: "America/New_York" }]);
      const later = await define({ name: "Later", recipients: { segment: { id: Number(segmentId) } }, schedule: { send_at: Math.floor((clock.now() + 2 * 3_600_000) / 1000) } });
      // Two days ahead, whatever today is: the day after tomorrow in UTC.
      const date = new Date(clock.now() + 2 * DAY).toISOString().slice(0, 10);
      const local = await define({ name: "Morning", recipients: { segment: { id: Number(segmentId) } }, schedule: { local: { date, time: "09:00", fallback: "Europe/Berlin" } } });
      await new Promise((r) => setTimeout(r, 1_500));
      assert.equal((await read(later.id)).state, "scheduled");
      assert.equal((await delivered("tz")).length, 0);
      clock.advance(2 * 3_600_000);
      await finished(later.id);
      await until("both got the scheduled one", async () => (await delivered("tz")).length === 2, 10_000);
      const tokyo = Date.parse(`${date}T00:00:00Z`); // 09:00 JST (UTC+9)
      const york = Date.parse(`${date}T14:00:00Z`); // 09:00 EST (UTC-5, December)
      clock.advance(tokyo - clock.now() + 1_000);
      await until("Tokyo's morning mail", async () => (await read(local.id)).progress.sent === 1, 10_000);
      assert.equal((await read(local.id)).state, "sending");
      await new Promise((r) => setTimeout(r, 1_500));
      assert.equal((await read(local.id)).progress.sent, 1, "New York is still asleep");
      clock.advance(york - clock.now() + 1_000);
      const done = await finished(local.id);
      assert.deepEqual(done.progress, { audience: 2, handled: 2, sent: 2, skipped: 0, failed: 0 });
      await until("four messages", async () => (await delivered("tz")).length === 4, 10_000);
    });

    test("broadcasts count toward the message limits: over the limit a person is skipped, unless the broadcast does not count", async () => {
      const segmentId = await people("cap", [{ name: "a" }, { name: "b" }]);
      await server.app.services.messageLimits.set(workspaceId, { caps: [{ count: 1, periodMs: 7 * DAY }], quietHours: null });
      try {
        const first = await define({ name: "One", recipients: { segment: { id: Number(segmentId) } } });
        assert.deepEqual((await finished(first.id)).progress, { audience: 2, handled: 2, sent: 2, skipped: 0, failed: 0 });
        const second = await define({ name: "Two", recipients: { segment: { id: Number(segmentId) } } });
        const skipped = await finished(second.id);
        assert.deepEqual(skipped.progress, { audience: 2, handled: 2, sent: 0, skipped: 2, failed: 0 });
        const free = await define({ name: "Three", recipients: { segment: { id: Number(segmentId) } }, counts_toward_limit: false });
        assert.deepEqual((await finished(free.id)).progress, { audience: 2, handled: 2, sent: 2, skipped: 0, failed: 0 });
      } finally {
        await server.app.services.messageLimits.set(workspaceId, { caps: [], quietHours: null });
      }
    });

    test("unsubscribed people, topic opt-outs and people without an address are skipped and counted, with the reason kept", async () => {
      const segmentId = await people("pol", [{ name: "in" }, { name: "out" }, { name: "topic" }]);
      const extra: PersonOperation[] = [
        { op: "identify", who: { kind: "id", value: "pol-out" }, attributes: {}, unsubscribed: true },
        { op: "identify", who: { kind: "id", value: "pol-topic" }, attributes: {}, topics: { topic_3: false } },
        { op: "identify", who: { kind: "id", value: "pol-none" }, attributes: { first_name: "none" } },
      ];
      for (const r of await server.app.services.people.apply(workspaceId, extra, { atomic: true })) assert.ok(r.ok, JSON.stringify(r));
      await server.app.services.segments.addPeople(workspaceId, segmentId, [{ kind: "id", value: "pol-none" }]);
      const b = await define({ name: "Policy", recipients: { segment: { id: Number(segmentId) } }, topic: "topic_3" });
      assert.deepEqual((await finished(b.id)).progress, { audience: 4, handled: 4, sent: 1, skipped: 3, failed: 0 });
      const reasons = (await server.app.services.broadcasts.recipients(workspaceId, String(b.id))).filter((r) => r.state === "skipped").map((r) => r.detail).sort();
      assert.deepEqual(reasons, ["no_email", "topic_unsubscribed", "unsubscribed"]);
      await until("the one message", async () => (await delivered("pol")).length === 1, 10_000);
      assert.equal((await delivered("pol"))[0]!.to, "pol-in@example.test");
    });

    test("an attribute filter is an audience too; a segment only under `or` is refused", async () => {
      await people("flt", [{ name: "a", plan: "pro" }, { name: "b", plan: "free" }]);
      const b = await define({ name: "Pros", recipients: { and: [{ attribute: { field: "plan", operator: "eq", value: "pro" } }] } });
      assert.deepEqual((await finished(b.id)).progress, { audience: 1, handled: 1, sent: 1, skipped: 0, failed: 0 });
      const refused = await api.call("POST", "/broadcasts", { broadcast: { name: "x", from: "a@shop.test", subject: "s", text: "t", recipients: { or: [{ segment: { id: 1 } }, { attribute: { field: "plan", operator: "exists" } }] } } });
      assert.equal(refused.status, 400);
      assert.equal((refused.body.errors as Array<{ field: string }>)[0]!.field, "broadcast.recipients");
    });

    test("bad definitions are refused with the field; unknown ids answer 404; another workspace sees nothing", async () => {
      const segmentId = await people("bad", [{ name: "a" }]);
      const good = { name: "ok", from: "a@shop.test", subject: "s", text: "t", recipients: { segment: { id: Number(segmentId) } } };
      const cases: Array<[unknown, string]> = [
        [{ ...good, name: "" }, "broadcast.name"],
        [{ ...good, name: "x".repeat(300) }, "broadcast.name"],
        [{ ...good, recipients: undefined }, "broadcast.recipients"],
        [{ ...good, recipients: { segment: { id: 999999 } } }, "broadcast.recipients"],
        [{ ...good, recipients: { segment: { id: "abc" } } }, "broadcast.recipients.segment.id"],
        [{ ...good, recipients: { attribute: { field: "plan", operator: "gt", value: 1 } } }, "broadcast.recipients.attribute.operator"],
        [{ ...good, recipients: { nope: {} } }, "broadcast.recipients.nope"],
        [{ ...good, subject: undefined }, "broadcast.subject"],
        [{ ...good, subject: "{% if %}" }, "broadcast.subject"],
        [{ ...good, text: undefined }, "broadcast.html"],
        [{ ...good, headers: { "bad name": "x" } }, "broadcast.headers.bad name"],
        [{ ...good, throttle_per_minute: 0 }, "broadcast.throttle_per_minute"],
        [{ ...good, throttle_per_minute: 1.5 }, "broadcast.throttle_per_minute"],
        [{ ...good, over_limit: "later" }, "broadcast.over_limit"],
        [{ ...good, topic: "news" }, "broadcast.topic"],
        [{ ...good, counts_toward_limit: "yes" }, "broadcast.counts_toward_limit"],
        [{ ...good, schedule: "tomorrow" }, "broadcast.schedule"],
        [{ ...good, schedule: { send_at: "soon" } }, "broadcast.schedule.send_at"],
        [{ ...good, schedule: { send_at: Math.floor(clock.now() / 1000) + 500 * 86_400 } }, "broadcast.schedule.send_at"],
        [{ ...good, schedule: { local: { date: "2026-13-01", time: "09:00", fallback: "UTC" } } }, "broadcast.schedule.local.date"],
        [{ ...good, schedule: { local: { date: "2026-12-24", time: "9am", fallback: "UTC" } } }, "broadcast.schedule.local.time"],
        [{ ...good, schedule: { local: { date: "2026-12-24", time: "09:00", fallback: "Moon/Base" } } }, "broadcast.schedule.local.fallback"],
        [{ ...good, template: "welcome" }, "broadcast.template"],
        ["just text", "broadcast"],
      ];
      for (const [broadcast, field] of cases) {
        const r = await api.call("POST", "/broadcasts", { broadcast });
        assert.equal(r.status, 400, `${field}: ${JSON.stringify(r.body)}`);
        assert.equal((r.body.errors as Array<{ field: string }>)[0]!.field, field, JSON.stringify(r.body));
        assert.equal(typeof (r.body.meta as { error: string }).error, "string");
      }
      assert.equal((await api.call("POST", "/broadcasts", { name: "no wrapper" })).status, 400);
      assert.equal((await api.call("GET", "/broadcasts/424242")).status, 404);
      assert.equal((await api.call("GET", "/broadcasts/abc")).status, 404);
      assert.equal((await api.call("POST", "/broadcasts/424242/cancel")).status, 404);
      assert.equal((await api.call("GET", "/broadcasts?limit=0")).status, 400);
      assert.equal((await api.call("GET", "/broadcasts?start=zzz")).status, 400);
      const mine = await define({ ...good, name: "mine", schedule: { send_at: Math.floor(clock.now() / 1000) + 86_400 } });
      assert.equal((await other.call("GET", `/broadcasts/${mine.id}`)).status, 404);
      assert.equal((await other.call("POST", `/broadcasts/${mine.id}/cancel`)).status, 404);
      assert.ok(!((await other.call("GET", "/broadcasts")).body.broadcasts as Array<{ id: number }>).some((x) => x.id === mine.id));
      assert.equal((await other.call("GET", "/customers/bad-a/messages")).status, 404);
      assert.equal((await api.call("GET", "/customers/nobody/messages")).status, 404);
      assert.equal((await api.call("GET", "/customers/bad-a/messages?limit=101")).status, 400);
      assert.equal((await api.call("POST", `/broadcasts/${mine.id}/cancel`)).status, 200);
    });
  });
}

test("posthorn token create --app prints only a new App API key, which the App API accepts", { timeout: 60_000 }, async () => {
  const dir = tempDir();
  try {
    const env = { PATH: process.env.PATH ?? "", POSTHORN_DATA_DIR: dir.path, LOG_LEVEL: "silent" };
    execFileSync(process.execPath, [MAIN_JS, "workspace", "create", "acme"], { env });
    const key = execFileSync(process.execPath, [MAIN_JS, "token", "create", "--app", "--workspace", "acme"], { env }).toString();
    assert.match(key, /^\S{20,}\n$/);
    const json = JSON.parse(execFileSync(process.execPath, [MAIN_JS, "token", "create", "--app", "--workspace", "acme", "--json"], { env }).toString()) as Record<string, string>;
    assert.deepEqual(Object.keys(json), ["appKey"]);
    assert.notEqual(json.appKey, key.trim());
    assert.throws(() => execFileSync(process.execPath, [MAIN_JS, "token", "create", "--app"], { env, stdio: "pipe" }), (err: { status: number }) => err.status === 2);
    assert.throws(() => execFileSync(process.execPath, [MAIN_JS, "token", "create", "--app", "--workspace", "nope"], { env, stdio: "pipe" }), (err: { status: number }) => err.status === 1);
    const server = await startTestServer({ POSTHORN_DATA_DIR: dir.path });
    try {
      const ok = await appApi(server.url, key.trim()).call("GET", "/broadcasts");
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, { broadcasts: [], next: "" });
    } finally {
      await server.app.stop();
    }
  } finally {
    dir.remove();
  }
});
