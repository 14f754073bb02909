// Idempotency keys in acceptance (src/messages/accept/idempotency.ts): a submission whose key its
// workspace already accepted is answered with the earlier message, flagged duplicate, and nothing
// new is written — across calls, within one call, within one coalesced turn, for two calls that
// race into one transaction, and (PostgreSQL) two processes racing, where the unique index decides.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createTempDatabase, storeTargets } from "./support/stores.js";
import { FROM_RULE_OFF } from "./support/server.js";
import { loadConfig } from "../src/config/config.schema.js";
import { silentLogger } from "../src/shared/logger.js";
import { buildContainer } from "../src/app/container.js";
import { openStore, type Store } from "../src/store/store.js";
import { structuredSubmission, type Submission } from "../src/messages/accept/submission.js";
import { validateMessage } from "../src/messages/message.validation.js";
import type { Accepted } from "../src/messages/accept/accept.service.js";

const config = loadConfig({ POSTHORN_HOSTNAME: "mx.posthorn.test", POSTHORN_ENCRYPTION_KEY: "11".repeat(32), ...FROM_RULE_OFF });

function mail(to: string, key: string | null, subject = "Hello"): Submission {
  const message = validateMessage({ from: "app@brand.test", to, cc: null, bcc: null, replyTo: null, subject, htmlBody: null, textBody: "Hi.", tag: null, headers: [], attachments: [], metadata: {}, stream: null, trackOpens: false, trackLinks: "none" });
  return { ...structuredSubmission(message), idempotencyKey: key };
}

async function counts(store: Store) {
  const messages = await store.db.selectFrom("messages").select(["id", "idempotency_key"]).execute();
  const deliveries = await store.db.selectFrom("deliveries").select("message_id").execute();
  const accepted = await store.db.selectFrom("events").select("message_id").where("type", "=", "message.accepted").execute();
  return { messages: messages.length, deliveries: deliveries.length, accepted: accepted.length };
}

for (const target of storeTargets()) {
  describe(`idempotency keys in acceptance on ${target.name}`, () => {
    test("a key accepted in an earlier call is answered with the earlier message and writes nothing", async () => {
      const store = await target.open();
      try {
        const c = buildContainer(store, config, silentLogger());
        const { workspace } = await c.workspaces.create("w", { sandbox: false });
        const [first] = (await c.accept.acceptMany(workspace, [mail("a@example.test", "step-1")])) as Accepted[];
        assert.ok(first?.ok && !first.duplicate);
        const [again] = (await c.accept.acceptMany(workspace, [mail("a@example.test", "step-1", "changed")])) as Accepted[];
        assert.ok(again?.ok);
        assert.equal(again.messageId, first.messageId);
        assert.equal(again.duplicate, true);
        assert.equal(again.submittedAt, first.submittedAt);
        const one = await c.accept.acceptOne(workspace, mail("a@example.test", "step-1"));
        assert.equal(one.messageId, first.messageId);
        assert.equal(one.duplicate, true);
        assert.deepEqual(await counts(store), { messages: 1, deliveries: 1, accepted: 1 });
      } finally {
        await store.close();
      }
    });

    test("a key repeated within one call is accepted once; unkeyed and other keys are not affected", async () => {
      const store = await target.open();
      try {
        const c = buildContainer(store, config, silentLogger());
        const { workspace } = await c.workspaces.create("w", { sandbox: false });
        const outcomes = (await c.accept.acceptMany(workspace, [mail("a@example.test", "k"), mail("b@example.test", null), mail("a@example.test", "k"), mail("c@example.test", "other"), mail("d@example.test", null)])) as Accepted[];
        assert.ok(outcomes.every((o) => o.ok));
        assert.equal(outcomes[2]!.messageId, outcomes[0]!.messageId);
        assert.equal(outcomes[2]!.duplicate, true);
        assert.equal(outcomes[0]!.duplicate, undefined);
        assert.equal(new Set(outcomes.map((o) => o.messageId)).size, 4);
        assert.deepEqual(await counts(store), { messages: 4, deliveries: 4, accepted: 4 });
      } finally {
        await store.close();
      }
    });

    test("one key in several acceptOne calls of one turn: one message, every call answered with it", async () => {
      const store = await target.open();
      try {
        const c = buildContainer(store, config, silentLogger());
        const { workspace } = await c.workspaces.create("w", { sandbox: false });
        const results = await Promise.all([1, 2, 3, 4].map(() => c.accept.acceptOne(workspace, mail("a@example.test", "same"))));
        assert.equal(new Set(results.map((r) => r.messageId)).size, 1);
        assert.deepEqual(results.map((r) => r.duplicate ?? false), [false, true, true, true]);
        assert.deepEqual(await counts(store), { messages: 1, deliveries: 1, accepted: 1 });
      } finally {
        await store.close();
      }
    });

    test("two calls racing with one key (both past the lookup) write one message; the loser answers it", async () => {
      const store = await target.open();
      try {
        const c = buildContainer(store, config, silentLogger());
        const { workspace } = await c.workspaces.create("w", { sandbox: false });
        // Started in one turn: both look the key up before either writes, and their writes are
        // grouped into one transaction (SQLite) or race on the index (PostgreSQL).
        const [a, b] = await Promise.all([c.accept.acceptMany(workspace, [mail("a@example.test", "race")]), c.accept.acceptMany(workspace, [mail("a@example.test", "race")])]);
        const x = a![0] as Accepted;
        const y = b![0] as Accepted;
        assert.equal(x.messageId, y.messageId);
        assert.equal([x.duplicate ?? false, y.duplicate ?? false].filter(Boolean).length, 1, "exactly one is the duplicate");
        assert.deepEqual(await counts(store), { messages: 1, deliveries: 1, accepted: 1 });
      } finally {
        await store.close();
      }
    });

    test("a key longer than 255 characters refuses its message alone", async () => {
      const store = await target.open();
      try {
        const c = buildContainer(store, config, silentLogger());
        const { workspace } = await c.workspaces.create("w", { sandbox: false });
        const [long, ok] = await c.accept.acceptMany(workspace, [mail("a@example.test", "k".repeat(256)), mail("b@example.test", "k".repeat(255))]);
        assert.equal(long!.ok, false);
        assert.match(String(!long!.ok && long!.error.message), /255/);
        assert.equal(ok!.ok, true);
      } finally {
        await store.close();
      }
    });

    test("keys are per workspace: the same key in another workspace is a new message", async () => {
      const store = await target.open();
      try {
        const c = buildContainer(store, config, silentLogger());
        const { workspace: w1 } = await c.workspaces.create("w1", { sandbox: false });
        const { workspace: w2 } = await c.workspaces.create("w2", { sandbox: false });
        const [x] = (await c.accept.acceptMany(w1, [mail("a@example.test", "k")])) as Accepted[];
        const [y] = (await c.accept.acceptMany(w2, [mail("a@example.test", "k")])) as Accepted[];
        assert.notEqual(x!.messageId, y!.messageId);
        assert.equal(y!.duplicate, undefined);
      } finally {
        await store.close();
      }
    });

    test("a refused keyed message leaves its key free for a corrected one", async () => {
      const store = await target.open();
      try {
        const c = buildContainer(store, config, silentLogger());
        const { workspace } = await c.workspaces.create("w", { sandbox: false });
        const [refused] = await c.accept.acceptMany(workspace, [{ ...mail("a@example.test", "k"), stream: "no-such-stream" }]);
        assert.equal(refused!.ok, false);
        const [ok] = (await c.accept.acceptMany(workspace, [mail("a@example.test", "k")])) as Accepted[];
        assert.ok(ok!.ok && !ok!.duplicate);
      } finally {
        await store.close();
      }
    });
  });
}

if (process.env.TEST_DATABASE_URL) {
  test("two processes on PostgreSQL racing with one key: the unique index lets one message through", async () => {
    const db = await createTempDatabase(process.env.TEST_DATABASE_URL!);
    const one = openStore({ dataDir: "", databaseUrl: db.url });
    await one.migrate();
    const two = openStore({ dataDir: "", databaseUrl: db.url });
    try {
      const c1 = buildContainer(one, config, silentLogger());
      const c2 = buildContainer(two, config, silentLogger());
      const { workspace } = await c1.workspaces.create("w", { sandbox: false });
      for (let round = 0; round < 10; round++) {
        const key = `race-${round}`;
        const results = await Promise.all([c1, c2, c1, c2].map((c) => c.accept.acceptMany(workspace, [mail("a@example.test", key)])));
        const outcomes = results.map((r) => r[0] as Accepted);
        assert.equal(new Set(outcomes.map((o) => o.messageId)).size, 1, `round ${round}: one message`);
        assert.equal(outcomes.filter((o) => !o.duplicate).length, 1, `round ${round}: one original`);
      }
      assert.deepEqual(await counts(one), { messages: 10, deliveries: 10, accepted: 10 });
    } finally {
      await two.close();
      await one.close();
      await db.drop();
    }
  });
}
