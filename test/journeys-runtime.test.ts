// The journey runtime in this process against SQLite (and PostgreSQL when TEST_DATABASE_URL is set):
// events in through the people domain, runs entered by the trigger consumer, timers fired by a
// clock the test moves, emails to a recording double of the OutreachMailer port (the end-to-end
// tests use the real mailer and MTA). Each test asserts rows, events and sends, not calls.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { storeTargets } from "./support/stores.js";
import { MovableClock, until } from "./support/segments.js";
import { journeyWorld, identify, track, type JourneyWorld } from "./support/journeys-world.js";
import type { Store } from "../src/store/store.js";

const H = 3_600_000;

for (const target of storeTargets()) {
  describe(`journey runtime (${target.name})`, () => {
    let store: Store;
    let world: JourneyWorld;
    const clock = new MovableClock();

    before(async () => {
      store = await target.open();
      world = await journeyWorld(store, clock);
    });
    after(async () => {
      await world.close();
      await store.close();
    });

    const sentTo = (personId: string, journeyId: string) => world.mailer.sent.filter((s) => s.mail.personId === personId && s.mail.origin.kind === "journey" && s.mail.origin.journeyId === journeyId);

    async function journeyEvents(type: string): Promise<Array<Record<string, unknown>>> {
      const rows = await store.db.selectFrom("events").select(["data_json"]).where("type", "=", type as never).where("workspace_id", "=", world.workspaceId).orderBy("id").execute();
      return rows.map((r) => JSON.parse(r.data_json) as Record<string, unknown>);
    }

    test("an event starts a run; its delay fires when the clock passes it, then the email is sent once and the run completes", async () => {
      const journey = await world.journeys.create(
        world.workspaceId,
        {
          name: "welcome",
          trigger: { event: { name: "signed_up" } },
          steps: [
            { id: "wait", type: "delay", duration: "1d" },
            { id: "hello", type: "email", subject: "Hi {{ customer.first_name }}", text: "plan {{ trigger.plan }}" },
          ],
        },
        { state: "live" },
      );
      await world.apply(identify("ann", { first_name: "Ann" }), track("ann", "signed_up", { plan: "pro" }));
      const ann = await world.personId("ann");
      const run = await until("the run to wait in its delay", async () => {
        const page = await world.journeys.runsOf(world.workspaceId, ann, { limit: 10, cursor: null });
        return page.items.find((r) => r.journeyId === journey.journeyId && r.state === "waiting");
      });
      assert.equal(run.stepId, "wait");
      assert.ok(Math.abs(run.dueAt! - (clock.now() + 24 * H)) < 5_000, "due a day after entry");
      clock.advance(23 * H);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(sentTo(ann, journey.journeyId).length, 0, "not before its time");
      clock.advance(H + 1_000);
      await until("the email", async () => sentTo(ann, journey.journeyId).length === 1);
      const ended = await until("the run to end", async () => {
        const r = await world.journeys.run(world.workspaceId, run.runId);
        return r?.state === "ended" ? r : undefined;
      });
      assert.equal(ended.endReason, "completed");
      assert.deepEqual(ended.path.map((p) => [p.stepId, p.outcome]), [["wait", "passed"], ["hello", "sent"]]);
      const mail = sentTo(ann, journey.journeyId)[0]!.mail;
      assert.equal(mail.idempotencyKey, `${run.runId}:hello`);
      assert.deepEqual(mail.scope.trigger, { plan: "pro" });
      const metrics = await world.journeys.metrics(world.workspaceId, journey.journeyId);
      assert.deepEqual(
        metrics.steps.map((s) => [s.stepId, s.entered, s.completed, s.waiting, s.failed, s.exited]),
        [["wait", 1, 1, 0, 0, 0], ["hello", 1, 1, 0, 0, 1]],
        "the run left the journey after its last step",
      );
      assert.equal(metrics.steps[1]!.messages?.sent, 1);
      assert.deepEqual([metrics.entered, metrics.active, metrics.completed], [1, 0, 1]);
      const started = (await journeyEvents("journey.run-started")).filter((e) => e.runId === run.runId);
      const endedEvents = (await journeyEvents("journey.run-ended")).filter((e) => e.runId === run.runId);
      assert.equal(started.length, 1);
      assert.deepEqual(endedEvents.map((e) => e.reason), ["completed"]);
    });

    async function live(document: Record<string, unknown>) {
      return world.journeys.create(world.workspaceId, document, { state: "live" });
    }
    const runsIn = async (id: string, journeyId: string) => (await world.journeys.runsOf(world.workspaceId, await world.personId(id), { limit: 100, cursor: null })).items.filter((r) => r.journeyId === journeyId);
    const quiet = (ms = 250) => new Promise((r) => setTimeout(r, ms));

    test("re-entry: once enters a person once ever; after_finish only when their run ended; always on every trigger", async () => {
      const steps = [{ id: "hold", type: "delay", duration: "1h" }];
      const once = await live({ name: "once", trigger: { event: { name: "ping_once" } }, reentry: "once", steps });
      const afterFinish = await live({ name: "after finish", trigger: { event: { name: "ping_af" } }, reentry: "after_finish", steps });
      const always = await live({ name: "always", trigger: { event: { name: "ping_always" } }, reentry: "always", steps });
      await world.apply(identify("rex"));
      for (let i = 0; i < 2; i++) await world.apply(track("rex", "ping_once"), track("rex", "ping_af"), track("rex", "ping_always"));
      await until("two always-runs", async () => (await runsIn("rex", always.journeyId)).length === 2);
      await quiet();
      assert.equal((await runsIn("rex", once.journeyId)).length, 1);
      assert.equal((await runsIn("rex", afterFinish.journeyId)).length, 1);
      clock.advance(H + 1_000);
      await until("the after_finish run to end", async () => (await runsIn("rex", afterFinish.journeyId))[0]?.state === "ended");
      await world.apply(track("rex", "ping_once"), track("rex", "ping_af"));
      await until("a second after_finish run", async () => (await runsIn("rex", afterFinish.journeyId)).length === 2);
      await quiet();
      assert.equal((await runsIn("rex", once.journeyId)).length, 1, "once is once, also after the run ended");
    });

    test("the same trigger event handed over twice starts one run (the outbox is at least once)", async () => {
      const journey = await live({ name: "dedupe", trigger: { event: { name: "ordered" } }, reentry: "always", steps: [{ id: "d", type: "delay", duration: "1h" }] });
      await world.apply(identify("sam"), track("sam", "ordered"));
      await until("the run", async () => (await runsIn("sam", journey.journeyId)).length === 1);
      const rows = await store.db.selectFrom("events").selectAll().where("workspace_id", "=", world.workspaceId).where("type", "=", "person.event").orderBy("id", "desc").limit(1).execute();
      const { isEvent } = await import("../src/events/event-map.js");
      const recorded = rows.map((r) => ({ id: Number(r.id), type: r.type, workspaceId: r.workspace_id, messageId: null, recipient: null, data: JSON.parse(r.data_json), createdAt: Number(r.created_at) })) as never[];
      assert.ok(isEvent(recorded[0]!, "person.event"));
      await world.triggers.handle(recorded);
      await world.triggers.handle(recorded);
      assert.equal((await runsIn("sam", journey.journeyId)).length, 1);
    });

    test("filters decide entry; an exit event with a matching key ends the run; a goal converts and counts on the steps passed", async () => {
      const journey = await live({
        name: "trial",
        trigger: { event: { name: "trial_started" } },
        filters: { attribute: { field: "country", operator: "eq", value: "DE" } },
        exit: [{ event: { name: "cancelled", match: { plan: "{{ trigger.plan }}" } } }],
        goal: { event: { name: "paid" }, within: "7d", exit: true },
        steps: [
          { id: "first", type: "email", subject: "Day 0", text: "hi" },
          { id: "later", type: "delay", duration: "2d" },
          { id: "second", type: "email", subject: "Day 2", text: "hi" },
        ],
      });
      await world.apply(identify("uwe", { country: "DE" }), identify("una", { country: "FR" }), identify("udo", { country: "DE" }));
      await world.apply(track("uwe", "trial_started", { plan: "pro" }), track("una", "trial_started", { plan: "pro" }), track("udo", "trial_started", { plan: "pro" }));
      await until("uwe and udo waiting", async () => (await runsIn("uwe", journey.journeyId))[0]?.state === "waiting" && (await runsIn("udo", journey.journeyId))[0]?.state === "waiting");
      assert.equal((await runsIn("una", journey.journeyId)).length, 0, "filtered out");
      await world.apply(track("uwe", "cancelled", { plan: "basic" }));
      await quiet();
      assert.equal((await runsIn("uwe", journey.journeyId))[0]!.state, "waiting", "another plan's cancel is not this run's exit");
      await world.apply(track("uwe", "cancelled", { plan: "pro" }), track("udo", "paid"));
      const uwe = await until("uwe to exit", async () => (await runsIn("uwe", journey.journeyId)).find((r) => r.state === "ended"));
      const udo = await until("udo to convert", async () => (await runsIn("udo", journey.journeyId)).find((r) => r.state === "ended"));
      assert.equal(uwe.endReason, "exited");
      assert.equal(udo.endReason, "converted");
      clock.advance(3 * 24 * H);
      await quiet(300);
      const metrics = await world.journeys.metrics(world.workspaceId, journey.journeyId);
      assert.equal(metrics.converted, 1);
      assert.equal(metrics.steps.find((s) => s.stepId === "first")!.converted, 1);
      assert.equal(metrics.steps.find((s) => s.stepId === "second")!.entered, 0, "nobody reached the second email");
      // Uwe's exit condition and Udo's conversion exit both met them waiting at "later".
      assert.deepEqual(metrics.steps.map((s) => [s.stepId, s.exited]), [["first", 0], ["later", 2], ["second", 0]]);
      const converted = await journeyEvents("journey.converted");
      assert.deepEqual(converted.filter((e) => e.journeyId === journey.journeyId).map((e) => e.stepId), ["first"]);
    });

    test("a live journey edited while people are inside: they stay on v1; moved ones continue on v2 at the same step", async () => {
      const v1 = { name: "edit me", trigger: { event: { name: "joined" } }, steps: [{ id: "wait", type: "delay", duration: "1d" }, { id: "mail", type: "email", subject: "v1", text: "one" }] };
      const journey = await live(v1);
      await world.apply(identify("vic"), identify("val"), track("vic", "joined"), track("val", "joined"));
      await until("both waiting", async () => (await runsIn("vic", journey.journeyId))[0]?.state === "waiting" && (await runsIn("val", journey.journeyId))[0]?.state === "waiting");
      const v2 = await world.journeys.update(world.workspaceId, journey.journeyId, { ...v1, steps: [{ id: "wait", type: "delay", duration: "1d" }, { id: "mail", type: "email", subject: "v2", text: "two" }] });
      assert.equal(v2.version, 2);
      assert.deepEqual((await world.journeys.versions(world.workspaceId, journey.journeyId)).map((v) => v.version), [1, 2]);
      const valRun = (await runsIn("val", journey.journeyId))[0]!;
      assert.equal(valRun.version, 1, "people inside stay on their version");
      const moved = await world.journeys.moveRuns(world.workspaceId, journey.journeyId, { fromVersion: 1 });
      assert.deepEqual(moved, { moved: 2, stayed: 0 });
      await world.apply(identify("wes"), track("wes", "joined"));
      await until("wes waiting", async () => (await runsIn("wes", journey.journeyId))[0]?.state === "waiting");
      assert.equal((await runsIn("wes", journey.journeyId))[0]!.version, 2, "new entries take the current version");
      clock.advance(24 * H + 1_000);
      await until("three mails", async () => world.mailer.sent.filter((s) => s.mail.origin.kind === "journey" && s.mail.origin.journeyId === journey.journeyId).length === 3);
      const subjects = world.mailer.sent.filter((s) => s.mail.origin.kind === "journey" && s.mail.origin.journeyId === journey.journeyId).map((s) => (s.mail.content.kind === "liquid" ? s.mail.content.subject : ""));
      assert.deepEqual(subjects, ["v2", "v2", "v2"]);
      // A v3 without the step a run waits in: that run stays where it is.
      await world.apply(identify("xen"), track("xen", "joined"));
      await until("xen waiting", async () => (await runsIn("xen", journey.journeyId))[0]?.state === "waiting");
      await world.journeys.update(world.workspaceId, journey.journeyId, { ...v1, steps: [{ id: "other", type: "delay", duration: "1d" }] });
      assert.deepEqual(await world.journeys.moveRuns(world.workspaceId, journey.journeyId), { moved: 0, stayed: 1 });
    });

    test("a deleted person's runs end (person_deleted); archiving a journey ends its runs (archived)", async () => {
      const journey = await live({ name: "long", trigger: { event: { name: "long_started" } }, steps: [{ id: "w", type: "wait_until", event: { name: "never" }, then: [], on_timeout: [] }] });
      await world.apply(identify("yan"), identify("yul"), track("yan", "long_started"), track("yul", "long_started"));
      await until("both waiting", async () => (await runsIn("yan", journey.journeyId))[0]?.state === "waiting" && (await runsIn("yul", journey.journeyId))[0]?.state === "waiting");
      const yan = await world.personId("yan");
      const yanRun = (await runsIn("yan", journey.journeyId))[0]!;
      assert.equal(yanRun.dueAt, null, "a wait with no timeout has no timer");
      await world.apply({ op: "delete", who: { kind: "id", value: "yan" } });
      await until("yan's run to end", async () => (await world.journeys.run(world.workspaceId, yanRun.runId))?.endReason === "person_deleted");
      await world.journeys.setState(world.workspaceId, journey.journeyId, "archived");
      await until("yul's run to end", async () => (await runsIn("yul", journey.journeyId))[0]?.endReason === "archived");
      const ended = (await journeyEvents("journey.run-ended")).filter((e) => e.journeyId === journey.journeyId).map((e) => e.reason).sort();
      assert.deepEqual(ended, ["archived", "person_deleted"]);
      assert.equal(yan.length > 0, true);
      await assert.rejects(world.journeys.setState(world.workspaceId, journey.journeyId, "live"), (err: Error & { code?: string }) => err.code === "JOURNEY_STATE_CONFLICT");
    });

    test("a date trigger enters the person at the attribute's time plus the offset; a changed date moves the entry", async () => {
      const journey = await live({ name: "trial ending", trigger: { date: { attribute: "trial_ends_at", offset: "-1d" } }, steps: [{ id: "warn", type: "email", subject: "Trial ends tomorrow", text: "!" }] });
      const inThreeDays = Math.floor((clock.now() + 3 * 24 * H) / 1000);
      await world.apply(identify("zed", { trial_ends_at: inThreeDays }));
      const zed = await world.personId("zed");
      const scheduled = await until("a scheduled entry", async () => store.db.selectFrom("journey_runs").selectAll().where("person_id", "=", zed).where("state", "=", "scheduled").executeTakeFirst());
      assert.equal(Number(scheduled.due_at), (inThreeDays - 86_400) * 1000);
      await world.apply(identify("zed", { trial_ends_at: inThreeDays + 86_400 }));
      await until("the entry moved", async () => Number((await store.db.selectFrom("journey_runs").select("due_at").where("run_id", "=", scheduled.run_id).executeTakeFirst())?.due_at) === inThreeDays * 1000);
      clock.advance(2 * 24 * H + 60_000);
      await quiet(300);
      assert.equal(sentTo(zed, journey.journeyId).length, 0, "not at the old time");
      clock.advance(24 * H);
      await until("the warning", async () => sentTo(zed, journey.journeyId).length === 1);
      assert.deepEqual((await journeyEvents("journey.run-started")).filter((e) => e.journeyId === journey.journeyId).length, 1);
    });

    test("a segment trigger and a segment_left exit; an update_attributes step and a manual segment step change the person", async () => {
      const vip = await world.segments.create(world.workspaceId, { name: "vip", conditions: { attribute: { field: "tier", operator: "eq", value: "gold" } } });
      const club = await world.segments.create(world.workspaceId, { name: "club" });
      const journey = await live({
        name: "vip onboarding",
        trigger: { segment: { id: vip.segmentId } },
        exit: [{ segment_left: vip.segmentId }],
        steps: [
          { id: "mark", type: "update_attributes", attributes: { onboarded: "yes {{ customer.tier }}" } },
          { id: "join", type: "segment", segment: club.segmentId, action: "add" },
          { id: "wait", type: "delay", duration: "1d" },
          { id: "mail", type: "email", subject: "hi", text: "x" },
        ],
      });
      await assert.rejects(world.journeys.create(world.workspaceId, { name: "bad", trigger: { segment: { id: "999999" } }, steps: [{ id: "x", type: "exit" }] }), (err: Error & { code?: string; details?: Record<string, unknown> }) => err.code === "JOURNEY_DEFINITION_INVALID" && err.details?.field === "trigger.segment.id");
      await world.apply(identify("gil", { tier: "gold" }), identify("gia", { tier: "gold" }));
      await until("both waiting", async () => (await runsIn("gil", journey.journeyId))[0]?.state === "waiting" && (await runsIn("gia", journey.journeyId))[0]?.state === "waiting");
      const gil = (await world.people.find(world.workspaceId, { kind: "id", value: "gil" }))!;
      assert.equal(gil.attributes.onboarded, "yes gold");
      assert.deepEqual((await world.segments.segmentsOf(world.workspaceId, gil.personId)).map((m) => m.segmentId).sort(), [vip.segmentId, club.segmentId].sort());
      await world.apply(identify("gia", { tier: "silver" }));
      await until("gia to exit", async () => (await runsIn("gia", journey.journeyId))[0]?.endReason === "exited");
      clock.advance(24 * H + 1_000);
      await until("gil's mail", async () => sentTo(gil.personId, journey.journeyId).length === 1);
      assert.equal(sentTo(await world.personId("gia"), journey.journeyId).length, 0);
    });

    test("a held email waits until the mailer has room, then is sent with the same idempotency key", async () => {
      const journey = await live({ name: "capped", trigger: { event: { name: "capped_go" } }, steps: [{ id: "m", type: "email", subject: "s", text: "t" }] });
      let holds = 0;
      world.mailer.hold = (mail) => (mail.origin.kind === "journey" && mail.origin.journeyId === journey.journeyId && holds++ === 0 ? clock.now() + H : null);
      await world.apply(identify("hal"), track("hal", "capped_go"));
      const run = await until("the held run", async () => (await runsIn("hal", journey.journeyId)).find((r) => r.state === "waiting"));
      assert.equal(run.stepId, "m");
      assert.ok(run.dueAt! > clock.now() + H - 10_000);
      clock.advance(H + 1_000);
      await until("the send", async () => sentTo(await world.personId("hal"), journey.journeyId).length === 1);
      world.mailer.hold = null;
      const m = (await world.journeys.metrics(world.workspaceId, journey.journeyId)).steps[0]!;
      assert.deepEqual([m.entered, m.completed], [1, 1], "a held step is entered once");
    });

    test("a webhook step: the request carries the idempotency key, its answer is kept on the run and read by a later branch", async () => {
      const seen: Array<{ method: string; url: string; key: string | undefined; body: string }> = [];
      const receiver = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString()));
        req.on("end", () => {
          seen.push({ method: req.method!, url: req.url!, key: req.headers["idempotency-key"] as string | undefined, body });
          res.writeHead(req.url!.includes("fail") ? 404 : 200, { "content-type": "application/json" });
          res.end(JSON.stringify({ coupon: "SAVE10" }));
        });
      });
      await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
      const port = (receiver.address() as AddressInfo).port;
      try {
        const journey = await live({
          name: "hooked",
          trigger: { event: { name: "hook_go" } },
          steps: [
            { id: "call", type: "webhook", method: "PUT", url: `http://127.0.0.1:${port}/{{ trigger.path }}`, body: { user: "{{ customer.id }}" } },
            {
              id: "ok",
              type: "branch",
              if: { data: { field: "steps.call.response.status", operator: "eq", value: 200 } },
              then: [{ id: "coupon", type: "email", subject: "Your code {{ steps.call.response.body.coupon }}", text: "x" }],
              else: [],
            },
          ],
        });
        await world.apply(identify("wil"), identify("wyn"), track("wil", "hook_go", { path: "hook" }), track("wyn", "hook_go", { path: "fail" }));
        await until("both runs to end", async () => (await runsIn("wil", journey.journeyId))[0]?.state === "ended" && (await runsIn("wyn", journey.journeyId))[0]?.state === "ended");
        const wilRun = (await runsIn("wil", journey.journeyId))[0]!;
        const call = seen.find((s) => s.url === "/hook")!;
        assert.equal(call.method, "PUT");
        assert.equal(call.key, `${wilRun.runId}:call`);
        assert.deepEqual(JSON.parse(call.body), { user: "wil" });
        // The recording mailer notes a send once its commit resolved, a moment after the run's end is readable.
        const mails = await until("the email", async () => {
          const list = world.mailer.sent.filter((s) => s.mail.origin.kind === "journey" && s.mail.origin.journeyId === journey.journeyId);
          return list.length > 0 ? list : undefined;
        });
        await quiet(100);
        assert.equal(world.mailer.sent.filter((s) => s.mail.origin.kind === "journey" && s.mail.origin.journeyId === journey.journeyId).length, 1, "only the 200 answer leads to the email");
        assert.equal(mails[0]!.mail.personId, await world.personId("wil"));
        assert.deepEqual(wilRun.path.find((p) => p.stepId === "call")?.outcome, "status 200");
      } finally {
        receiver.close();
      }
    });

    test("a webhook to an internal address is refused (the step fails, the run goes on)", async () => {
      const journey = await live({ name: "ssrf", trigger: { event: { name: "ssrf_go" } }, steps: [{ id: "call", type: "webhook", url: "http://169.254.169.254/latest/meta-data" }] });
      await world.apply(identify("ida"), track("ida", "ssrf_go"));
      const run = await until("the run to end", async () => (await runsIn("ida", journey.journeyId)).find((r) => r.state === "ended"));
      assert.match(run.path.find((p) => p.stepId === "call")!.outcome, /^failed: .*not a public address/);
      assert.equal((await world.journeys.metrics(world.workspaceId, journey.journeyId)).steps[0]!.failed, 1);
    });

    test("a run whose lease is lost while its batch is sent: the whole send rolls back, goes again without it, and the run is sent once when it comes back", async () => {
      const journey = await live({ name: "stolen", trigger: { event: { name: "steal_go" } }, steps: [{ id: "m", type: "email", subject: "s", text: "t" }] });
      const victims = ["sa1", "sa2", "sa3"];
      let stolen: string | null = null;
      const sendsBefore = world.mailer.calls.length;
      world.mailer.beforeAlsoWrite = async (trx, mails) => {
        const mine = mails.filter((m) => m.origin.kind === "journey" && m.origin.journeyId === journey.journeyId);
        if (stolen !== null || mine.length < victims.length || mine[0]!.origin.kind !== "journey") return;
        // Another worker claims this run now (its lease ended meanwhile): this send must not move it.
        stolen = mine[0]!.origin.runId;
        await trx.updateTable("journey_runs").set({ lease_owner: "another-worker" }).where("run_id", "=", stolen).execute();
      };
      try {
        await world.apply(...victims.map((v) => identify(v)));
        await world.apply(...victims.map((v) => track(v, "steal_go")));
        const ids = await Promise.all(victims.map((v) => world.personId(v)));
        await until("two of three sent", async () => ids.filter((id) => sentTo(id, journey.journeyId).length === 1).length === 2);
        assert.ok(stolen, "the lease was taken during a send");
        const stolenRun = (await store.db.selectFrom("journey_runs").selectAll().where("run_id", "=", stolen).executeTakeFirstOrThrow());
        assert.equal(stolenRun.state, "active", "the taken run was not moved by the send that lost it");
        assert.ok(world.mailer.calls.length - sendsBefore >= 2, "the send went again without the lost run");
        // Its lease ends (the theft rolled back with the send, so it is still ours until then): it comes back and is sent once.
        clock.advance(31_000);
        await until("the third sent", async () => ids.every((id) => sentTo(id, journey.journeyId).length === 1));
        await quiet(200);
        for (const id of ids) assert.equal(sentTo(id, journey.journeyId).length, 1);
      } finally {
        world.mailer.beforeAlsoWrite = null;
      }
    });
  });
}
