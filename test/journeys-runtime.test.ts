// The journey runtime in this process against SQLite (and PostgreSQL when TEST_DATABASE_URL is set):
// events in through the people domain, runs entered by the trigger consumer, timers fired by a
// clock the test moves, emails to a recording double of the OutreachMailer port (the end-to-end
// tests use the real mailer and MTA). Each test asserts rows, events and sends, not calls.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
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
        metrics.steps.map((s) => [s.stepId, s.entered, s.completed, s.waiting, s.failed]),
        [["wait", 1, 1, 0, 0], ["hello", 1, 1, 0, 0]],
      );
      assert.equal(metrics.steps[1]!.messages?.sent, 1);
      assert.deepEqual([metrics.entered, metrics.active, metrics.completed], [1, 0, 1]);
      const started = (await journeyEvents("journey.run-started")).filter((e) => e.runId === run.runId);
      const endedEvents = (await journeyEvents("journey.run-ended")).filter((e) => e.runId === run.runId);
      assert.equal(started.length, 1);
      assert.deepEqual(endedEvents.map((e) => e.reason), ["completed"]);
    });
  });
}
