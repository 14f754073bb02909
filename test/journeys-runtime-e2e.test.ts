// Journeys end to end through a running Posthorn: events in through the Track API with the
// official customerio-node TrackClient, journeys defined through the service, the worker role's
// runtime firing timers on a clock the test moves, and email out through the real outreach
// mailer and the MTA to a loopback SMTP sink. SQLite always; PostgreSQL when TEST_DATABASE_URL is set.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { TrackClient } from "customerio-node";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { serverDatabases } from "./support/stores.js";
import { MovableClock, until } from "./support/segments.js";

const H = 3_600_000;
const M = 60_000;

for (const target of serverDatabases()) {
  describe(`journeys end to end (${target.name})`, () => {
    let server: TestServer;
    let sink: SmtpSink;
    let cio: TrackClient;
    let workspaceId: string;
    let drop: () => Promise<void>;
    const clock = new MovableClock();

    before(async () => {
      sink = await startSmtpSink();
      const database = await target.open();
      drop = database.drop;
      server = await startTestServer(
        { POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`, POSTHORN_VERP: "false", POSTHORN_TRACK_HTTPS_PORT: "0", POSTHORN_JOURNEYS_POLL: "100ms", ...database.env },
        { clock },
      );
      await server.createWorkspace("shop");
      workspaceId = (await server.app.services.workspaces.get("shop")).id;
      const creds = await server.app.services.workspaces.createTrackCredentials("shop");
      const https = server.app.trackHttps!;
      cio = new TrackClient(creds.siteId, creds.apiKey, { url: "https://127.0.0.1/api/v1", port: Number(new URL(https.url).port), ca: readFileSync(https.certPath) });
    });
    after(async () => {
      await server.close();
      await sink.close();
      await drop();
    });

    const received = (to: string) => sink.messages.filter((m) => m.rcptTo.includes(to));
    const subjectOf = (raw: Buffer) => /^Subject: (.*)$/im.exec(raw.toString("utf8"))?.[1]?.trim() ?? "";
    const personOf = async (id: string) => (await server.app.services.people.find(workspaceId, { kind: "id", value: id }))!.personId;

    async function runsOf(id: string, journeyId: string) {
      const page = await server.app.services.journeys.runsOf(workspaceId, await personOf(id), { limit: 50, cursor: null });
      return page.items.filter((r) => r.journeyId === journeyId);
    }

    test("abandoned cart: a wait that times out sends the reminder; a wait satisfied by the same cart's checkout sends nothing", async () => {
      const journey = await server.app.services.journeys.create(
        workspaceId,
        `
name: Abandoned cart
trigger:
  event: { name: cart_updated, where: [{ field: total, operator: gt, value: 0 }] }
reentry: always
defaults: { from: "shop@brand.test" }
steps:
  - id: wait_checkout
    type: wait_until
    event: { name: checkout, match: { cart_id: "{{ trigger.cart_id }}" } }
    timeout: 1h
    then:
      - { id: done, type: exit }
    on_timeout:
      - id: reminder
        type: email
        subject: "Cart {{ trigger.cart_id }} is waiting, {{ customer.first_name }}"
        text: "You left {{ trigger.item_count }} items."
`,
        { state: "live" },
      );
      await cio.identify("ann", { email: "ann@example.test", first_name: "Ann" });
      await cio.identify("bob", { email: "bob@example.test", first_name: "Bob" });
      await cio.track("ann", { name: "cart_updated", data: { cart_id: "A1", total: 30, item_count: 2 } });
      await cio.track("bob", { name: "cart_updated", data: { cart_id: "B1", total: 10, item_count: 1 } });
      await until("both runs to wait", async () => (await runsOf("ann", journey.journeyId)).some((r) => r.state === "waiting") && (await runsOf("bob", journey.journeyId)).some((r) => r.state === "waiting"), 5_000);
      // Bob checks out another cart first (no match), then his own.
      await cio.track("bob", { name: "checkout", data: { cart_id: "OTHER" } });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await runsOf("bob", journey.journeyId))[0]!.state, "waiting", "another cart's checkout does not end the wait");
      await cio.track("bob", { name: "checkout", data: { cart_id: "B1" } });
      const bobRun = await until("bob's run to end", async () => (await runsOf("bob", journey.journeyId)).find((r) => r.state === "ended"), 5_000);
      assert.equal(bobRun.endReason, "exited");
      clock.advance(H + M);
      await until("ann's reminder at the sink", async () => received("ann@example.test").length === 1, 10_000);
      assert.equal(subjectOf(received("ann@example.test")[0]!.raw), "Cart A1 is waiting, Ann");
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(received("bob@example.test").length, 0);
      assert.equal(received("ann@example.test").length, 1);
      const annRun = await until("ann's run to complete", async () => (await runsOf("ann", journey.journeyId)).find((r) => r.state === "ended"), 5_000);
      assert.equal(annRun.endReason, "completed");
      const metrics = await server.app.services.journeys.metrics(workspaceId, journey.journeyId);
      const reminder = metrics.steps.find((s) => s.stepId === "reminder")!;
      assert.equal(reminder.entered, 1);
      assert.equal(reminder.messages?.sent, 1);
      assert.equal(metrics.steps.find((s) => s.stepId === "done")!.entered, 1);
    });

    test("a condition wait on a date attribute goes on when the date comes, not at its timeout (the clock alone makes it hold)", async () => {
      const journey = await server.app.services.journeys.create(
        workspaceId,
        {
          name: "Trial over",
          trigger: { event: { name: "trial_started" } },
          defaults: { from: "shop@brand.test" },
          steps: [
            {
              id: "until_over",
              type: "wait_until",
              condition: { attribute: { field: "trial_ends_at", operator: "older_than", value: "1s" } },
              timeout: "30d",
              then: [{ id: "over", type: "email", subject: "Your trial is over, {{ customer.first_name }}", text: "x" }],
              on_timeout: [],
            },
          ],
        },
        { state: "live" },
      );
      const endsAt = Math.floor((clock.now() + 3 * H) / 1000);
      await cio.identify("tia", { email: "tia@example.test", first_name: "Tia", trial_ends_at: endsAt });
      await cio.track("tia", { name: "trial_started", data: {} });
      const run = await until("the run to wait", async () => (await runsOf("tia", journey.journeyId)).find((r) => r.state === "waiting"), 5_000);
      assert.equal(run.dueAt, endsAt * 1000 + 1_000, "due the moment the condition can hold, not in 30 days");
      clock.advance(3 * H - 60_000);
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(received("tia@example.test").length, 0, "not before the date");
      clock.advance(endsAt * 1000 + 1_000 - clock.now() + 100);
      await until("the email at the sink", async () => received("tia@example.test").length === 1, 10_000);
      assert.equal(subjectOf(received("tia@example.test")[0]!.raw), "Your trial is over, Tia");
      const ended = await until("the run to end", async () => (await runsOf("tia", journey.journeyId)).find((r) => r.state === "ended"), 5_000);
      assert.equal(ended.endReason, "completed");
    });

    test("a frequency cap across two journeys: the second journey's email is held until the first leaves the period, then sent", async () => {
      await server.app.services.messageLimits.set(workspaceId, { caps: [{ count: 1, periodMs: 7 * 24 * H }], quietHours: null });
      try {
        const doc = (name: string) => ({ name, trigger: { event: { name: "upgraded" } }, defaults: { from: "news@brand.test" }, steps: [{ id: "mail", type: "email", subject: `${name} for {{ customer.first_name }}`, text: "x" }] });
        const first = await server.app.services.journeys.create(workspaceId, doc("First"), { state: "live" });
        const second = await server.app.services.journeys.create(workspaceId, doc("Second"), { state: "live" });
        await cio.identify("cap", { email: "cap@example.test", first_name: "Cap" });
        await cio.track("cap", { name: "upgraded", data: {} });
        await until("one email at the sink", async () => received("cap@example.test").length === 1, 10_000);
        const held = await until("the other run held", async () => {
          const runs = [...(await runsOf("cap", first.journeyId)), ...(await runsOf("cap", second.journeyId))];
          return runs.length === 2 && runs.some((r) => r.state === "ended") ? runs.find((r) => r.state === "waiting") : undefined;
        }, 5_000);
        assert.equal(held.stepId, "mail");
        assert.ok(held.dueAt! > clock.now() + 7 * 24 * H - 60_000, "held until the first email leaves the week");
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(received("cap@example.test").length, 1, "the cap holds across journeys");
        clock.advance(7 * 24 * H + M);
        await until("the held email at the sink", async () => received("cap@example.test").length === 2, 10_000);
        const subjects = received("cap@example.test").map((m) => subjectOf(m.raw)).sort();
        assert.deepEqual(subjects, ["First for Cap", "Second for Cap"]);
      } finally {
        await server.app.services.messageLimits.set(workspaceId, { caps: [], quietHours: null });
      }
    });

    test("a time window in each person's timezone: Tokyo and New York wait for their own 'from' hour", async () => {
      const zones = { "tok@example.test": "Asia/Tokyo", "nyc@example.test": "America/New_York" };
      // The window opens at the next whole hour that is at least two hours away in Tokyo's local time, one hour long.
      const tokyoHour = (localHour("Asia/Tokyo", clock.now()) + 2) % 24;
      const journey = await server.app.services.journeys.create(
        workspaceId,
        {
          name: "morning",
          trigger: { event: { name: "window_go" } },
          defaults: { from: "news@brand.test" },
          steps: [
            { id: "window", type: "time_window", days: [0, 1, 2, 3, 4, 5, 6], from: `${String(tokyoHour).padStart(2, "0")}:00`, to: `${String((tokyoHour + 1) % 24).padStart(2, "0")}:00`, timezone: "person", fallback: "UTC" },
            { id: "mail", type: "email", subject: "In your window", text: "x" },
          ],
        },
        { state: "live" },
      );
      for (const [email, timezone] of Object.entries(zones)) {
        const id = email.split("@")[0]!;
        await cio.identify(id, { email, timezone });
        await cio.track(id, { name: "window_go", data: {} });
      }
      const due: Record<string, number> = {};
      for (const [email, timezone] of Object.entries(zones)) {
        const run = await until(`${email}'s run to wait for its window`, async () => (await runsOf(email.split("@")[0]!, journey.journeyId)).find((r) => r.state === "waiting"), 5_000);
        due[email] = run.dueAt!;
        assert.equal(run.dueAt, nextLocalHour(timezone, tokyoHour, clock.now()), `${email} waits for ${tokyoHour}:00 in ${timezone}`);
      }
      assert.notEqual(due["tok@example.test"], due["nyc@example.test"], "the same local hour is a different instant");
      const [firstEmail, secondEmail] = Object.keys(due).sort((a, b) => due[a]! - due[b]!) as [string, string];
      clock.advance(due[firstEmail]! - clock.now() + 1_000);
      await until(`${firstEmail}'s email`, async () => received(firstEmail).length === 1, 10_000);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(received(secondEmail).length, 0, "the other person's window has not opened");
      clock.advance(due[secondEmail]! - clock.now() + 1_000);
      await until(`${secondEmail}'s email`, async () => received(secondEmail).length === 1, 10_000);
    });
  });
}

function localHour(timeZone: string, at: number): number {
  return Number(new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", hourCycle: "h23" }).format(new Date(at)));
}

/** The next instant after `now` at which the local time in the zone is hour:00 (computed by scanning whole minutes, independently of the runtime's code). */
function nextLocalHour(timeZone: string, hour: number, now: number): number {
  const format = new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  for (let t = Math.ceil(now / M) * M; t < now + 49 * H; t += M) {
    if (format.format(new Date(t)) === `${String(hour).padStart(2, "0")}:00`) return t;
  }
  throw new Error("no such hour within two days");
}
