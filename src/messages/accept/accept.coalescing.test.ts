// Single acceptances made in the same turn are decided and written together (AcceptService.acceptOne);
// each must still get its own outcome, on SQLite and PostgreSQL: a refusal refuses only its own
// message, and a message the database will not store fails alone while the others are kept.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { sql } from "../../store/kysely.js";
import { storeTargets } from "../../../test/support/stores.js";
import { FROM_RULE_OFF } from "../../../test/support/server.js";
import { loadConfig } from "../../config/config.schema.js";
import { silentLogger } from "../../shared/logger.js";
import { buildContainer } from "../../app/container.js";
import { isPosthornError } from "../../shared/errors.js";
import { submissionFromSmtp } from "../../smtp/x-pm-headers.js";
import type { Store } from "../../store/store.js";

const config = loadConfig({ POSTHORN_HOSTNAME: "mx.posthorn.test", POSTHORN_ENCRYPTION_KEY: "11".repeat(32), ...FROM_RULE_OFF });

const raw = (subject: string, to: string) =>
  submissionFromSmtp({
    envelopeFrom: "app@brand.test",
    recipients: [to],
    raw: Buffer.from(`From: app@brand.test\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nHello.\r\n`),
    notifyFailure: false,
  });

/** Makes the database itself refuse any message with this subject, as a failing row would. */
async function poison(store: Store, subject: string): Promise<void> {
  if (store.dialect === "sqlite") {
    await sql.raw(`create trigger poison before insert on messages when new.subject = '${subject}' begin select raise(abort, 'poisoned row'); end`).execute(store.db);
  } else {
    await sql.raw(`create function poison() returns trigger language plpgsql as $$ begin if new.subject = '${subject}' then raise exception 'poisoned row'; end if; return new; end $$`).execute(store.db);
    await sql.raw(`create trigger poison before insert on messages for each row execute function poison()`).execute(store.db);
  }
}

for (const target of storeTargets()) {
  describe(`acceptances of one turn on ${target.name}`, () => {
    test("each call gets its own outcome: refusals refuse only their own message", async () => {
      const store = await target.open();
      try {
        const services = buildContainer(store, config, silentLogger());
        const { workspace } = await services.workspaces.create("w", { sandbox: false });
        const calls = Array.from({ length: 30 }, (_, i) => services.accept.acceptOne(workspace, raw(`m${i}`, i % 3 === 0 ? "not an address" : `r${i}@example.test`)));
        const results = await Promise.allSettled(calls);
        results.forEach((r, i) => {
          if (i % 3 === 0) assert.ok(r.status === "rejected" && isPosthornError(r.reason), `call ${i} is refused with a coded error`);
          else assert.equal(r.status, "fulfilled", `call ${i} is accepted`);
        });
        const accepted = results.flatMap((r) => (r.status === "fulfilled" ? [r.value.messageId] : []));
        assert.equal(new Set(accepted).size, 20);
        const stored = await store.db.selectFrom("messages").select(["id", "subject"]).execute();
        assert.deepEqual(stored.map((m) => m.id).sort(), [...accepted].sort());
        const deliveries = await store.db.selectFrom("deliveries").select(["message_id", "recipient"]).execute();
        assert.equal(deliveries.length, 20);
        for (const m of stored) assert.ok(deliveries.some((d) => d.message_id === m.id && d.recipient === `r${m.subject.slice(1)}@example.test`));
      } finally {
        await store.close();
      }
    });

    test("a message the database refuses fails alone; the others of its turn are kept", async () => {
      const store = await target.open();
      try {
        const services = buildContainer(store, config, silentLogger());
        const { workspace } = await services.workspaces.create("w", { sandbox: false });
        await poison(store, "poison");
        const subjects = ["a", "b", "poison", "c", "d"];
        const results = await Promise.allSettled(subjects.map((s) => services.accept.acceptOne(workspace, raw(s, `${s}@example.test`))));
        assert.deepEqual(
          results.map((r) => r.status),
          ["fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled"],
        );
        assert.match(String((results[2] as PromiseRejectedResult).reason), /poisoned row/);
        const stored = await store.db.selectFrom("messages").select("subject").orderBy("subject").execute();
        assert.deepEqual(stored.map((m) => m.subject), ["a", "b", "c", "d"]);
        const events = await store.db.selectFrom("events").select("type").where("type", "=", "message.accepted").execute();
        assert.equal(events.length, 4, "no event for the message that was not stored");
      } finally {
        await store.close();
      }
    });
  });
}
