// The status consumer's mapping, event by event, against a real store: which events set which
// status, that the first time is kept, and how an unsubscribe without a message is attributed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { openTempSqlite } from "../../../test/support/stores.js";
import { FROM_RULE_OFF } from "../../../test/support/server.js";
import { loadConfig } from "../../config/config.schema.js";
import { silentLogger } from "../../shared/logger.js";
import { buildContainer } from "../../app/container.js";
import type { RecordedEvent } from "../../events/event-map.js";
import { outreachStatusConsumer, UNSUBSCRIBE_ATTRIBUTION_MS } from "./outreach-status.consumer.js";
import type { OutreachMail } from "./outreach.port.js";

const config = loadConfig({ POSTHORN_HOSTNAME: "mx.posthorn.test", POSTHORN_ENCRYPTION_KEY: "11".repeat(32), ...FROM_RULE_OFF });
const NOW = Date.UTC(2026, 5, 1);

async function world() {
  const store = await openTempSqlite();
  const c = buildContainer(store, config, silentLogger(), { clock: { now: () => NOW } });
  const { workspace } = await c.workspaces.create("w", { sandbox: false });
  const [r] = await c.people.apply(workspace.id, [{ op: "identify", who: { kind: "id", value: "p" }, attributes: { email: "p@example.test" } }]);
  const personId = (r as { personId: string }).personId;
  const send = async (stepId: string) => {
    const mail: OutreachMail = {
      workspaceId: workspace.id,
      personId,
      content: { kind: "liquid", from: "n@brand.test", to: null, replyTo: null, subject: "S", html: null, text: "x", headers: {} },
      scope: {},
      tag: null,
      send: { from: null, stream: null, countsTowardLimit: false, transactional: false, topic: null },
      idempotencyKey: null,
      origin: { kind: "journey", journeyId: "1", version: 1, stepId, runId: "r" },
      overLimit: "skip",
      quietHours: false,
      sendAt: null,
    };
    const [o] = await c.outreachMailer.send([mail]);
    return (o as { messageId: string }).messageId;
  };
  const consumer = outreachStatusConsumer({ ledger: c.outreachLedgerRepository });
  let id = 0;
  const apply = (events: Array<Omit<RecordedEvent, "id" | "workspaceId">>) =>
    store.write((trx) => consumer.applyWithCursor(trx, events.map((e) => ({ ...e, id: ++id, workspaceId: workspace.id }) as RecordedEvent)));
  const statuses = async (stepId: string) => (await c.outreachLedger.ofRunStep(workspace.id, "r", stepId))?.statuses;
  return { store, c, personId, send, apply, statuses };
}

const attempt = { reply: "250 ok", code: 250, enhanced: null, remoteHost: null, remoteIp: null, tls: false };

test("a spam complaint and the tracking unsubscribe link mark the message unsubscribed; other suppressions do not", async () => {
  const w = await world();
  try {
    const a = await w.send("a");
    const b = await w.send("b");
    await w.apply([
      { type: "suppression.added", messageId: a, recipient: "p@example.test", createdAt: NOW, data: { stream: "broadcast", reason: "HardBounce", origin: "Recipient" } },
      { type: "delivery.delivered", messageId: a, recipient: "P@Example.test", createdAt: NOW, data: { stream: "broadcast", attempt } },
    ]);
    assert.deepEqual(await w.statuses("a"), ["sent", "delivered"], "a hard bounce's suppression is not an unsubscribe; the recipient matches in any case");
    await w.apply([{ type: "suppression.added", messageId: a, recipient: "p@example.test", createdAt: NOW, data: { stream: "broadcast", reason: "ManualSuppression", origin: "Recipient" } }]);
    await w.apply([{ type: "delivery.complained", messageId: b, recipient: "p@example.test", createdAt: NOW, data: { stream: "broadcast", feedbackType: "abuse", summary: "" } }]);
    assert.deepEqual(await w.statuses("a"), ["sent", "delivered", "unsubscribed"]);
    assert.deepEqual(await w.statuses("b"), ["sent", "unsubscribed"]);
  } finally {
    await w.store.close();
  }
});

test("the first event of a kind sets its time; repeats change nothing", async () => {
  const w = await world();
  try {
    const a = await w.send("a");
    const opened = (at: number) => ({ type: "delivery.opened" as const, messageId: a, recipient: "p@example.test", createdAt: at, data: {} as never });
    await w.apply([opened(NOW + 5), opened(NOW + 9)]);
    const row = await w.store.db.selectFrom("outreach_messages").select("opened_at").where("message_id", "=", a).executeTakeFirstOrThrow();
    assert.equal(Number(row.opened_at), NOW + 5);
  } finally {
    await w.store.close();
  }
});

test("an unsubscribe without a message goes to the person's newest message, if sent within the attribution window", async () => {
  const w = await world();
  try {
    await w.send("old");
    await w.send("new");
    const unsubscribed = (at: number) => ({ type: "person.identified" as const, messageId: null, recipient: null, createdAt: at, data: { personId: w.personId, created: false, changes: { unsubscribed: { from: false, to: true } } } });
    await w.apply([{ type: "person.identified", messageId: null, recipient: null, createdAt: NOW, data: { personId: w.personId, created: false, changes: { plan: { from: null, to: "pro" } } } }]);
    assert.deepEqual(await w.statuses("new"), ["sent"], "other attribute changes are not unsubscribes");
    await w.apply([unsubscribed(NOW + UNSUBSCRIBE_ATTRIBUTION_MS + 1)]);
    assert.deepEqual(await w.statuses("new"), ["sent"], "too long after the mail: attributed to none");
    await w.apply([unsubscribed(NOW + 1_000)]);
    assert.deepEqual(await w.statuses("new"), ["sent", "unsubscribed"]);
    assert.deepEqual(await w.statuses("old"), ["sent"]);
  } finally {
    await w.store.close();
  }
});
