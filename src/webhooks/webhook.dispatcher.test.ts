// The dispatcher against a real SQLite store and real HTTP endpoints on loopback: every attempt,
// whatever goes wrong while making it, ends as a recorded outcome.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { openTempSqlite } from "../../test/support/stores.js";
import type { Store } from "../store/store.js";
import { EventsRepository } from "../events/events.repository.js";
import { Outbox } from "../events/outbox.js";
import { silentLogger } from "../shared/logger.js";
import { WorkspacesService, type Workspace } from "../workspaces/workspaces.service.js";
import { WebhookDeliveriesRepository } from "./webhook-deliveries.repository.js";
import { WebhookDispatcher, type WebhookDispatcherOptions } from "./webhook.dispatcher.js";
import { destinationPolicy } from "./webhook-destinations.js";

const repo = new WebhookDeliveriesRepository();

describe("webhook dispatcher", () => {
  let store: Store;
  let acme: Workspace;
  let now = 1_000;
  let cause = 0;
  const clock = { now: () => now };

  let internal: http.Server;
  let internalPort = 0;
  const hits: string[] = [];

  before(async () => {
    // An "internal" endpoint on loopback that answers everything, so a post that reached it would show.
    internal = http.createServer((req, res) => {
      hits.push(req.url ?? "");
      req.resume();
      res.end("ok");
    });
    await new Promise<void>((resolve) => internal.listen(0, "127.0.0.1", resolve));
    internalPort = (internal.address() as AddressInfo).port;
    store = await openTempSqlite();
    acme = (await new WorkspacesService({ store, clock }).create("acme", { sandbox: false })).workspace;
  });
  after(async () => {
    await store.close();
    await new Promise<void>((resolve) => internal.close(() => resolve()));
  });

  function dispatcher(urls: Record<string, string>, options: Partial<WebhookDispatcherOptions> = {}): WebhookDispatcher {
    return new WebhookDispatcher({
      store,
      clock,
      logger: silentLogger(),
      outbox: new Outbox({ repository: new EventsRepository(store.dialect), clock }),
      repository: repo,
      sources: [{ kind: "inbound", target: async (_workspace, subject) => (urls[subject] ? { url: urls[subject], body: "{}" } : null) }],
      backoffMs: 1_000,
      timeoutMs: 2_000,
      destinations: destinationPolicy(),
      ...options,
    });
  }

  async function schedule(subject: string): Promise<void> {
    await store.write((trx) => repo.schedule(trx, [{ workspaceId: acme.id, kind: "inbound", subjectId: subject, causeEventId: ++cause }], now));
  }

  async function state(subject: string) {
    const [row] = await repo.forSubject(store.db, "inbound", subject);
    return { state: row!.state, attempts: row!.attempts, error: row!.last_error, due: row!.next_attempt_at === null ? null : Number(row!.next_attempt_at) };
  }

  it("a URL whose credentials hold a malformed %-escape (stored before PUT /server refused it) ends as a retried attempt, then fails, instead of throwing", async () => {
    await schedule("bad-escape");
    const posts = dispatcher({ "bad-escape": "https://us%zzer:pw@hooks.acme.test/inbound" });
    assert.equal(await posts.runOnce(), 1);
    const first = await state("bad-escape");
    assert.equal(first.state, "retrying");
    assert.equal(first.attempts, 1);
    assert.equal(first.due, now + 1_000);
    assert.match(first.error ?? "", /URI/);
    for (let attempt = 2; attempt <= 10; attempt++) {
      now = (await state("bad-escape")).due!;
      assert.equal(await posts.runOnce(), 1);
    }
    assert.deepEqual([(await state("bad-escape")).state, (await state("bad-escape")).attempts], ["failed", 10]);
  });

  it("refuses internal destinations by default, named by IP in any form or by a host name that resolves to one: a failed attempt with one generic reason, nothing connected", async () => {
    const urls = {
      "by-ip": `http://127.0.0.1:${internalPort}/ip`,
      "by-decimal": `http://2130706433:${internalPort}/decimal`,
      "by-mapped": `http://[::ffff:127.0.0.1]:${internalPort}/mapped`,
      "by-name": `http://localhost:${internalPort}/name`,
      "metadata": "http://169.254.169.254/latest/meta-data/",
      "closed-port": "http://127.0.0.1:9/",
    };
    for (const subject of Object.keys(urls)) await schedule(subject);
    await dispatcher(urls).runOnce();
    const errors = new Set<string>();
    for (const subject of Object.keys(urls)) {
      const outcome = await state(subject);
      assert.deepEqual([outcome.state, outcome.attempts, outcome.due], ["failed", 1, null], subject);
      errors.add(outcome.error ?? "");
    }
    // The same reason whether something listens there (by-ip) or not (closed-port, metadata).
    assert.deepEqual([...errors], ["the webhook's destination is not a public address, and not in POSTHORN_WEBHOOK_ALLOWED_NETWORKS"]);
    assert.deepEqual(hits, []);
  });

  it("posts to internal destinations the operator allowed", async () => {
    await schedule("allowed");
    await dispatcher({ allowed: `http://localhost:${internalPort}/allowed` }, { destinations: destinationPolicy(["127.0.0.1/32"]) }).runOnce();
    assert.equal((await state("allowed")).state, "posted");
    assert.deepEqual(hits, ["/allowed"]);
  });
});
