// API-triggered broadcasts end to end, on SQLite and PostgreSQL: customerio-node's APIClient
// triggerBroadcast (and raw calls to the documented /v1/campaigns/{id}/triggers path) starts a live
// journey with a broadcast trigger for the people named in each of Customer.io's recipient shapes;
// the journey's email step renders `trigger` (the call's data) and `journey` (per-user data) and
// the mail reaches an SMTP sink through the MTA. The trigger's progress is read back; missing
// people fail the trigger unless ignored; one trigger per 10 s per campaign (429); every bad input
// is refused in Customer.io's form; another workspace cannot trigger or read this one's campaigns.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { simpleParser } from "mailparser";
import { APIClient } from "customerio-node";
import type { TestServer } from "./support/server.js";
import type { SmtpSink } from "./support/smtp-sink.js";
import { MovableClock, until, type AppApi } from "./support/segments.js";
import { cioClient, startAppApiWorld, type AppApiWorld } from "./support/app-api-world.js";
import { serverDatabases } from "./support/stores.js";
import type { PersonOperation } from "../src/people/people.port.js";

const launch = {
  name: "Launch",
  trigger: { broadcast: {} },
  reentry: "always",
  defaults: { from: "launch@shop.test" },
  steps: [{ id: "hello", type: "email", subject: "{{ trigger.headline }} {{ customer.first_name }}", text: "code {{ journey.code | default: 'none' }}" }],
};

for (const database of serverDatabases()) {
  describe(`[${database.name}] triggerBroadcast through customerio-node to an SMTP sink`, () => {
    let sink: SmtpSink;
    let server: TestServer;
    let api: AppApi;
    let other: AppApi;
    let client: APIClient;
    let workspaceId: string;
    let campaign: number;
    let world: AppApiWorld;
    const clock = new MovableClock();

    before(async () => {
      world = await startAppApiWorld(database, clock);
      ({ sink, server, workspaceId, api, rival: other } = world);
      client = cioClient(server.url, world.shopKey);
      const operations: PersonOperation[] = ["a", "b", "c", "d", "e", "f", "g", "h"].map((n) => ({
        op: "identify",
        who: { kind: "id", value: `t-${n}` },
        attributes: { first_name: n.toUpperCase(), plan: n === "g" ? "gold" : "basic" },
        alsoKnownAs: [{ kind: "email", value: `t-${n}@example.test` }],
      }));
      for (const r of await server.app.services.people.apply(workspaceId, operations, { atomic: true })) assert.ok(r.ok, JSON.stringify(r));
      const created = await api.call("POST", "/journeys?state=live", launch);
      assert.equal(created.status, 200, JSON.stringify(created.body));
      campaign = (created.body.journey as { id: number }).id;
    });
    after(async () => world.close());

    const mailTo = async (who: string) => {
      const found = [];
      for (const m of sink.messages) if (m.rcptTo.includes(`${who}@example.test`)) found.push(await simpleParser(m.raw));
      return found;
    };
    const received = (who: string, count = 1) => until(`${count} mail to ${who}`, async () => ((await mailTo(who)).length >= count ? mailTo(who) : false), 15_000);
    const status = async (triggerId: number) => (await api.call("GET", `/campaigns/${campaign}/triggers/${triggerId}`)).body.trigger as { state: string; processed: boolean; total: number; entered: number; skipped: number; missing: number; errors: string[] };
    const processed = (triggerId: number) => until(`trigger ${triggerId} processed`, async () => ((await status(triggerId)).processed ? status(triggerId) : false), 15_000);
    /** Customer.io allows one trigger per campaign per 10 s: the clock moves on between calls. */
    const nextWindow = () => clock.advance(10_001);

    test("ids: each named person gets the journey's mail with the trigger's data", async () => {
      const answer = (await client.triggerBroadcast(campaign, { headline: "Ids for" }, { ids: ["t-a", "t-b"] })) as { id: number };
      assert.equal(typeof answer.id, "number");
      const [a] = await received("t-a");
      assert.equal(a!.subject, "Ids for A");
      assert.match(a!.text ?? "", /code none/);
      assert.equal((await received("t-b"))[0]!.subject, "Ids for B");
      const done = await processed(answer.id);
      assert.equal(done.state, "done");
      assert.equal(done.total, 2);
      assert.equal(done.entered, 2);
      assert.deepEqual(done.errors, []);
      nextWindow();
    });

    test("a second trigger within 10 s is refused with 429", async () => {
      const first = await api.call("POST", `/campaigns/${campaign}/triggers`, { data: {}, ids: ["t-h"] });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const second = await api.call("POST", `/api/campaigns/${campaign}/triggers`, { data: {}, ids: ["t-h"] });
      assert.equal(second.status, 429);
      assert.match(String((second.body.meta as { error: string }).error), /10 seconds/);
      await assert.rejects(client.triggerBroadcast(campaign, {}, { ids: ["t-h"] }), /10 seconds/);
      await processed((first.body as { id: number }).id);
      nextWindow();
    });

    test("emails, and the documented /v1/campaigns path", async () => {
      const answer = await api.call("POST", `/campaigns/${campaign}/triggers`, { data: { headline: "Emails for" }, emails: ["t-c@example.test"], email_ignore_missing: false, email_add_duplicates: false });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal((await received("t-c"))[0]!.subject, "Emails for C");
      nextWindow();
    });

    test("per_user_data: each person's data is `journey` in the templates", async () => {
      const answer = (await client.triggerBroadcast(campaign, { headline: "Codes for" }, { per_user_data: [{ id: "t-d", data: { code: "D-1" } }, { email: "t-e@example.test", data: { code: "E-2" } }] })) as { id: number };
      const [d] = await received("t-d");
      assert.equal(d!.subject, "Codes for D");
      assert.match(d!.text ?? "", /code D-1/);
      assert.match((await received("t-e"))[0]!.text ?? "", /code E-2/);
      assert.equal((await processed(answer.id)).entered, 2);
      nextWindow();
    });

    test("recipients: a filter tree with a segment and an attribute", async () => {
      const segment = await api.call("POST", "/segments", { segment: { name: "F and G" } });
      const segmentId = (segment.body.segment as { id: number }).id;
      await server.app.services.segments.addPeople(workspaceId, String(segmentId), [{ kind: "id", value: "t-f" }, { kind: "id", value: "t-g" }]);
      const answer = (await client.triggerBroadcast(campaign, { headline: "Gold" }, { and: [{ segment: { id: segmentId } }, { attribute: { field: "plan", operator: "eq", value: "gold" } }] } as never)) as { id: number };
      assert.equal((await received("t-g"))[0]!.subject, "Gold G");
      const done = await processed(answer.id);
      assert.equal(done.total, 1);
      assert.equal((await mailTo("t-f")).length, 0, "F is in the segment but not gold");
      nextWindow();
    });

    test("people who do not exist fail the trigger before anyone enters, unless ignored", async () => {
      const before = (await mailTo("t-a")).length;
      const failing = (await client.triggerBroadcast(campaign, { headline: "Nobody" }, { ids: ["t-a", "ghost"] })) as { id: number };
      const failed = await processed(failing.id);
      assert.equal(failed.state, "failed");
      assert.equal(failed.entered, 0);
      assert.equal(failed.missing, 1);
      assert.deepEqual(failed.errors, ["No customer with id ghost."]);
      assert.deepEqual((await api.call("GET", `/campaigns/${campaign}/triggers/${failing.id}/errors`)).body, { errors: ["No customer with id ghost."] });
      nextWindow();
      const ignoring = (await client.triggerBroadcast(campaign, { headline: "Some" }, { ids: ["t-a", "ghost"], id_ignore_missing: true })) as { id: number };
      const done = await processed(ignoring.id);
      assert.equal(done.state, "done");
      assert.equal(done.entered, 1);
      assert.equal(done.missing, 1);
      await received("t-a", before + 1);
      assert.deepEqual((await mailTo("t-a")).map((m) => m.subject).filter((s) => s?.startsWith("Nobody")), [], "the failed trigger sent nothing");
      nextWindow();
    });

    test("bad triggers are refused in Customer.io's form; campaigns that are not live broadcast journeys are refused", async () => {
      const cases: Array<[unknown, number, string | null]> = [
        [{ data: {} }, 400, "recipients"],
        [{ data: {}, data_file_url: "https://files.example.com/people.json" }, 400, "data_file_url"],
        [{ data: "x", ids: ["t-a"] }, 400, "data"],
        [{ ids: ["t-a"], emails: ["t-b@example.test"] }, 400, "emails"],
        [{ ids: [] }, 400, "ids"],
        [{ emails: ["nope"] }, 400, "emails[0]"],
        [{ per_user_data: [{ data: {} }] }, 400, "per_user_data[0]"],
        [{ recipients: { or: [{ segment: { id: 1 } }] } }, 400, "recipients"],
        [{ ids: Array.from({ length: 10_001 }, (_, i) => `p${i}`) }, 400, "ids"],
        [{ ids: ["t-a"], data: { blob: "x".repeat(50_001) } }, 400, "data"],
      ];
      for (const [body, code, field] of cases) {
        const r = await api.call("POST", `/campaigns/${campaign}/triggers`, body);
        assert.equal(r.status, code, `${field}: ${JSON.stringify(r.body).slice(0, 200)}`);
        assert.equal((r.body.errors as Array<{ field: string }>)[0]!.field, field);
        assert.equal(typeof (r.body.meta as { error: string }).error, "string");
      }
      assert.equal((await api.call("POST", "/campaigns/999999/triggers", { ids: ["t-a"] })).status, 404);
      assert.equal((await api.call("POST", "/campaigns/abc/triggers", { ids: ["t-a"] })).status, 404);
      const draft = await api.call("POST", "/journeys", { ...launch, name: "Draft" });
      const draftId = (draft.body.journey as { id: number }).id;
      const notLive = await api.call("POST", `/campaigns/${draftId}/triggers`, { ids: ["t-a"] });
      assert.equal(notLive.status, 409);
      assert.match(String((notLive.body.meta as { error: string }).error), /draft/);
      const eventJourney = await api.call("POST", "/journeys?state=live", { ...launch, name: "On event", trigger: { event: { name: "signed_up" } } });
      const byEvent = await api.call("POST", `/campaigns/${(eventJourney.body.journey as { id: number }).id}/triggers`, { ids: ["t-a"] });
      assert.equal(byEvent.status, 409);
      assert.equal((await api.call("GET", `/campaigns/${campaign}/triggers/424242`)).status, 404);
      assert.equal((await other.call("POST", `/campaigns/${campaign}/triggers`, { ids: ["t-a"] })).status, 404);
      assert.equal((await other.call("GET", `/campaigns/${campaign}/triggers/1`)).status, 404);
      const noKey = await fetch(`${server.url}/v1/api/campaigns/${campaign}/triggers`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      assert.equal(noKey.status, 401);
    });
  });
}
