// The instruments added under issue 14's "Instruments" after the first metrics: SMTP connections
// open per destination, webhook attempts by outcome, people operations (Track API events), journey
// runs waiting and timer lateness. Each is driven through the real thing (mail to a loopback SMTP
// sink, a Postmark webhook posted to a loopback receiver, events through the Track API's HTTPS
// port with the official customerio-node client, a journey's delay fired on a clock the test
// moves) and read back from /metrics on the metrics listener. SQLite; PostgreSQL with TEST_DATABASE_URL.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { TrackClient } from "customerio-node";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";
import { serverDatabases } from "./support/stores.js";
import { MovableClock, until } from "./support/segments.js";
import { samples, value } from "./support/prometheus-text.js";

const H = 3_600_000;

for (const target of serverDatabases()) {
  describe(`metrics of connections, webhooks, people and journeys (${target.name})`, () => {
    let sink: SmtpSink;
    let receiver: WebhookReceiver;
    let server: TestServer;
    let drop: () => Promise<void>;
    let token: string;
    let workspaceId: string;
    let cio: TrackClient;
    const clock = new MovableClock();
    const scrape = async () => samples(await (await fetch(`${server.app.metricsUrl}/metrics`)).text());
    const send = (to: string) =>
      fetch(`${server.url}/email`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", "x-postmark-server-token": token },
        body: JSON.stringify({ From: "a@acme.test", To: to, Subject: "s", TextBody: "t" }),
      });

    before(async () => {
      // DATA answered after 1.5 s: the connections stay open long enough to be scraped.
      sink = await startSmtpSink({ dataDelayMs: 1_500 });
      receiver = await startWebhookReceiver();
      const db = await target.open();
      drop = db.drop;
      server = await startTestServer(
        {
          ...db.env,
          POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
          POSTHORN_VERP: "false",
          POSTHORN_METRICS_LISTEN: "127.0.0.1:0",
          POSTHORN_METRICS_BACKLOG_CACHE: "1ms",
          POSTHORN_MAX_CONNECTIONS_PER_DESTINATION: "3",
          POSTHORN_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.1/32",
          POSTHORN_WEBHOOK_BACKOFF: "40ms",
          POSTHORN_TRACK_HTTPS_PORT: "0",
          POSTHORN_JOURNEYS_POLL: "100ms",
        },
        { clock },
      );
      token = await server.createWorkspace("acme");
      workspaceId = (await server.app.services.workspaces.get("acme")).id;
      const creds = await server.app.services.workspaces.createTrackCredentials("acme");
      const https = server.app.trackHttps!;
      cio = new TrackClient(creds.siteId, creds.apiKey, { url: "https://127.0.0.1/api/v1", port: Number(new URL(https.url).port), ca: readFileSync(https.certPath) });
    });

    after(async () => {
      await server?.close();
      await sink?.close();
      await receiver?.close();
      await drop?.();
    });

    test("SMTP connections open are reported per destination while they carry mail, never above the destination's cap", async () => {
      const relay = `relay 127.0.0.1:${sink.port}`;
      for (let i = 0; i < 6; i++) assert.equal((await send(`c${i}@conn.test`)).status, 200);
      // While DATA waits at the sink, the transport thread holds the connections: the scrape asks it.
      const during = await until("connections to be reported open", async () => {
        const m = await scrape();
        return value(m, "posthorn_smtp_connections_open", { destination: relay }) > 0 ? m : undefined;
      }, 10_000);
      assert.ok(value(during, "posthorn_smtp_connections_open", { destination: relay }) <= 3);
      await sink.waitForMessages(6, 20_000);
      // An idle connection quits after 5 s: the destination then reports none.
      await until("connections to close", async () => value(await scrape(), "posthorn_smtp_connections_open", { destination: relay }) === 0, 15_000);
    });

    test("webhook attempts are counted by kind and outcome: a failed post that is retried, then posted", async () => {
      let first = true;
      receiver.answer = () => {
        if (!first) return { status: 200 };
        first = false;
        return { status: 500 };
      };
      const hook = await fetch(`${server.url}/webhooks`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", "x-postmark-server-token": token },
        body: JSON.stringify({ Url: `${receiver.url}/hook`, MessageStream: "outbound", Triggers: { Delivery: { Enabled: true } } }),
      });
      assert.equal(hook.status, 200, await hook.clone().text());
      const before = await scrape();
      assert.equal((await send("w@hook.test")).status, 200);
      const m = await until("the webhook to be posted", async () => {
        const now = await scrape();
        return value(now, "posthorn_webhook_attempts_total", { kind: "outbound", outcome: "posted" }) === 1 ? now : undefined;
      }, 20_000);
      assert.equal(value(m, "posthorn_webhook_attempts_total", { kind: "outbound", outcome: "retrying" }) - value(before, "posthorn_webhook_attempts_total", { kind: "outbound", outcome: "retrying" }), 1);
      assert.equal(value(m, "posthorn_webhook_attempts_total", { kind: "outbound", outcome: "failed" }), 0);
      assert.equal(receiver.posts.length, 2);
    });

    test("Track API calls are counted as people operations by op, and a journey's waiting run and its timer's lateness are reported", async () => {
      await server.app.services.journeys.create(
        workspaceId,
        {
          name: "Welcome later",
          trigger: { event: { name: "signed_up" } },
          defaults: { from: "shop@acme.test" },
          steps: [
            { id: "pause", type: "delay", duration: "1h" },
            { id: "hello", type: "email", subject: "Hello", text: "x" },
          ],
        },
        { state: "live" },
      );
      await cio.identify("ann", { email: "ann@people.test" });
      await cio.identify("bob", { email: "bob@people.test" });
      await cio.track("ann", { name: "signed_up", data: {} });
      await cio.track("ann", { name: "viewed", data: {} });
      const m = await until("the run to wait", async () => {
        const now = await scrape();
        return value(now, "posthorn_journey_runs_waiting") === 1 ? now : undefined;
      }, 10_000);
      assert.equal(value(m, "posthorn_people_operations_total", { op: "identify", workspace: workspaceId }), 2);
      assert.equal(value(m, "posthorn_people_operations_total", { op: "track", workspace: workspaceId }), 2);
      assert.equal(value(m, "posthorn_journey_timer_lateness_seconds_count"), 0);
      // The delay is due an hour on; the clock jumps 90 s past it, so the timer fires 90 s late.
      clock.advance(H + 90_000);
      const fired = await until("the timer to fire", async () => {
        const now = await scrape();
        return value(now, "posthorn_journey_timer_lateness_seconds_count") === 1 && value(now, "posthorn_journey_runs_waiting") === 0 ? now : undefined;
      }, 10_000);
      const late = value(fired, "posthorn_journey_timer_lateness_seconds_sum");
      assert.ok(late >= 90 && late < 120, `lateness ${late} s`);
      assert.equal(value(fired, "posthorn_journey_timer_lateness_seconds_bucket", { le: "60" }), 0);
      assert.equal(value(fired, "posthorn_journey_timer_lateness_seconds_bucket", { le: "300" }), 1);
      await until("the journey's mail at the sink", async () => sink.messages.some((msg) => msg.rcptTo.includes("ann@people.test")), 10_000);
    });
  });
}
