// The dashboard's people, segments and journeys calls over real HTTP on SQLite and PostgreSQL:
// search with keyset paging, a person's record and one timeline (events, attribute changes, a
// segment entered, a journey entered) paged by time without losing or repeating an item; segments
// with sizes, size over time and members; journeys with their step tree, counts, versions, a
// person's path, documents checked with the path of the bad field, a new version by an admin; and
// the refusals: bad input (400), a viewer's change (403), another workspace (403) or its data (404),
// and no session (401).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./support/server.js";
import { serverDatabases } from "./support/stores.js";
import { until } from "./support/segments.js";
import type { PeopleAnswer, PersonAnswer, TimelineAnswer, TimelineItem } from "../src/api/dashboard/people.contract.js";
import type { MembersAnswer, SegmentAnswer, SegmentsAnswer, SizesAnswer } from "../src/api/dashboard/segments.contract.js";
import type { CheckAnswer, JourneyAnswer, JourneysAnswer, MetricsAnswer, PathAnswer, VersionsAnswer } from "../src/api/dashboard/journeys.contract.js";

const PASSWORD = "correct horse battery staple";

interface Caller {
  call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T & { error?: { code: string; message: string } } }>;
}

async function signIn(url: string, email: string): Promise<Caller> {
  const res = await fetch(`${url}/api/app/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: PASSWORD }) });
  assert.equal(res.status, 200);
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0]!;
  return {
    async call(method, path, body) {
      const r = await fetch(`${url}/api/app${path}`, {
        method,
        headers: { cookie, "x-csrf-token": csrfToken, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: r.status, body: (r.status === 204 ? {} : await r.json()) as never };
    },
  };
}

const journeyDoc = (segmentId: string) => ({
  name: "Pro welcome",
  trigger: { segment: { id: segmentId, on: "entered" } },
  defaults: { from: "hello@shop.test" },
  steps: [
    { id: "pause", type: "delay", duration: "1d" },
    { id: "hello", type: "email", subject: "Hi {{ customer.first_name }}", text: "Welcome" },
  ],
});

for (const database of serverDatabases()) {
  describe(`[${database.name}] dashboard API: people, segments, journeys`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;
    let admin: Caller;
    let viewer: Caller;
    let shop = "";
    let rival = "";
    let segmentId = "";
    let journeyId = "";
    let ada = "";
    let stranger = "";

    before(async () => {
      const db = await database.open();
      drop = db.drop;
      server = await startTestServer({ ...db.env });
      const services = server.app.services;
      await server.createWorkspace("shop");
      await server.createWorkspace("rival");
      shop = (await services.workspaces.get("shop")).id;
      rival = (await services.workspaces.get("rival")).id;
      await services.users.create({ email: "admin@example.com", password: PASSWORD, role: "admin", workspaces: ["shop"] });
      await services.users.create({ email: "viewer@example.com", password: PASSWORD, role: "viewer", workspaces: ["shop"] });
      admin = await signIn(server.url, "admin@example.com");
      viewer = await signIn(server.url, "viewer@example.com");

      const segment = await services.segments.create(shop, { name: "Pro plan", description: "people on pro", conditions: { attribute: { field: "plan", operator: "eq", value: "pro" } } });
      segmentId = segment.segmentId;
      await until("the segment filled", () => services.segments.filled(shop, segmentId), 10_000);
      journeyId = (await services.journeys.create(shop, journeyDoc(segmentId), { state: "live" })).journeyId;
      // Mails at once on an event, so the timeline has a message to link to.
      const pricing = { name: "Pricing nudge", trigger: { event: { name: "viewed_pricing" } }, defaults: { from: "hello@shop.test" }, steps: [{ id: "nudge", type: "email", subject: "About pricing", text: "Questions?" }] };
      await services.journeys.create(shop, pricing, { state: "live" });

      const identify = (id: string, attributes: Record<string, unknown>) => ({ op: "identify" as const, who: { kind: "id" as const, value: id }, attributes, alsoKnownAs: [{ kind: "email" as const, value: `${id}@example.test` }] });
      for (const [id, plan] of [["ada", "free"], ["bob", "free"], ["cy", "basic"]] as const) assert.ok((await services.people.apply(shop, [identify(id, { plan, first_name: id })], { atomic: true }))[0]!.ok);
      assert.ok((await services.people.apply(shop, [{ op: "track", who: { kind: "id", value: "ada" }, event: { name: "viewed_pricing", type: "event", dedupeKey: null, timestamp: null, data: { page: "/pricing" } } }], { atomic: true }))[0]!.ok);
      assert.ok((await services.people.apply(shop, [identify("ada", { plan: "pro" })], { atomic: true }))[0]!.ok);
      const [r] = await services.people.apply(rival, [identify("mallory", { plan: "pro" })], { atomic: true });
      stranger = (r as { personId: string }).personId;
      ada = (await services.people.find(shop, { kind: "id", value: "ada" }))!.personId;
      await until("ada in both journeys", async () => (await services.journeys.runsOf(shop, ada, { limit: 10, cursor: null })).items.length === 2, 10_000);
      await until("the nudge sent", async () => (await services.outreachLedger.messagesOf(shop, ada, { limit: 5, cursor: null })).items.length > 0, 10_000);
    });
    after(async () => {
      await server?.close();
      await drop?.();
    });

    it("answers 401 without a session and 403 for a workspace the session is not granted", async () => {
      const res = await fetch(`${server.url}/api/app/workspaces/${shop}/people`);
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "SESSION_REQUIRED");
      for (const path of ["people", "segments", "journeys", `people/${stranger}`]) {
        const refused = await admin.call("GET", `/workspaces/${rival}/${path}`);
        assert.equal(refused.status, 403, path);
        assert.equal(refused.body.error?.code, "NOT_PERMITTED");
      }
    });

    it("searches people by cio_id, id or email prefix (attribute values when asked), a page at a time", async () => {
      const byId = await admin.call<PeopleAnswer>("GET", `/workspaces/${shop}/people?q=ad`);
      assert.equal(byId.status, 200);
      assert.deepEqual(byId.body.people.map((p) => p.id), ["ada"]);
      assert.deepEqual((await admin.call<PeopleAnswer>("GET", `/workspaces/${shop}/people?q=BOB@EXAMPLE`)).body.people.map((p) => p.id), ["bob"]);
      assert.deepEqual((await admin.call<PeopleAnswer>("GET", `/workspaces/${shop}/people?q=bas`)).body.people.map((p) => p.id), [], "attribute values only when asked");
      assert.deepEqual((await admin.call<PeopleAnswer>("GET", `/workspaces/${shop}/people?q=bas&in=attributes`)).body.people.map((p) => p.id), ["cy"]);
      assert.equal((await admin.call("GET", `/workspaces/${shop}/people?q=bas&in=everything`)).status, 400);
      assert.deepEqual((await admin.call<PeopleAnswer>("GET", `/workspaces/${shop}/people?q=${ada}`)).body.people.map((p) => p.id), ["ada"]);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: PeopleAnswer } = await viewer.call<PeopleAnswer>("GET", `/workspaces/${shop}/people?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
        assert.ok(page.body.people.length <= 2);
        seen.push(...page.body.people.map((p) => p.id ?? ""));
        cursor = page.body.next;
      } while (cursor);
      assert.deepEqual(seen.sort(), ["ada", "bob", "cy"], "every person once; none of another workspace");
      const bad = await admin.call("GET", `/workspaces/${shop}/people?limit=0`);
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error?.code, "DASHBOARD_REQUEST_INVALID");
      assert.match(bad.body.error?.message ?? "", /limit/);
    });

    it("shows a person with attributes, identifiers, segments and runs; another workspace's person is not found", async () => {
      const res = await viewer.call<PersonAnswer>("GET", `/workspaces/${shop}/people/${ada}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.person.email, "ada@example.test");
      assert.equal(res.body.person.attributes.plan, "pro");
      assert.deepEqual(res.body.segments.map((s) => s.name), ["Pro plan"]);
      const welcome = res.body.runs.find((r) => r.journeyName === "Pro welcome");
      assert.equal(welcome?.stepId, "pause");
      assert.equal(welcome?.state, "waiting");
      assert.deepEqual(res.body.runs.map((r) => r.journeyName).sort(), ["Pricing nudge", "Pro welcome"]);
      const foreign = await admin.call("GET", `/workspaces/${shop}/people/${stranger}`);
      assert.equal(foreign.status, 404);
      assert.equal(foreign.body.error?.code, "PEOPLE_NOT_FOUND");
      assert.equal((await admin.call("GET", `/workspaces/${shop}/people/${stranger}/timeline`)).status, 404);
    });

    it("gives one timeline, newest first, paged by time without losing or repeating an item", async () => {
      const whole = await admin.call<TimelineAnswer>("GET", `/workspaces/${shop}/people/${ada}/timeline?limit=200`);
      assert.equal(whole.status, 200);
      const kinds = new Set(whole.body.items.map((i) => i.kind));
      for (const kind of ["event", "attribute_change", "segment_entered", "journey_entered", "journey_step", "message"]) assert.ok(kinds.has(kind as TimelineItem["kind"]), `${kind} in ${[...kinds].join(", ")}`);
      assert.ok(whole.body.items.some((i) => i.title === "plan: free → pro"), JSON.stringify(whole.body.items.map((i) => i.title)));
      assert.ok(whole.body.items.some((i) => i.kind === "segment_entered" && i.title === "Entered segment Pro plan" && i.link?.kind === "segment"));
      const message = whole.body.items.find((i) => i.kind === "message");
      assert.equal(message?.title, "Message: About pricing");
      assert.ok(message?.link?.kind === "message" && message.link.messageId.length > 0, JSON.stringify(message));
      assert.ok(whole.body.items.some((i) => i.kind === "journey_step" && i.title.startsWith("Pricing nudge: step nudge")), JSON.stringify(whole.body.items.map((i) => i.title)));
      const times = whole.body.items.map((i) => i.at);
      assert.deepEqual(times, [...times].sort((a, b) => b - a));
      assert.equal(whole.body.next, null);

      const paged: TimelineItem[] = [];
      let before: number | null = null;
      for (let pages = 0; pages < 50; pages++) {
        const page: { status: number; body: TimelineAnswer } = await admin.call<TimelineAnswer>("GET", `/workspaces/${shop}/people/${ada}/timeline?limit=2${before !== null ? `&before=${before}` : ""}`);
        assert.equal(page.status, 200);
        paged.push(...page.body.items);
        before = page.body.next;
        if (before === null) break;
      }
      const key = (i: TimelineItem) => `${i.kind} ${i.at} ${i.title}`;
      assert.deepEqual(paged.map(key).sort(), whole.body.items.map(key).sort());
      assert.equal((await admin.call("GET", `/workspaces/${shop}/people/${ada}/timeline?before=soon`)).status, 400);
    });

    it("lists segments with sizes and shows one with its definition, size over time and members", async () => {
      const list = await viewer.call<SegmentsAnswer>("GET", `/workspaces/${shop}/segments`);
      assert.equal(list.status, 200);
      assert.deepEqual(list.body.segments.map((s) => [s.name, s.kind, s.size]), [["Pro plan", "data", 1]]);
      const one = await viewer.call<SegmentAnswer>("GET", `/workspaces/${shop}/segments/${segmentId}`);
      assert.deepEqual(one.body.segment.conditions, { attribute: { field: "plan", operator: "eq", value: "pro" } });
      assert.equal(one.body.segment.filled, true);
      for (const bucket of ["hour", "day"]) {
        const sizes = await viewer.call<SizesAnswer>("GET", `/workspaces/${shop}/segments/${segmentId}/sizes?bucket=${bucket}`);
        assert.equal(sizes.status, 200);
        assert.equal(sizes.body.points.length, bucket === "hour" ? 48 : 30);
        assert.equal(sizes.body.points.at(-1)?.size, 1);
        assert.equal(sizes.body.points[0]?.size, 0, "ada entered within the window");
      }
      const members = await viewer.call<MembersAnswer>("GET", `/workspaces/${shop}/segments/${segmentId}/members?limit=1`);
      assert.deepEqual(members.body.members.map((m) => m.id), ["ada"]);
      assert.equal(members.body.next, null);
      assert.equal((await viewer.call("GET", `/workspaces/${shop}/segments/${segmentId}/sizes?bucket=week`)).status, 400);
      const missing = await viewer.call("GET", `/workspaces/${shop}/segments/999999`);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error?.code, "SEGMENT_NOT_FOUND");
      assert.equal((await viewer.call("GET", `/workspaces/${shop}/segments/${segmentId}/members?cursor=%%%`)).status, 400);
    });

    it("shows a journey's steps, counts, versions and a person's path", async () => {
      const list = await viewer.call<JourneysAnswer>("GET", `/workspaces/${shop}/journeys`);
      assert.deepEqual(list.body.journeys.map((j) => [j.name, j.state, j.version, j.trigger]).sort(), [["Pricing nudge", "live", 1, "event viewed_pricing"], ["Pro welcome", "live", 1, `segment ${segmentId} entered`]]);
      const one = await viewer.call<JourneyAnswer>("GET", `/workspaces/${shop}/journeys/${journeyId}`);
      assert.deepEqual(one.body.steps.map((s) => [s.id, s.kind, s.label]), [["pause", "delay", "wait 1d"], ["hello", "email", "email: Hi {{ customer.first_name }}"]]);
      const metrics = await viewer.call<MetricsAnswer>("GET", `/workspaces/${shop}/journeys/${journeyId}/metrics`);
      assert.equal(metrics.body.entered, 1);
      assert.deepEqual(metrics.body.steps.find((s) => s.stepId === "pause"), { stepId: "pause", entered: 1, waiting: 1, completed: 0, failed: 0, converted: 0, exited: 0 });
      // Ada went past the nudge, the pricing journey's only step, and left the journey there.
      const pricingId = list.body.journeys.find((j) => j.name === "Pricing nudge")!.journeyId;
      const pricing = await viewer.call<MetricsAnswer>("GET", `/workspaces/${shop}/journeys/${pricingId}/metrics`);
      assert.deepEqual(pricing.body.steps.map((s) => [s.stepId, s.entered, s.completed, s.exited]), [["nudge", 1, 1, 1]]);
      const path = await viewer.call<PathAnswer>("GET", `/workspaces/${shop}/journeys/${journeyId}/path?person=ada@example.test`);
      assert.equal(path.body.person?.personId, ada);
      assert.equal(path.body.runs[0]?.stepId, "pause");
      assert.equal((await viewer.call<PathAnswer>("GET", `/workspaces/${shop}/journeys/${journeyId}/path?person=nobody`)).body.person, null);
      assert.equal((await viewer.call("GET", `/workspaces/${shop}/journeys/${journeyId}/path`)).status, 400);
      const versions = await viewer.call<VersionsAnswer>("GET", `/workspaces/${shop}/journeys/${journeyId}/versions`);
      assert.deepEqual(versions.body.versions.map((v) => v.version), [1]);
      const missing = await viewer.call("GET", `/workspaces/${shop}/journeys/424242`);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error?.code, "JOURNEY_NOT_FOUND");
    });

    it("checks documents with the path of the bad field, and lets an admin save a new version and change the state", async () => {
      const bad = `name: Broken\ntrigger:\n  segment:\n    id: "${segmentId}"\nsteps:\n  - id: pause\n    type: delay\n    duration: soon\n`;
      const checked = await admin.call<CheckAnswer>("POST", `/workspaces/${shop}/journeys/check`, { document: bad });
      assert.equal(checked.status, 200);
      assert.equal(checked.body.ok, false);
      assert.ok(!checked.body.ok && checked.body.field.startsWith("steps[0]"), JSON.stringify(checked.body));
      const good = await admin.call<CheckAnswer>("POST", `/workspaces/${shop}/journeys/check`, { document: JSON.stringify(journeyDoc(segmentId)) });
      assert.deepEqual(good.body, { ok: true, name: "Pro welcome", steps: 2 });
      const noSegment = await admin.call<CheckAnswer>("POST", `/workspaces/${shop}/journeys/check`, { document: JSON.stringify(journeyDoc("98765")) });
      assert.ok(!noSegment.body.ok && /no segment 98765/.test(noSegment.body.message));

      const refused = await admin.call("POST", `/workspaces/${shop}/journeys`, { document: bad });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error?.code, "JOURNEY_DEFINITION_INVALID");
      assert.match(refused.body.error?.message ?? "", /^steps\[0\]/);
      assert.equal((await admin.call("POST", `/workspaces/${shop}/journeys`, { document: 42 })).status, 400);

      for (const [method, path, body] of [
        ["POST", "/journeys", { document: JSON.stringify(journeyDoc(segmentId)) }],
        ["PUT", `/journeys/${journeyId}`, { document: JSON.stringify(journeyDoc(segmentId)) }],
        ["PUT", `/journeys/${journeyId}/state`, { state: "paused" }],
        ["POST", "/journeys/check", { document: "name: x" }],
      ] as const) {
        const no = await viewer.call(method, `/workspaces/${shop}${path}`, body);
        assert.equal(no.status, 403, `${method} ${path}`);
        assert.equal(no.body.error?.code, "NOT_PERMITTED");
      }

      const edited = { ...journeyDoc(segmentId), steps: [{ id: "pause", type: "delay", duration: "2d" }] };
      const saved = await admin.call<JourneyAnswer>("PUT", `/workspaces/${shop}/journeys/${journeyId}`, { document: JSON.stringify(edited) });
      assert.equal(saved.status, 200);
      assert.equal(saved.body.journey.version, 2);
      assert.equal(saved.body.steps[0]?.label, "wait 2d");
      assert.deepEqual((await admin.call<VersionsAnswer>("GET", `/workspaces/${shop}/journeys/${journeyId}/versions`)).body.versions.map((v) => v.version), [2, 1]);
      const paused = await admin.call<JourneyAnswer>("PUT", `/workspaces/${shop}/journeys/${journeyId}/state`, { state: "paused" });
      assert.equal(paused.body.journey.state, "paused");
      const back = await admin.call("PUT", `/workspaces/${shop}/journeys/${journeyId}/state`, { state: "draft" });
      assert.equal(back.status, 409);
      assert.equal(back.body.error?.code, "JOURNEY_STATE_CONFLICT");
      const yaml = await admin.call<JourneyAnswer>("POST", `/workspaces/${shop}/journeys`, { document: "name: From YAML\ntrigger:\n  broadcast: {}\nsteps:\n  - id: w\n    type: delay\n    duration: 1h\n" });
      assert.equal(yaml.status, 200);
      assert.equal(yaml.body.journey.state, "draft");
      assert.match(yaml.body.journey.source, /^name: From YAML/);
    });
  });
}
