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
  });
}
