// Sender signatures against SQLite and PostgreSQL: the SQL of the repository, the races the
// service settles in the database (two resends, two creations of one address), and the From
// rule's lookups, which must cost one query per address per cache period, not one per message.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { storeTargets } from "../../test/support/stores.js";
import { silentLogger } from "../shared/logger.js";
import type { Store } from "../store/store.js";
import { createDomainDns } from "../sending-domains/domain-dns.js";
import { createSecretBox } from "../sending-domains/secret-box.js";
import { SendingDomainsService } from "../sending-domains/sending-domains.service.js";
import { isPosthornError } from "../shared/errors.js";
import { SendersService } from "./senders.service.js";
import { SendersRepository } from "./senders.repository.js";
import { SenderStanding, STANDING_CACHE_MS } from "./from-authority.js";
import { ConfirmationLinks } from "./confirmation-link.js";
import type { ConfirmationMail } from "./confirmation-mail.js";

for (const target of storeTargets()) {
  describe(`sender signatures on ${target.name}`, () => {
    let store: Store;
    let now = 1_000_000;
    const clock = { now: () => now };
    const mails: ConfirmationMail[] = [];
    let senders: SendersService;
    let domains: SendingDomainsService;

    before(async () => {
      store = await target.open();
      domains = new SendingDomainsService({
        store,
        clock,
        // Never asked here: nothing in these tests verifies DNS.
        dns: createDomainDns({ dnsServers: ["127.0.0.1:9"], timeoutMs: 100 }),
        secrets: createSecretBox(randomBytes(32)),
        logger: silentLogger(),
        settings: { hostname: "mta.posthorn.test", spfInclude: null, ed25519: false },
      });
      senders = new SendersService({
        store,
        clock,
        logger: silentLogger(),
        domains,
        links: new ConfirmationLinks(randomBytes(32), "https://posthorn.test"),
        resendIntervalMs: 60_000,
        sendConfirmation: async (mail) => void mails.push(mail),
        onChanged: () => undefined,
      });
    });

    after(async () => {
      await store.close();
    });

    test("two creations of one address at once: one signature, the other refused as existing", async () => {
      const results = await Promise.allSettled([senders.create({ fromEmail: "race@race.test", name: "A" }), senders.create({ fromEmail: "RACE@race.test", name: "B" })]);
      assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
      const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      assert.ok(isPosthornError(refused.reason, "SENDER_EXISTS"), String(refused.reason));
      assert.equal((await senders.list({ count: 10, offset: 0 })).signatures.filter((s) => s.domain === "race.test").length, 1);
    });

    test("two resends at once after the interval: exactly one mail", async () => {
      const created = await senders.create({ fromEmail: "twice@resend.test" });
      now += 60_000;
      const before = mails.length;
      const results = await Promise.allSettled([senders.resend(created.id), senders.resend(created.id)]);
      assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
      assert.ok(isPosthornError((results.find((r) => r.status === "rejected") as PromiseRejectedResult).reason, "SENDER_RESEND_TOO_SOON"));
      assert.equal(mails.length, before + 1);
    });

    test("the From rule's standing: one query per address per cache period, whatever the number of messages", async () => {
      const signed = await senders.create({ fromEmail: "news@standing.test" });
      let domainQueries = 0;
      let signatureQueries = 0;
      const repository = new SendersRepository();
      const counted = Object.assign(Object.create(repository) as SendersRepository, {
        confirmationOf: (...args: Parameters<SendersRepository["confirmationOf"]>) => {
          signatureQueries += 1;
          return repository.confirmationOf(...args);
        },
      });
      const standing = new SenderStanding({
        store,
        clock,
        repository: counted,
        verifiedDomains: (names) => {
          domainQueries += 1;
          return domains.dkimVerifiedNames(names);
        },
      });
      const emails = ["news@standing.test", "NEWS@Standing.test", "nobody@standing.test"];
      for (let i = 0; i < 1_000; i++) {
        const result = await standing.standingOf(emails);
        assert.deepEqual([...result], [["news@standing.test", "unconfirmed"], ["nobody@standing.test", "unknown"]]);
      }
      assert.deepEqual([domainQueries, signatureQueries], [1, 1]);

      const mail = mails.find((m) => m.to.email === "news@standing.test")!;
      const mac = /\/confirm\/sender\/\d+\/([0-9a-f]+)/.exec(mail.text)![1]!;
      assert.equal((await senders.confirm(signed.id, mac))?.confirmed, true);
      // Another process's change is seen once the period is over.
      assert.equal((await standing.standingOf(["news@standing.test"])).get("news@standing.test"), "unconfirmed");
      now += STANDING_CACHE_MS + 1;
      assert.equal((await standing.standingOf(["news@standing.test"])).get("news@standing.test"), "allowed");
      assert.deepEqual([domainQueries, signatureQueries], [2, 2]);
      // A change in this process is seen at once.
      await senders.delete(signed.id);
      standing.forget();
      assert.equal((await standing.standingOf(["news@standing.test"])).get("news@standing.test"), "unknown");
    });

    test("a confirmation link confirms only its own signature", async () => {
      const a = await senders.create({ fromEmail: "a@links.test" });
      const b = await senders.create({ fromEmail: "b@links.test" });
      const macA = /\/confirm\/sender\/\d+\/([0-9a-f]+)/.exec(mails.find((m) => m.to.email === "a@links.test")!.text)![1]!;
      assert.equal(await senders.confirm(b.id, macA), null);
      assert.equal(await senders.confirm(a.id, macA.toUpperCase()), null);
      assert.equal(await senders.confirm(a.id, ""), null);
      assert.equal((await senders.get(b.id)).confirmed, false);
      assert.equal((await senders.confirm(a.id, macA))?.confirmed, true);
    });
  });
}
