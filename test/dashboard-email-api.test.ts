// The dashboard's email area over real HTTP (issue 13): stats, suppressions and bounces, the
// queue and sending domains, against a running server whose MTA relays to a local SMTP sink
// (550 for @gone.test, 451 for @slow.test) and whose domain checks ask a local DNS zone. Each
// call is tried without a session (401), with bad input (400 in the dashboard's error form), by a
// viewer where it changes something (403) and about a workspace the session is not granted
// (403). Runs on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ServerClient } from "postmark";
import { startTestServer, type TestServer } from "./support/server.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { eventually } from "./support/eventually.js";
import { createTempDatabase } from "./support/stores.js";
import { startDnsZoneServer, type DnsZoneServer } from "../src/sending-domains/testing/dns-zone-server.js";
import type { StatsAnswer } from "../src/api/dashboard/stats.contract.js";
import type { BounceAnswer, BouncesAnswer, SuppressionsAnswer } from "../src/api/dashboard/suppressions.contract.js";
import type { DestinationAnswer, QueueAnswer } from "../src/api/dashboard/queue.contract.js";
import type { DomainView, DomainsAnswer } from "../src/api/dashboard/domains.contract.js";

const PASSWORD = "correct horse battery staple";

interface Caller {
  cookie: string;
  csrf: string;
}

const targets: Array<{ name: string; databaseUrl: () => Promise<{ url: string | null; drop: () => Promise<void> }> }> = [
  { name: "sqlite", databaseUrl: async () => ({ url: null, drop: async () => undefined }) },
];
if (process.env.TEST_DATABASE_URL) targets.push({ name: "postgres", databaseUrl: () => createTempDatabase(process.env.TEST_DATABASE_URL!) });

for (const target of targets) {
  describe(`dashboard email area API (${target.name})`, () => {
    let sink: SmtpSink;
    let dns: DnsZoneServer;
    let server: TestServer;
    let dropDatabase: () => Promise<void> = async () => undefined;
    let shop: { id: string; pm: ServerClient };
    let rival: { id: string; pm: ServerClient };
    let admin: Caller;
    let viewer: Caller;
    /** An admin granted only the rival workspace. */
    let outsider: Caller;

    const call = (method: string, path: string, as: Caller | null, body?: unknown) =>
      fetch(server.url + "/api/app" + path, {
        method,
        headers: {
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...(as ? { cookie: as.cookie, "x-csrf-token": as.csrf } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    const json = async <T>(res: Response, status = 200): Promise<T> => {
      const text = await res.text();
      assert.equal(res.status, status, text);
      return JSON.parse(text) as T;
    };
    const refused = async (res: Response, status: number, code: string) => {
      const body = (await json<{ error: { code: string; message: string } }>(res, status)).error;
      assert.equal(body.code, code, body.message);
      assert.ok(body.message.length > 0);
    };
    const signIn = async (email: string): Promise<Caller> => {
      const res = await call("POST", "/session", null, { email, password: PASSWORD });
      const body = await json<{ csrfToken: string }>(res);
      return { cookie: (res.headers.get("set-cookie") ?? "").split(";")[0]!, csrf: body.csrfToken };
    };
    const ws = (id: string, path: string) => `/workspaces/${id}${path}`;

    before(async () => {
      sink = await startSmtpSink({
        rcptReply: (rcpt) =>
          rcpt.endsWith("@gone.test") ? { code: 550, message: "5.1.1 User unknown" } : rcpt.endsWith("@slow.test") ? { code: 451, message: "4.4.1 Try again later" } : null,
      });
      dns = await startDnsZoneServer();
      const db = await target.databaseUrl();
      dropDatabase = db.drop;
      // Retries an hour apart: deferred mail stays deferred unless someone retries it now.
      server = await startTestServer({
        POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
        POSTHORN_RETRY_SCHEDULE: "1h",
        POSTHORN_DNS_SERVERS: dns.address,
        ...(db.url ? { DATABASE_URL: db.url } : {}),
      });
      const host = server.url.replace(/^http:\/\//, "");
      const made = async (name: string) => {
        const w = await server.app.services.workspaces.create(name, { sandbox: false });
        return { id: w.workspace.id, pm: new ServerClient(w.serverToken, { useHttps: false, requestHost: host, timeout: 10 }) };
      };
      shop = await made("shop");
      rival = await made("rival");
      const users = server.app.services.users;
      await users.create({ email: "ann@example.com", password: PASSWORD, role: "admin", workspaces: ["shop"] });
      await users.create({ email: "vic@example.com", password: PASSWORD, role: "viewer", workspaces: ["shop"] });
      await users.create({ email: "rob@example.com", password: PASSWORD, role: "admin", workspaces: ["rival"] });
      admin = await signIn("ann@example.com");
      viewer = await signIn("vic@example.com");
      outsider = await signIn("rob@example.com");

      await shop.pm.sendEmail({ From: "app@shop.test", To: "one@fine.test", Subject: "a", TextBody: "a", Tag: "welcome" });
      await shop.pm.sendEmail({ From: "app@shop.test", To: "two@fine.test", Subject: "b", TextBody: "b" });
      await shop.pm.sendEmail({ From: "app@shop.test", To: "gone@gone.test", Subject: "c", TextBody: "c", Tag: "welcome" });
      await shop.pm.sendEmail({ From: "app@shop.test", To: "late@slow.test", Subject: "d", TextBody: "d" });
      await rival.pm.sendEmail({ From: "app@rival.test", To: "theirs@slow.test", Subject: "e", TextBody: "e" });
    });
    after(async () => {
      await server?.close();
      await sink?.close();
      await dns?.close();
      await dropDatabase();
    });

    it("refuses every call without a session (401)", async () => {
      for (const path of [ws(shop.id, "/stats"), ws(shop.id, "/suppressions"), ws(shop.id, "/suppressions/export"), ws(shop.id, "/bounces"), ws(shop.id, "/queue"), "/domains"]) {
        await refused(await call("GET", path, null), 401, "SESSION_REQUIRED");
      }
      await refused(await call("POST", ws(shop.id, "/queue/retry"), null, {}), 401, "SESSION_REQUIRED");
    });

    it("stats: counts per day with rates, bounces by type and destinations, filtered by stream and tag", async () => {
      const stats = await eventually(async () => {
        const s = await json<StatsAnswer>(await call("GET", ws(shop.id, "/stats"), viewer));
        return s.totals.accepted === 4 && s.totals.delivered === 2 && s.totals.bounced === 1 ? s : null;
      });
      assert.equal(stats.bucket, "day");
      assert.equal(stats.series.length, 30);
      const today = stats.series[stats.series.length - 1]!;
      assert.equal(today.at, new Date().toISOString().slice(0, 10));
      assert.deepEqual([today.accepted, today.delivered, today.bounced], [4, 2, 1]);
      assert.ok(Math.abs(today.rates.delivery! - 2 / 3) < 1e-9);
      assert.ok(Math.abs(today.rates.bounce! - 1 / 3) < 1e-9);
      assert.equal(today.rates.open, 0);
      assert.equal(stats.series[0]!.rates.delivery, null, "a day with nothing has no rate");
      assert.deepEqual(stats.bouncesByType, [{ type: "HardBounce", count: 1 }]);
      const byDomain = Object.fromEntries(stats.destinations.map((d) => [d.domain, d]));
      assert.deepEqual([byDomain["fine.test"]?.delivered, byDomain["fine.test"]?.deliveryRate], [2, 1]);
      assert.deepEqual([byDomain["gone.test"]?.bounced, byDomain["gone.test"]?.deliveryRate], [1, 0]);
      assert.equal(byDomain["slow.test"]?.waiting, 1, "the rival's mail to the same destination is not counted");
      assert.ok(stats.streams.some((s) => s.id === "outbound") && !stats.streams.some((s) => s.id === "inbound"));

      // A day or two is drawn by the hour, from the hourly rollups.
      const todayOnly = await json<StatsAnswer>(await call("GET", ws(shop.id, `/stats?from=${today.at}&to=${today.at}`), viewer));
      assert.equal(todayOnly.bucket, "hour");
      assert.equal(todayOnly.series.length, 24);
      assert.equal(todayOnly.series[0]!.at, `${today.at}T00:00Z`);
      assert.deepEqual(
        todayOnly.series.filter((b) => b.accepted > 0).map((b) => [b.accepted, b.delivered, b.bounced]).reduce((a, b) => a.map((n, i) => n + b[i]!), [0, 0, 0]),
        [4, 2, 1],
      );
      assert.deepEqual([todayOnly.totals.accepted, todayOnly.totals.delivered], [4, 2]);
      assert.equal((await json<StatsAnswer>(await call("GET", ws(shop.id, "/stats?from=2026-01-01&to=2026-01-03"), viewer))).bucket, "day");

      const tagged = await json<StatsAnswer>(await call("GET", ws(shop.id, "/stats?tag=welcome&stream=outbound&from=2020-01-01&to=2020-01-03"), viewer));
      assert.equal(tagged.series.length, 3);
      assert.equal(tagged.totals.accepted, 0);
      const welcome = await json<StatsAnswer>(await call("GET", ws(shop.id, "/stats?tag=welcome"), viewer));
      assert.deepEqual([welcome.totals.accepted, welcome.totals.delivered, welcome.totals.bounced], [2, 1, 1]);

      await refused(await call("GET", ws(shop.id, "/stats?from=yesterday"), viewer), 400, "DASHBOARD_REQUEST_INVALID");
      await refused(await call("GET", ws(shop.id, "/stats?from=2026-02-30&to=2026-03-03"), viewer), 400, "DASHBOARD_REQUEST_INVALID");
      await refused(await call("GET", ws(shop.id, "/stats?from=2026-02-01&to=2026-01-01"), viewer), 400, "DASHBOARD_REQUEST_INVALID");
      await refused(await call("GET", ws(shop.id, "/stats?from=2000-01-01&to=2026-01-01"), viewer), 400, "DASHBOARD_REQUEST_INVALID");
      await refused(await call("GET", ws(shop.id, "/stats"), outsider), 403, "NOT_PERMITTED");
    });

    it("suppressions: a hard bounce is listed, searched, exported, and an admin reactivates it", async () => {
      const list = await eventually(async () => {
        const l = await json<SuppressionsAnswer>(await call("GET", ws(shop.id, "/suppressions"), viewer));
        return l.total === 1 ? l : null;
      });
      assert.deepEqual(list.suppressions.map((s) => [s.email, s.reason, s.origin]), [["gone@gone.test", "HardBounce", "Recipient"]]);
      assert.equal((await json<SuppressionsAnswer>(await call("GET", ws(shop.id, "/suppressions?email=GONE%40"), viewer))).total, 1);
      assert.equal((await json<SuppressionsAnswer>(await call("GET", ws(shop.id, "/suppressions?email=%25"), viewer))).total, 0, "% is matched literally");
      assert.equal((await json<SuppressionsAnswer>(await call("GET", ws(shop.id, "/suppressions?stream=broadcast"), viewer))).total, 0);
      await refused(await call("GET", ws(shop.id, "/suppressions?stream=nope"), viewer), 404, "STREAM_NOT_FOUND");
      await refused(await call("GET", ws(shop.id, "/suppressions?count=0"), viewer), 400, "DASHBOARD_REQUEST_INVALID");
      await refused(await call("GET", ws(shop.id, "/suppressions"), outsider), 403, "NOT_PERMITTED");

      // By hand: an admin suppresses an address (its CSV cell starts with "=": quoted against formulas).
      await refused(await call("POST", ws(shop.id, "/suppressions"), viewer, { stream: "outbound", email: "x@fine.test" }), 403, "NOT_PERMITTED");
      await refused(await call("POST", ws(shop.id, "/suppressions"), admin, { stream: "outbound" }), 400, "DASHBOARD_REQUEST_INVALID");
      await refused(await call("POST", ws(rival.id, "/suppressions"), admin, { stream: "outbound", email: "x@fine.test" }), 403, "NOT_PERMITTED");
      const added = await json<{ outcome: string }>(await call("POST", ws(shop.id, "/suppressions"), admin, { stream: "outbound", email: "=cmd@fine.test" }));
      assert.equal(added.outcome, "suppressed");
      const bad = await json<{ outcome: string; message: string }>(await call("POST", ws(shop.id, "/suppressions"), admin, { stream: "outbound", email: "not an address" }));
      assert.equal(bad.outcome, "failed");

      const csv = await call("GET", ws(shop.id, "/suppressions/export?stream=outbound"), viewer);
      assert.equal(csv.status, 200);
      assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/);
      assert.match(csv.headers.get("content-disposition") ?? "", /^attachment; filename="suppressions-outbound\.csv"$/);
      const lines = (await csv.text()).trim().split("\r\n");
      assert.equal(lines[0], "email,reason,origin,created_at");
      assert.deepEqual(lines.slice(1).map((l) => l.split(",").slice(0, 3).join(",")).sort(), ["'=cmd@fine.test,ManualSuppression,Customer", "gone@gone.test,HardBounce,Recipient"]);
      await refused(await call("GET", ws(rival.id, "/suppressions/export"), admin), 403, "NOT_PERMITTED");

      await refused(await call("POST", ws(shop.id, "/suppressions/reactivate"), viewer, { stream: "outbound", email: "gone@gone.test" }), 403, "NOT_PERMITTED");
      const noCsrf = await fetch(server.url + "/api/app" + ws(shop.id, "/suppressions/reactivate"), { method: "POST", headers: { cookie: admin.cookie, "content-type": "application/json" }, body: "{}" });
      await refused(noCsrf, 403, "CSRF_FAILED");
      const reactivated = await json<{ outcome: string }>(await call("POST", ws(shop.id, "/suppressions/reactivate"), admin, { stream: "outbound", email: "gone@gone.test" }));
      assert.equal(reactivated.outcome, "deleted");
      const after = await json<SuppressionsAnswer>(await call("GET", ws(shop.id, "/suppressions"), viewer));
      assert.deepEqual(after.suppressions.map((s) => s.email), ["=cmd@fine.test"]);
      await json(await call("POST", ws(shop.id, "/suppressions/reactivate"), admin, { stream: "outbound", email: "=cmd@fine.test" }));
    });

    it("bounces: listed with type and the remote's words, detail with the (absent) report, activation refused when nothing is inactive", async () => {
      const list = await json<BouncesAnswer>(await call("GET", ws(shop.id, "/bounces?stream=outbound"), viewer));
      assert.equal(list.total, 1);
      const bounce = list.bounces[0]!;
      assert.deepEqual([bounce.email, bounce.type], ["gone@gone.test", "HardBounce"]);
      assert.match(bounce.details, /User unknown/);
      assert.equal((await json<BouncesAnswer>(await call("GET", ws(shop.id, "/bounces?email=nobody"), viewer))).total, 0);
      const detail = await json<BounceAnswer>(await call("GET", ws(shop.id, `/bounces/${bounce.id}`), viewer));
      assert.equal(detail.bounce.id, bounce.id);
      assert.equal(detail.dump, "");
      await refused(await call("GET", ws(shop.id, "/bounces/abc"), viewer), 400, "DASHBOARD_REQUEST_INVALID");
      await refused(await call("GET", ws(shop.id, "/bounces/999999"), viewer), 404, "BOUNCE_NOT_FOUND");
      await refused(await call("GET", ws(rival.id, `/bounces/${bounce.id}`), outsider), 404, "BOUNCE_NOT_FOUND");
      await refused(await call("POST", ws(shop.id, `/bounces/${bounce.id}/activate`), viewer), 403, "NOT_PERMITTED");
      // Reactivated above, so the record no longer holds the address inactive.
      await refused(await call("POST", ws(shop.id, `/bounces/${bounce.id}/activate`), admin), 409, "BOUNCE_NOT_ACTIVATABLE");
    });

    it("queue: the workspace's backlog by destination with its last reply, and retry now for it alone", async () => {
      const queue = await eventually(async () => {
        const q = await json<QueueAnswer>(await call("GET", ws(shop.id, "/queue"), viewer));
        return q.destinations.some((d) => d.domain === "slow.test" && d.deferred === 1) ? q : null;
      });
      const slow = queue.destinations.find((d) => d.domain === "slow.test")!;
      assert.match(slow.lastReply ?? "", /451.*Try again later/);
      assert.ok(slow.nextAttemptAt > Date.now() + 30 * 60_000, "the next attempt is an hour out");
      assert.deepEqual(queue.waiting, { queued: 0, deferred: 1, inFlight: 0 }, "the rival's deferred mail is not counted");

      const waiting = await json<DestinationAnswer>(await call("GET", ws(shop.id, "/queue/destinations/SLOW.test"), viewer));
      assert.deepEqual(waiting.deliveries.map((d) => [d.recipient, d.state, d.attempts]), [["late@slow.test", "deferred", 1]]);
      await refused(await call("GET", ws(shop.id, "/queue/destinations/a%20b"), viewer), 400, "DASHBOARD_REQUEST_INVALID");

      await refused(await call("POST", ws(shop.id, "/queue/retry"), viewer, { domain: "slow.test" }), 403, "NOT_PERMITTED");
      await refused(await call("POST", ws(shop.id, "/queue/retry"), admin, { deliveryId: "one" }), 400, "DASHBOARD_REQUEST_INVALID");
      await refused(await call("POST", ws(shop.id, "/queue/retry"), admin, { domain: "slow.test", extra: 1 }), 400, "DASHBOARD_REQUEST_INVALID");
      await refused(await call("POST", ws(rival.id, "/queue/retry"), admin, { domain: "slow.test" }), 403, "NOT_PERMITTED");
      // Another workspace's delivery id retries nothing.
      const rivalWaiting = await eventually(async () => {
        const w = await server.app.services.queue.waitingFor(rival.id, "slow.test");
        return w[0]?.state === "deferred" ? w : null;
      });
      assert.deepEqual(await json(await call("POST", ws(shop.id, "/queue/retry"), admin, { deliveryId: rivalWaiting[0]!.id })), { retried: 0 });

      const retried = await json<{ retried: number }>(await call("POST", ws(shop.id, "/queue/retry"), admin, { domain: "slow.test" }));
      assert.equal(retried.retried, 1);
      // The MTA tries it again (and is deferred again); the rival's delivery keeps its time.
      await eventually(async () => (await server.app.services.queue.waitingFor(shop.id, "slow.test"))[0]?.attempts === 2);
      const rivalAfter = await server.app.services.queue.waitingFor(rival.id, "slow.test");
      assert.equal(rivalAfter[0]!.nextAttemptAt, rivalWaiting[0]!.nextAttemptAt);
    });

    it("domains: admins only, with every record, and verify now checks DNS", async () => {
      const created = await server.app.services.domains.create({ name: "shop.test" });
      await refused(await call("GET", "/domains", viewer), 403, "NOT_PERMITTED");
      await refused(await call("POST", `/domains/${created.id}/verify`, viewer), 403, "NOT_PERMITTED");
      const listed = await json<DomainsAnswer>(await call("GET", "/domains", admin));
      const domain = listed.domains.find((d) => d.name === "shop.test")!;
      assert.deepEqual(domain.records.map((r) => r.purpose), ["DKIM (pending)", "SPF", "Return-Path", "DMARC"]);
      assert.deepEqual(domain.records.map((r) => r.verified), [false, false, false, null]);
      const dkim = domain.records[0]!;
      assert.match(dkim.value, /^v=DKIM1; k=rsa; p=/);

      dns.zone = { [dkim.host]: { TXT: [dkim.value] } };
      const verified = await json<DomainView>(await call("POST", `/domains/${created.id}/verify`, admin));
      assert.equal(verified.dkimVerified, true);
      assert.equal(verified.records[0]!.purpose, "DKIM");
      assert.equal(verified.records[0]!.verified, true);
      assert.ok(verified.lastCheckedAt !== null);
      await refused(await call("POST", "/domains/x/verify", admin), 400, "DASHBOARD_REQUEST_INVALID");
      await refused(await call("POST", "/domains/999999/verify", admin), 404, "DOMAIN_NOT_FOUND");
    });
  });
}
