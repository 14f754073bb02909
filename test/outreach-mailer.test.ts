// The outreach mailer end to end against real stores (SQLite, and PostgreSQL when
// TEST_DATABASE_URL is set): people made through the people domain, mail rendered with Liquid or
// a stored template, accepted by the one acceptance, recorded in the ledger, with the caller's
// writes in the same transaction; the policy (unsubscribed, suppressed, topics), message limits
// and quiet hours; and two processes racing for a person's last place under a limit.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { sql } from "../src/store/kysely.js";
import { createTempDatabase, storeTargets } from "./support/stores.js";
import { FROM_RULE_OFF } from "./support/server.js";
import { loadConfig } from "../src/config/config.schema.js";
import { silentLogger } from "../src/shared/logger.js";
import { buildContainer, type Container } from "../src/app/container.js";
import { openStore, type Store } from "../src/store/store.js";
import type { OutreachMail, OutreachOutcome } from "../src/channels/email/outreach.port.js";
import type { Clock } from "../src/shared/clock.js";

const config = loadConfig({ POSTHORN_HOSTNAME: "mx.posthorn.test", POSTHORN_ENCRYPTION_KEY: "11".repeat(32), ...FROM_RULE_OFF });
const DAY = 86_400_000;

class FixedClock implements Clock {
  constructor(public at: number) {}
  now() {
    return this.at;
  }
}

async function setup(store: Store, clock: Clock = new FixedClock(Date.UTC(2026, 5, 1, 12))) {
  const c = buildContainer(store, config, silentLogger(), { clock });
  const { workspace } = await c.workspaces.create("w", { sandbox: false });
  return { c, workspaceId: workspace.id };
}

async function person(c: Container, workspaceId: string, id: string, attributes: Record<string, unknown>, extra: { unsubscribed?: boolean; topics?: Record<string, boolean> } = {}): Promise<string> {
  const [r] = await c.people.apply(workspaceId, [{ op: "identify", who: { kind: "id", value: id }, attributes, ...extra }], { atomic: true });
  assert.ok(r?.ok && r.personId);
  return r.personId;
}

function mail(workspaceId: string, personId: string, over: Partial<OutreachMail> = {}): OutreachMail {
  return {
    workspaceId,
    personId,
    content: { kind: "liquid", from: null, to: null, replyTo: null, subject: "Hi {{ customer.first_name }}", html: null, text: "Your plan: {{ trigger.plan }}", headers: {} },
    scope: { trigger: { plan: "pro" } },
    tag: null,
    send: { from: "news@brand.test", stream: null, countsTowardLimit: true, transactional: false, topic: null },
    idempotencyKey: null,
    origin: { kind: "journey", journeyId: "1", version: 1, stepId: "welcome", runId: `run-${personId}` },
    overLimit: "hold",
    quietHours: true,
    sendAt: null,
    ...over,
  };
}

const accepted = (o: OutreachOutcome | undefined) => {
  assert.equal(o?.kind, "accepted", JSON.stringify(o));
  return o as Extract<OutreachOutcome, { kind: "accepted" }>;
};

for (const target of storeTargets()) {
  describe(`outreach mailer on ${target.name}`, () => {
    test("renders with the person as customer, accepts with a CIO-Delivery-ID, records the ledger and the caller's writes in one transaction", async () => {
      const store = await target.open();
      try {
        const { c, workspaceId } = await setup(store);
        const ann = await person(c, workspaceId, "ann", { email: "ann@example.test", first_name: "Ann" });
        let seen: OutreachOutcome[] | null = null;
        let calls = 0;
        const [o] = await c.outreachMailer.send([mail(workspaceId, ann)], async (trx, outcomes) => {
          calls++;
          seen = outcomes;
          // The message is visible in this transaction: the caller's writes commit with it.
          const row = await trx.selectFrom("messages").select("id").where("id", "=", accepted(outcomes[0]).messageId).executeTakeFirst();
          assert.ok(row);
        });
        const a = accepted(o);
        assert.equal(calls, 1);
        assert.deepEqual(seen, [o]);
        assert.equal(a.duplicate, false);
        assert.match(a.deliveryId, /^[0-9]+-[A-Za-z0-9_-]{22}$/);
        const msg = await store.db.selectFrom("messages").select(["subject", "mime", "stream"]).where("id", "=", a.messageId).executeTakeFirstOrThrow();
        assert.equal(msg.subject, "Hi Ann");
        assert.equal(msg.stream, "broadcast");
        const mime = Buffer.from(msg.mime).toString("latin1");
        assert.match(mime, new RegExp(`^CIO-Delivery-ID: ${a.deliveryId}\\r\\n`, "m"));
        assert.match(mime, /Your plan: pro/);
        const ledger = await c.outreachLedger.ofRunStep(workspaceId, `run-${ann}`, "welcome");
        assert.equal(ledger?.messageId, a.messageId);
        assert.equal(ledger?.recipient, "ann@example.test");
        assert.deepEqual(ledger?.statuses, ["sent"]);
        // The delivery id in the mail unsubscribes its person (POST /unsubscribe/{delivery_id}).
        assert.equal(await c.people.unsubscribeByDelivery(a.deliveryId), true);
        assert.equal((await c.people.get(workspaceId, ann))?.unsubscribed, true);
      } finally {
        await store.close();
      }
    });

    test("policy: unknown person, no address, unsubscribed, suppressed, topic off are skipped; transactional mail goes to the unsubscribed", async () => {
      const store = await target.open();
      try {
        const { c, workspaceId } = await setup(store);
        const noEmail = await person(c, workspaceId, "n", { first_name: "N" });
        const unsub = await person(c, workspaceId, "u", { email: "u@example.test" }, { unsubscribed: true });
        const topical = await person(c, workspaceId, "t", { email: "t@example.test" }, { topics: { topic_2: false } });
        const bounced = await person(c, workspaceId, "b", { email: "b@example.test" });
        await c.suppressions.suppressByCustomer(workspaceId, "broadcast", ["b@example.test"]);
        const supp = await person(c, workspaceId, "s", { email: "s@example.test" });
        await c.people.apply(workspaceId, [{ op: "suppress", who: { kind: "id", value: "s" } }]);
        const outcomes = await c.outreachMailer.send([
          mail(workspaceId, "no-such-person"),
          mail(workspaceId, noEmail),
          mail(workspaceId, unsub),
          mail(workspaceId, topical, { send: { from: "news@brand.test", stream: null, countsTowardLimit: true, transactional: false, topic: "topic_2" } }),
          mail(workspaceId, bounced),
          mail(workspaceId, supp),
          mail(workspaceId, unsub, { send: { from: "app@brand.test", stream: "outbound", countsTowardLimit: false, transactional: true, topic: null } }),
        ]);
        assert.deepEqual(
          outcomes.map((o) => (o.kind === "skipped" ? o.reason : o.kind)),
          ["person_not_found", "no_email", "unsubscribed", "topic_unsubscribed", "suppressed", "suppressed", "accepted"],
        );
        const counts = await c.outreachLedger.countsByStep(workspaceId, "1", null);
        assert.deepEqual(counts.get("welcome"), { sent: 1, delivered: 0, opened: 0, clicked: 0, bounced: 0, unsubscribed: 0, skipped: 6 });
      } finally {
        await store.close();
      }
    });

    test("a render error fails that mail alone; a mail without From fails with OUTREACH_CONTENT_INVALID", async () => {
      const store = await target.open();
      try {
        const { c, workspaceId } = await setup(store);
        const p = await person(c, workspaceId, "p", { email: "p@example.test" });
        const broken = mail(workspaceId, p, { content: { kind: "liquid", from: null, to: null, replyTo: null, subject: "{% if %}", html: null, text: "x", headers: {} } });
        const fromless = mail(workspaceId, p, { send: { from: null, stream: null, countsTowardLimit: true, transactional: false, topic: null } });
        const [a, b, ok] = await c.outreachMailer.send([broken, fromless, mail(workspaceId, p)]);
        assert.equal(a?.kind === "failed" && a.error.code, "LIQUID_SYNTAX_INVALID");
        assert.equal(b?.kind === "failed" && b.error.code, "OUTREACH_CONTENT_INVALID");
        accepted(ok);
      } finally {
        await store.close();
      }
    });

    test("a stored Postmark-style template renders with a model whose strings are Liquid", async () => {
      const store = await target.open();
      try {
        const { c, workspaceId } = await setup(store);
        const p = await person(c, workspaceId, "p", { email: "p@example.test", first_name: "Pat" });
        await c.templates.create(workspaceId, { name: "Welcome", alias: "welcome", subject: "Welcome {{name}}", textBody: "Hello {{name}}, plan {{plan}}", htmlBody: null });
        const [o] = await c.outreachMailer.send([mail(workspaceId, p, { content: { kind: "template", from: null, to: null, template: "welcome", model: { name: "{{ customer.first_name }}", plan: "{{ trigger.plan | upcase }}" } } })]);
        const msg = await store.db.selectFrom("messages").select(["subject", "text_body"]).where("id", "=", accepted(o).messageId).executeTakeFirstOrThrow();
        assert.equal(msg.subject, "Welcome Pat");
        assert.equal(msg.text_body, "Hello Pat, plan PRO");
        const [missing] = await c.outreachMailer.send([mail(workspaceId, p, { content: { kind: "template", from: null, to: null, template: "nope", model: {} } })]);
        assert.equal(missing?.kind, "failed");
      } finally {
        await store.close();
      }
    });

    test("the same idempotency key twice: one message, the second answered as its duplicate with the same delivery id", async () => {
      const store = await target.open();
      try {
        const { c, workspaceId } = await setup(store);
        const p = await person(c, workspaceId, "p", { email: "p@example.test" });
        const [first] = await c.outreachMailer.send([mail(workspaceId, p, { idempotencyKey: "run-1:welcome" })]);
        let calls = 0;
        const [second] = await c.outreachMailer.send([mail(workspaceId, p, { idempotencyKey: "run-1:welcome" })], async () => void calls++);
        assert.equal(calls, 1, "alsoWrite runs once even though nothing new was written");
        assert.equal(accepted(second).duplicate, true);
        assert.equal(accepted(second).messageId, accepted(first).messageId);
        assert.equal(accepted(second).deliveryId, accepted(first).deliveryId);
        assert.equal((await store.db.selectFrom("messages").select("id").execute()).length, 1);
        assert.equal((await store.db.selectFrom("outreach_messages").select("id").execute()).length, 1);
        const [a, b] = await c.outreachMailer.send([mail(workspaceId, p, { idempotencyKey: "k2" }), mail(workspaceId, p, { idempotencyKey: "k2" })]);
        assert.equal(accepted(b).duplicate, true, "a key repeated within one call");
        assert.equal(accepted(b).messageId, accepted(a).messageId);
        assert.equal(accepted(b).deliveryId, accepted(a).deliveryId);
      } finally {
        await store.close();
      }
    });

    test("alsoWrite runs once in a transaction when nothing is accepted, and its failure rolls back the ledger", async () => {
      const store = await target.open();
      try {
        const { c, workspaceId } = await setup(store);
        let calls = 0;
        const outcomes = await c.outreachMailer.send([mail(workspaceId, "nobody")], async (trx, o) => {
          calls++;
          assert.equal(o[0]?.kind, "skipped");
          assert.equal((await trx.selectFrom("outreach_messages").select("id").execute()).length, 1);
        });
        assert.equal(calls, 1);
        assert.equal(outcomes[0]?.kind, "skipped");
        const p = await person(c, workspaceId, "p", { email: "p@example.test" });
        await assert.rejects(c.outreachMailer.send([mail(workspaceId, p)], async () => {
          throw new Error("the caller's write failed");
        }), /the caller's write failed/);
        assert.equal((await store.db.selectFrom("messages").select("id").execute()).length, 0, "no message without the caller's write");
        assert.equal((await store.db.selectFrom("outreach_messages").select("id").execute()).length, 1, "only the first call's skip row");
      } finally {
        await store.close();
      }
    });

    test("message limits across journeys and broadcasts: over the cap is held until the oldest send leaves the period, or skipped; transactional mail does not count", async () => {
      const store = await target.open();
      try {
        const clock = new FixedClock(Date.UTC(2026, 5, 1, 12));
        const { c, workspaceId } = await setup(store, clock);
        await c.messageLimits.set(workspaceId, { caps: [{ count: 2, periodMs: 7 * DAY }], quietHours: null });
        const p = await person(c, workspaceId, "p", { email: "p@example.test" });
        const t0 = clock.at;
        const [one] = await c.outreachMailer.send([mail(workspaceId, p)]);
        accepted(one);
        clock.at += DAY;
        const txn = { send: { from: "app@brand.test", stream: "outbound", countsTowardLimit: false, transactional: true, topic: null } };
        const [two, trans, three, four] = await c.outreachMailer.send([
          mail(workspaceId, p, { origin: { kind: "broadcast", broadcastId: "7" } }),
          mail(workspaceId, p, txn),
          mail(workspaceId, p, { origin: { kind: "journey", journeyId: "2", version: 1, stepId: "s", runId: "r2" } }),
          mail(workspaceId, p, { overLimit: "skip", origin: { kind: "broadcast", broadcastId: "8" } }),
        ]);
        accepted(two);
        accepted(trans);
        assert.deepEqual(three, { kind: "held", until: t0 + 7 * DAY, reason: "message_limit" });
        assert.equal(four?.kind === "skipped" && four.reason, "message_limit");
        clock.at = t0 + 7 * DAY + 1;
        const [later] = await c.outreachMailer.send([mail(workspaceId, p)]);
        accepted(later);
      } finally {
        await store.close();
      }
    });

    test("concurrent sends to one person in one process take the last places once (decided again in the transaction)", async () => {
      const store = await target.open();
      try {
        const { c, workspaceId } = await setup(store);
        await c.messageLimits.set(workspaceId, { caps: [{ count: 2, periodMs: 7 * DAY }], quietHours: null });
        const p = await person(c, workspaceId, "p", { email: "p@example.test" });
        const results = await Promise.all(Array.from({ length: 6 }, (_, i) => c.outreachMailer.send([mail(workspaceId, p, { origin: { kind: "broadcast", broadcastId: String(i) } })])));
        const kinds = results.map((r) => r[0]!.kind);
        assert.equal(kinds.filter((k) => k === "accepted").length, 2, kinds.join(","));
        assert.equal(kinds.filter((k) => k === "held").length, 4);
        assert.equal((await store.db.selectFrom("messages").select("id").execute()).length, 2);
      } finally {
        await store.close();
      }
    });

    test("quiet hours hold marketing mail until they end in the person's zone; transactional mail goes", async () => {
      const store = await target.open();
      try {
        // 22:30 in Berlin (CEST) = 20:30 UTC; 16:30 in New York.
        const clock = new FixedClock(Date.UTC(2026, 5, 1, 20, 30));
        const { c, workspaceId } = await setup(store, clock);
        await c.messageLimits.set(workspaceId, { caps: [], quietHours: { fromMinute: 21 * 60, toMinute: 8 * 60, fallbackTimezone: "Europe/Berlin" } });
        const berlin = await person(c, workspaceId, "b", { email: "b@example.test", timezone: "Europe/Berlin" });
        const ny = await person(c, workspaceId, "n", { email: "n@example.test", timezone: "America/New_York" });
        const none = await person(c, workspaceId, "x", { email: "x@example.test" });
        const [b, n, x, t, off] = await c.outreachMailer.send([
          mail(workspaceId, berlin),
          mail(workspaceId, ny),
          mail(workspaceId, none),
          mail(workspaceId, berlin, { send: { from: "app@brand.test", stream: "outbound", countsTowardLimit: false, transactional: true, topic: null } }),
          mail(workspaceId, berlin, { quietHours: false }),
        ]);
        assert.deepEqual(b, { kind: "held", until: Date.UTC(2026, 5, 2, 6, 0), reason: "quiet_hours" });
        accepted(n);
        assert.deepEqual(x, { kind: "held", until: Date.UTC(2026, 5, 2, 6, 0), reason: "quiet_hours" }, "no timezone: the fallback's");
        accepted(t);
        accepted(off);
      } finally {
        await store.close();
      }
    });

    test("send_at: accepted now, its delivery due then", async () => {
      const store = await target.open();
      try {
        const clock = new FixedClock(Date.UTC(2026, 5, 1, 12));
        const { c, workspaceId } = await setup(store, clock);
        const p = await person(c, workspaceId, "p", { email: "p@example.test" });
        const later = clock.at + 3 * 3_600_000;
        const [o] = await c.outreachMailer.send([mail(workspaceId, p, { sendAt: later })]);
        const d = await store.db.selectFrom("deliveries").select(["next_attempt_at"]).where("message_id", "=", accepted(o).messageId).executeTakeFirstOrThrow();
        assert.equal(Number(d.next_attempt_at), later);
      } finally {
        await store.close();
      }
    });
  });
}

if (process.env.TEST_DATABASE_URL) {
  test("two processes on PostgreSQL sending to one person at once never pass the cap", async () => {
    const db = await createTempDatabase(process.env.TEST_DATABASE_URL!);
    const one = openStore({ dataDir: "", databaseUrl: db.url });
    await one.migrate();
    const two = openStore({ dataDir: "", databaseUrl: db.url });
    try {
      const { c: c1, workspaceId } = await setup(one);
      const c2 = buildContainer(two, config, silentLogger(), { clock: new FixedClock(Date.UTC(2026, 5, 1, 12)) });
      await c1.messageLimits.set(workspaceId, { caps: [{ count: 3, periodMs: 7 * DAY }], quietHours: null });
      const p = await person(c1, workspaceId, "p", { email: "p@example.test" });
      const sends = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? c1 : c2).outreachMailer.send([mail(workspaceId, p, { origin: { kind: "broadcast", broadcastId: String(i) } })]));
      const outcomes = (await Promise.all(sends)).map((o) => o[0]!.kind);
      assert.equal(outcomes.filter((k) => k === "accepted").length, 3, outcomes.join(","));
      assert.equal(outcomes.filter((k) => k === "held").length, 9);
      const counted = await sql<{ n: string }>`select count(*) as n from outreach_messages where counted = 1`.execute(one.db);
      assert.equal(Number(counted.rows[0]!.n), 3);
    } finally {
      await two.close();
      await one.close();
      await db.drop();
    }
  });
}
