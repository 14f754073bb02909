// The instruments end to end (issue 14): mail sent through the Postmark API to a real SMTP server on
// loopback, then /metrics scraped over HTTP and its counters compared with what happened; where
// /metrics is served and to whom (the metrics listener, the token on the API port); /readyz's 200
// and its 503s with the failed check named. On SQLite, and on PostgreSQL with TEST_DATABASE_URL.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { eventually } from "./support/eventually.js";
import { serverDatabases } from "./support/stores.js";
import { samples, value } from "./support/prometheus-text.js";

const TOKEN = "scrape-token-0123456789";

async function scrape(url: string, token: string | null = null): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  assert.equal(res.status, 200, await res.clone().text());
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return samples(await res.text());
}

/** A request with any method, which fetch would refuse to send for some (e.g. a body with GET). */
function rawRequest(url: string, method: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

for (const target of serverDatabases()) {
  describe(`metrics and readiness (${target.name})`, () => {
    let sink: SmtpSink;
    let server: TestServer;
    let drop: () => Promise<void>;
    let token: string;
    let workspaceId: string;
    const send = (to: string) =>
      fetch(`${server.url}/email`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", "x-postmark-server-token": token },
        body: JSON.stringify({ From: "a@acme.test", To: to, Subject: "s", TextBody: "t" }),
      });

    before(async () => {
      sink = await startSmtpSink({
        rcptReply: (rcpt, attempt) => {
          if (rcpt.startsWith("greylist")) return attempt === 1 ? { code: 451, message: "4.7.1 Greylisted, try again later" } : null;
          if (rcpt.startsWith("unknown")) return { code: 550, message: "5.1.1 No such user" };
          return null;
        },
      });
      const db = await target.open();
      drop = db.drop;
      server = await startTestServer({
        ...db.env,
        POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
        POSTHORN_RETRY_SCHEDULE: "300ms",
        POSTHORN_VERP: "false",
        POSTHORN_METRICS_LISTEN: "127.0.0.1:0",
        POSTHORN_METRICS_BACKLOG_CACHE: "1ms",
        // Above the second a consumer may take to save a cursor that only passed others' events (outbox.runner.ts).
        POSTHORN_READY_MAX_OUTBOX_LAG: "2s",
      });
      token = await server.createWorkspace("acme");
      workspaceId = (await server.app.services.workspaces.get("acme")).id;
    });

    after(async () => {
      await server?.close();
      await sink?.close();
      await drop?.();
    });

    test("the counters equal what happened to mail sent through the Postmark API", async () => {
      for (let i = 0; i < 3; i++) assert.equal((await send(`ok${i}@example.test`)).status, 200);
      assert.equal((await send("unknown@example.test")).status, 200);
      assert.equal((await send("greylist@other.test")).status, 200);
      // The bounce suppressed unknown@ (in the transaction that recorded it): a message to it and
      // another is then accepted with it suppressed.
      await eventually(async () => value(await scrape(server.app.metricsUrl!), "posthorn_deliveries_total", { outcome: "bounced", destination: "example.test" }) === 1);
      await eventually(async () => sink.messages.length >= 4);
      const mixed = await send("unknown@example.test, ok9@example.test");
      assert.equal(mixed.status, 200);
      assert.equal((await send("not an address")).status, 422);
      await eventually(async () => sink.messages.length >= 5);

      const m = await eventually(async () => {
        const now = await scrape(server.app.metricsUrl!);
        return value(now, "posthorn_deliveries_total", { outcome: "delivered", destination: "example.test" }) === 4 ? now : null;
      });
      assert.equal(value(m, "posthorn_messages_accepted_total", { door: "api", workspace: workspaceId }), 6);
      assert.equal(value(m, "posthorn_deliveries_total", { outcome: "delivered", destination: "example.test" }), 4);
      assert.equal(value(m, "posthorn_deliveries_total", { outcome: "delivered", destination: "other.test" }), 1);
      assert.equal(value(m, "posthorn_deliveries_total", { outcome: "deferred", destination: "other.test" }), 1);
      assert.equal(value(m, "posthorn_deliveries_total", { outcome: "bounced", destination: "example.test" }), 1);
      assert.equal(value(m, "posthorn_deliveries_total", { outcome: "suppressed", destination: "example.test" }), 1);
      // Seven attempts: four delivered at once, the bounce, the greylisted one twice.
      assert.equal(value(m, "posthorn_delivery_attempt_duration_seconds_count"), 7);
      // HTTP requests by route pattern and status; the refused one counted under its own status.
      assert.equal(value(m, "posthorn_http_requests_total", { route: "/email", method: "POST", status: "200" }), 6);
      assert.equal(value(m, "posthorn_http_requests_total", { route: "/email", method: "POST", status: "422" }), 1);
      assert.equal(value(m, "posthorn_http_request_duration_seconds_count", { route: "/email", method: "POST" }), 7);
      // The queue is empty and every outbox consumer has read everything (a cursor that passed only
      // events of other types is saved within a second).
      const settled = await eventually(async () => {
        const now = await scrape(server.app.metricsUrl!);
        return [...now.entries()].every(([k, v]) => !k.startsWith("posthorn_outbox_behind_events{") || v === 0) ? now : null;
      });
      assert.equal(value(m, "posthorn_queue_deliveries", { state: "queued" }), 0);
      assert.equal(value(m, "posthorn_queue_deliveries", { state: "deferred" }), 0);
      assert.equal(value(m, "posthorn_queue_oldest_due_age_seconds"), 0);
      const consumers = [...settled.keys()].filter((k) => k.startsWith("posthorn_outbox_behind_seconds{"));
      assert.ok(consumers.length >= 3, consumers.join(" "));
      for (const k of consumers) assert.equal(settled.get(k), 0, k);
      // The process's own metrics.
      assert.ok(m.has("process_cpu_user_seconds_total"));
      assert.ok([...m.keys()].some((k) => k.startsWith("nodejs_eventloop_lag_seconds")));
    });

    test("an unknown path is counted as unmatched, not by its URL", async () => {
      await fetch(`${server.url}/no/such/call/12345`, { headers: { "x-postmark-server-token": token } });
      const m = await scrape(server.app.metricsUrl!);
      assert.equal(value(m, "posthorn_http_requests_total", { route: "unmatched", method: "GET", status: "404" }), 1);
      assert.ok(![...m.keys()].some((k) => k.includes("12345")));
    });

    test("with a metrics listener, /metrics is not served on the API port", async () => {
      const res = await fetch(`${server.url}/metrics`, { headers: { "x-postmark-server-token": token } });
      assert.equal(res.status, 404);
      assert.doesNotMatch(await res.text(), /posthorn_/);
    });

    test("the metrics listener answers /readyz 200 with each check, /healthz, and refuses other methods and paths", async () => {
      const ready = await eventually(async () => {
        const res = await fetch(`${server.app.metricsUrl}/readyz`);
        return res.status === 200 ? res : null;
      });
      const body = (await ready.json()) as { status: string; failed: string[]; checks: Record<string, { ok: boolean; detail: string }> };
      assert.equal(body.status, "ready");
      assert.deepEqual(body.failed, []);
      assert.deepEqual(Object.keys(body.checks).sort(), ["database", "listeners", "outbox", "queue", "roles"]);
      assert.match(body.checks.listeners!.detail, /api, smtp:/);
      // The API port answers the same.
      assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      assert.equal((await fetch(`${server.app.metricsUrl}/healthz`)).status, 200);
      const post = await rawRequest(`${server.app.metricsUrl}/metrics`, "POST");
      assert.equal(post.status, 405);
      assert.equal((await rawRequest(`${server.app.metricsUrl}/readyz`, "DELETE")).status, 405);
      const unknown = await fetch(`${server.app.metricsUrl}/metrics/../secret`);
      assert.equal(unknown.status, 404);
      assert.equal((await fetch(`${server.app.metricsUrl}/`)).status, 404);
    });

    test("/readyz answers 503 naming the outbox when a consumer is behind, and 200 once it is not", async () => {
      const db = server.app.services.store.db;
      // The outbound webhooks' cursor (no hooks are set, so reading the log again posts nothing)
      // held by a process that hangs: back at the log's start, leased for an hour to "elsewhere".
      // This process's runner loses its lease and cannot take it back, so the consumer is stuck.
      const held = await db.selectFrom("outbox_cursors").selectAll().where("consumer", "=", "webhooks.outbound").executeTakeFirstOrThrow();
      await db.updateTable("outbox_cursors").set({ position_tx: 0, position_id: 0, lease_owner: "elsewhere", lease_until: Date.now() + 3_600_000 }).where("consumer", "=", "webhooks.outbound").execute();
      try {
        // Not ready once its oldest unread event is older than the 2 s allowed (the mail above is).
        const res = await eventually(async () => {
          const answer = await fetch(`${server.app.metricsUrl}/readyz`);
          return answer.status === 503 ? answer : null;
        });
        const body = (await res.json()) as { status: string; failed: string[]; checks: Record<string, { ok: boolean; detail: string }> };
        assert.equal(body.status, "not ready");
        assert.deepEqual(body.failed, ["outbox"]);
        assert.match(body.checks.outbox!.detail, /webhooks\.outbound \(\d+\.\d s, \d+ events\)/);
        const m = await scrape(server.app.metricsUrl!);
        // Each outcome of the mail sent above (six delivered or bounced) is unread again.
        assert.ok(value(m, "posthorn_outbox_behind_events", { consumer: "webhooks.outbound" }) >= 6);
        assert.ok(value(m, "posthorn_outbox_behind_seconds", { consumer: "webhooks.outbound" }) >= 2);
        assert.equal(value(m, "posthorn_outbox_behind_events", { consumer: "webhooks.inbound" }), 0);
      } finally {
        // The hung process's lease ends: the runner takes the cursor back where it was.
        await db.updateTable("outbox_cursors").set({ position_tx: held.position_tx, position_id: held.position_id, lease_owner: null, lease_until: 0 }).where("consumer", "=", "webhooks.outbound").execute();
      }
      await eventually(async () => (await fetch(`${server.app.metricsUrl}/readyz`)).status === 200);
    });

    test("/readyz answers 503 naming the listeners when the SMTP listener has stopped", async () => {
      const closing = await startTestServer({ POSTHORN_METRICS_LISTEN: "127.0.0.1:0" });
      try {
        assert.equal((await fetch(`${closing.app.metricsUrl}/readyz`)).status, 200);
        await closing.app.smtp!.submission[0]!.close();
        const res = await fetch(`${closing.app.metricsUrl}/readyz`);
        assert.equal(res.status, 503);
        const body = (await res.json()) as { failed: string[]; checks: Record<string, { detail: string }> };
        assert.deepEqual(body.failed, ["listeners"]);
        assert.match(body.checks.listeners!.detail, /not accepting connections: smtp:/);
      } finally {
        await closing.close();
      }
    });
  });
}

describe("who may scrape /metrics", () => {
  test("on the API port only with POSTHORN_METRICS_TOKEN, presented as a bearer token", async () => {
    const server = await startTestServer({ POSTHORN_METRICS_TOKEN: TOKEN });
    try {
      const none = await fetch(`${server.url}/metrics`);
      assert.equal(none.status, 401);
      assert.equal(((await none.json()) as { ErrorCode: number }).ErrorCode, 10);
      assert.equal((await fetch(`${server.url}/metrics`, { headers: { authorization: "Bearer wrong-token-0123456789" } })).status, 401);
      assert.equal((await fetch(`${server.url}/metrics`, { headers: { authorization: TOKEN } })).status, 401);
      const m = await scrape(server.url, TOKEN);
      // The refused scrapes were themselves counted, under the route's pattern.
      assert.equal(value(m, "posthorn_http_requests_total", { route: "/metrics", method: "GET", status: "401" }), 3);
      assert.equal(server.app.metricsUrl, null);
    } finally {
      await server.close();
    }
  });

  test("without a token or a listener, /metrics is not served at all", async () => {
    const server = await startTestServer();
    try {
      const res = await fetch(`${server.url}/metrics`);
      assert.notEqual(res.status, 200);
      assert.doesNotMatch(await res.text(), /posthorn_/);
      assert.equal(server.app.metricsUrl, null);
    } finally {
      await server.close();
    }
  });

  test("the metrics listener asks for the token too when one is set", async () => {
    const server = await startTestServer({ POSTHORN_METRICS_TOKEN: TOKEN, POSTHORN_METRICS_LISTEN: "127.0.0.1:0" });
    try {
      const res = await fetch(`${server.app.metricsUrl}/metrics`);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="posthorn metrics"');
      assert.ok((await scrape(server.app.metricsUrl!, TOKEN)).has("process_cpu_user_seconds_total"));
      // Probes need no token; the API port does not serve /metrics, token or not.
      assert.equal((await fetch(`${server.app.metricsUrl}/readyz`)).status, 200);
      assert.notEqual((await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
    } finally {
      await server.close();
    }
  });

  test("a process without the api role serves its metrics and probes on the listener", async () => {
    const server = await startTestServer({ POSTHORN_ROLES: "mta,worker", POSTHORN_METRICS_LISTEN: "127.0.0.1:0" }).catch((err: Error) => err);
    // startTestServer expects an API URL; read the listener from the app either way.
    if (server instanceof Error) throw server;
    try {
      const m = await scrape(server.app.metricsUrl!);
      assert.ok(m.has('posthorn_queue_deliveries{state="queued"}'));
      const ready = (await (await fetch(`${server.app.metricsUrl}/readyz`)).json()) as { checks: Record<string, unknown>; roles: string[] };
      assert.deepEqual(ready.roles, ["mta", "worker"]);
      assert.deepEqual(Object.keys(ready.checks).sort(), ["database", "listeners", "outbox", "queue", "roles"]);
    } finally {
      await server.close();
    }
  });

  test("a bad POSTHORN_METRICS_LISTEN or a short token is refused at start, naming the key", async () => {
    await assert.rejects(startTestServer({ POSTHORN_METRICS_LISTEN: "localhost" }), /POSTHORN_METRICS_LISTEN: must be host:port/);
    await assert.rejects(startTestServer({ POSTHORN_METRICS_TOKEN: "short" }), /POSTHORN_METRICS_TOKEN: must be at least 16 characters/);
  });
});
