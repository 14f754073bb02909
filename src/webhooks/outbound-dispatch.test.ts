// The dispatcher's care for outbound endpoints, against a real SQLite store and real HTTP
// endpoints on loopback: at most `endpointConcurrency` posts at once per endpoint, a hanging
// endpoint holds only its own posts, a failing endpoint is paused (its posts kept, not spent) and
// probed, and posts carry a signature that verifies.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { openTempSqlite } from "../../test/support/stores.js";
import { startWebhookReceiver, type WebhookReceiver } from "../../test/support/webhook-receiver.js";
import type { Store } from "../store/store.js";
import { EventsRepository } from "../events/events.repository.js";
import { Outbox } from "../events/outbox.js";
import { silentLogger } from "../shared/logger.js";
import { WorkspacesService, type Workspace } from "../workspaces/workspaces.service.js";
import { WebhookDeliveriesRepository } from "./webhook-deliveries.repository.js";
import { WebhookDispatcher, type WebhookDispatcherOptions } from "./webhook.dispatcher.js";
import { destinationPolicy } from "./webhook-destinations.js";
import { verifySignature } from "./webhook-signature.js";

const repo = new WebhookDeliveriesRepository();

describe("outbound webhook dispatch", () => {
  let store: Store;
  let acme: Workspace;
  let receiver: WebhookReceiver;
  let cause = 10_000;
  let now = Date.now();
  let realTime = true;
  const clock = { now: () => (realTime ? Date.now() : now) };

  before(async () => {
    store = await openTempSqlite();
    acme = (await new WorkspacesService({ store, clock }).create("acme", { sandbox: false })).workspace;
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await store.close();
    await receiver.close();
  });

  function dispatcher(options: Partial<WebhookDispatcherOptions> = {}): WebhookDispatcher {
    return new WebhookDispatcher({
      store,
      clock,
      logger: silentLogger(),
      outbox: new Outbox({ repository: new EventsRepository(store.dialect), clock }),
      repository: repo,
      sources: [
        {
          kind: "outbound",
          announcesOutcomes: false,
          retryDelaysMs: [10, 10, 10, 10, 10, 10, 10, 10, 10, 10],
          target: async (_w, _s, row) => ({ url: `${receiver.url}/e${row.webhook_id}`, body: row.body! }),
        },
      ],
      backoffMs: 10,
      timeoutMs: 1_000,
      destinations: destinationPolicy(["127.0.0.1/32"]),
      signingSecret: () => "whsec_test",
      ...options,
    });
  }

  async function schedule(endpoint: number, count: number, at: number): Promise<void> {
    const posts = Array.from({ length: count }, (_, i) => ({
      workspaceId: acme.id,
      kind: "outbound",
      subjectId: `m${endpoint}-${i}`,
      causeEventId: ++cause,
      webhookId: endpoint,
      body: JSON.stringify({ n: i }),
      orderKey: `${endpoint}:m${endpoint}-${i}`,
    }));
    await store.write((trx) => repo.schedule(trx, posts, at));
  }

  const posted = (endpoint: number) => receiver.posts.filter((p) => p.path === `/e${endpoint}` && p.status === 200).length;

  async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > end) assert.fail("timed out");
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it("makes at most endpointConcurrency posts at once to one endpoint, and every post, signed", async () => {
    receiver.posts.length = 0;
    receiver.maxConcurrent = 0;
    receiver.answer = () => ({ status: 200, delayMs: 60 });
    await schedule(1, 12, Date.now());
    const d = dispatcher({ endpointConcurrency: 3 });
    d.start();
    await until(() => posted(1) === 12);
    await d.stop();
    assert.equal(receiver.maxConcurrent, 3);
    const post = receiver.posts[0]!;
    assert.ok(verifySignature("whsec_test", String(post.headers["x-posthorn-signature"]), post.body, Math.floor(Date.now() / 1000)));
    assert.deepEqual((await repo.forEndpoint(store.db, 1)).map((r) => r.state), Array(12).fill("posted"));
  });

  it("keeps posting to other endpoints while one hangs", async () => {
    receiver.posts.length = 0;
    receiver.answer = (p) => (p.path === "/e2" ? "hang" : { status: 200 });
    await schedule(2, 4, Date.now());
    await schedule(3, 20, Date.now());
    const d = dispatcher({ endpointConcurrency: 4, timeoutMs: 5_000 });
    const started = Date.now();
    d.start();
    await until(() => posted(3) === 20, 3_000);
    assert.ok(Date.now() - started < 3_000, "not held up by the hanging endpoint's 5 s timeout");
    assert.equal(posted(2), 0);
    receiver.answer = () => ({ status: 200 });
    await d.stop();
  });

  it("pauses an endpoint after failures in a row, keeps its posts without spending attempts, probes it, then posts them all", async () => {
    realTime = false;
    now = Date.now() + 60_000;
    receiver.posts.length = 0;
    receiver.answer = (p) => (p.path === "/e4" ? { status: 500 } : { status: 200 });
    await schedule(4, 8, now);
    const d = dispatcher({ endpointConcurrency: 1, breakerThreshold: 3, breakerPauseMs: 1_000 });
    // Each pass: one post at a time (cap 1); the clock moves past each 10 ms retry delay.
    for (let i = 0; i < 20; i++) {
      await d.runOnce();
      now += 20;
    }
    assert.equal(receiver.posts.filter((p) => p.path === "/e4").length, 3, "three failures, then paused");
    assert.ok(d.breaker.isOpen(4));
    const rows = await repo.forEndpoint(store.db, 4);
    assert.equal(rows.reduce((n, r) => n + r.attempts, 0), 3, "posts given back while paused spend no attempt");
    assert.ok(rows.every((r) => r.state === "pending" || r.state === "retrying"), "none lost, none failed");

    // After the pause, one probe fails: paused again, for twice as long.
    now += 1_000;
    await d.runOnce();
    assert.equal(receiver.posts.filter((p) => p.path === "/e4").length, 4);
    now += 1_500;
    await d.runOnce();
    assert.equal(receiver.posts.filter((p) => p.path === "/e4").length, 4, "still paused (2 s now)");

    // The endpoint recovers: the next probe succeeds and closes the breaker; everything is posted.
    receiver.answer = () => ({ status: 200 });
    now += 600;
    for (let i = 0; i < 30 && posted(4) < 8; i++) {
      await d.runOnce();
      now += 20;
    }
    assert.equal(posted(4), 8);
    assert.equal(d.breaker.isOpen(4), false);
    assert.deepEqual((await repo.forEndpoint(store.db, 4)).map((r) => r.state), Array(8).fill("posted"));
    realTime = true;
  });

  it("posts a message's posts to one endpoint in order, the later waiting while the earlier is retried", async () => {
    realTime = false;
    now = Date.now() + 120_000;
    receiver.posts.length = 0;
    let refusals = 2;
    receiver.answer = (p) => (p.json.n === "first" && refusals-- > 0 ? { status: 500 } : { status: 200 });
    const post = (n: string) => ({ workspaceId: acme.id, kind: "outbound", subjectId: "ordered", causeEventId: ++cause, webhookId: 5, body: JSON.stringify({ n }), orderKey: "5:ordered" });
    await store.write((trx) => repo.schedule(trx, [post("first"), post("second"), post("third")], now));
    const d = dispatcher();
    for (let i = 0; i < 10; i++) {
      await d.runOnce();
      now += 20;
    }
    assert.deepEqual(receiver.posts.filter((p) => p.path === "/e5").map((p) => [p.json.n, p.status]), [["first", 500], ["first", 500], ["first", 200], ["second", 200], ["third", 200]]);
    realTime = true;
  });
});
