import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, randomBytes } from "node:crypto";
import { storeTargets } from "../../test/support/stores.js";
import { isPosthornError } from "../shared/errors.js";
import { silentLogger } from "../shared/logger.js";
import type { Store } from "../store/store.js";
import { createDomainDns } from "./domain-dns.js";
import { createSecretBox } from "./secret-box.js";
import { SendingDomainsService, type SendingDomain } from "./sending-domains.service.js";
import { startDnsZoneServer, type DnsZoneServer } from "./testing/dns-zone-server.js";

const HOSTNAME = "mta.posthorn.test";
const DAY_MS = 86_400_000;
const rejectsWith = (code: string) => (err: unknown) => isPosthornError(err, code);

for (const target of storeTargets()) {
  describe(`sending domains on ${target.name}`, () => {
    let dns: DnsZoneServer;
    const open: Store[] = [];

    before(async () => {
      dns = await startDnsZoneServer();
    });
    after(async () => {
      await Promise.all(open.map((s) => s.close()));
      await dns.close();
    });

    async function setup(options: { ed25519?: boolean } = {}) {
      const store = await target.open();
      open.push(store);
      const clock = { t: Date.UTC(2026, 10, 22, 12), now: () => clock.t };
      const secrets = createSecretBox(randomBytes(32));
      const changed: string[] = [];
      const service = new SendingDomainsService({
        store,
        clock,
        dns: createDomainDns({ dnsServers: [dns.address], timeoutMs: 500 }),
        secrets,
        logger: silentLogger(),
        settings: { hostname: HOSTNAME, spfInclude: null, ed25519: options.ed25519 ?? false },
      });
      service.onDomainChanged((name) => changed.push(name));
      return { store, clock, secrets, service, changed };
    }

    /** Publishes a TXT record in the test zone. */
    const publish = (record: { host: string; value: string }) => {
      const existing = dns.zone[record.host];
      dns.zone[record.host] = { ...existing, TXT: [...(existing?.TXT ?? []), record.value] };
    };
    const unique = (label: string) => `${label}-${target.name}-${randomBytes(3).toString("hex")}.test`;

    test("adding a domain makes a pending RSA-2048 key and lists every record to publish", async () => {
      const { service } = await setup();
      const name = unique("added");
      const domain = await service.create({ name: name.toUpperCase() });
      assert.equal(domain.name, name);
      assert.equal(typeof domain.id, "number");
      assert.equal(domain.returnPathDomain, `pm-bounces.${name}`);
      assert.equal(domain.dkimVerified, false);
      assert.equal(domain.dkimUpdateStatus, "Pending");
      assert.equal(domain.activeKey, null);
      assert.equal(domain.pendingKey?.selector, "ph20261122");
      assert.equal(domain.pendingKey?.record.host, `ph20261122._domainkey.${name}`);
      const p = /^v=DKIM1; k=rsa; p=([A-Za-z0-9+/=]+)$/.exec(domain.pendingKey!.record.value)?.[1];
      assert.ok(p, domain.pendingKey!.record.value);
      assert.equal(createPublicKey({ key: Buffer.from(p, "base64"), format: "der", type: "spki" }).asymmetricKeyDetails?.modulusLength, 2048);
      assert.match(domain.pendingKey!.ed25519Record.value, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
      assert.deepEqual(domain.records, {
        spf: { type: "TXT", host: name, value: `v=spf1 a:${HOSTNAME} ~all` },
        dmarc: { type: "TXT", host: `_dmarc.${name}`, value: `v=DMARC1; p=none; rua=mailto:dmarc-reports@${name}` },
        returnPath: { type: "CNAME", host: `pm-bounces.${name}`, value: HOSTNAME },
      });
    });

    test("private keys are stored sealed and open only under their own DNS name", async () => {
      const { service, store, secrets } = await setup();
      const name = unique("sealed");
      const domain = await service.create({ name });
      const row = await store.db.selectFrom("dkim_keys").selectAll().where("domain_id", "=", domain.id).executeTakeFirstOrThrow();
      for (const sealed of [row.rsa_private_key, row.ed25519_private_key]) assert.doesNotMatch(sealed, /PRIVATE KEY/);
      const pem = secrets.open(row.rsa_private_key, `${row.selector}._domainkey.${name}`).toString();
      const publicDer = createPublicKey(createPrivateKey(pem)).export({ type: "spki", format: "der" }).toString("base64");
      assert.equal(publicDer, row.rsa_public_key);
      assert.throws(() => secrets.open(row.rsa_private_key, `${row.ed25519_selector}._domainkey.${name}`), /failed authentication/);
    });

    test("a domain can be added once, whatever the letter case, even by concurrent requests", async () => {
      const { service } = await setup();
      const name = unique("dup");
      const results = await Promise.allSettled([service.create({ name }), service.create({ name })]);
      assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
      const failure = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      assert.ok(isPosthornError(failure.reason, "DOMAIN_EXISTS"), String(failure.reason));
      await assert.rejects(service.create({ name: name.toUpperCase() }), (err) => isPosthornError(err, "DOMAIN_EXISTS") && err.message.includes(name));
      assert.equal((await service.list({ count: 10, offset: 0 })).total, 1);
    });

    test("bad names and return paths are refused and nothing is stored", async () => {
      const { service } = await setup();
      await assert.rejects(service.create({ name: "not a domain" }), rejectsWith("DOMAIN_INVALID"));
      await assert.rejects(service.create({ name: undefined }), rejectsWith("DOMAIN_INVALID"));
      await assert.rejects(service.create({ name: "ok.test", returnPathDomain: "bounces.other.test" }), rejectsWith("DOMAIN_INVALID"));
      assert.equal((await service.list({ count: 10, offset: 0 })).total, 0);
      await assert.rejects(service.get(12345), rejectsWith("DOMAIN_NOT_FOUND"));
    });

    test("DKIM is verified once the pending key is in DNS; it then signs, and stays verified", async () => {
      const { service } = await setup();
      const name = unique("dkim");
      let domain = await service.create({ name });
      assert.equal((await service.verifyDkim(domain.id)).dkimVerified, false);
      assert.equal(await service.signingKeys(name), null);
      publish(domain.pendingKey!.record);
      domain = await service.verifyDkim(domain.id);
      assert.equal(domain.dkimVerified, true);
      assert.equal(domain.dkimUpdateStatus, "Verified");
      assert.equal(domain.pendingKey, null);
      assert.equal(domain.activeKey?.selector, "ph20261122");
      const keys = await service.signingKeys(name.toUpperCase() + ".");
      assert.equal(keys?.rsa.selector, "ph20261122");
      assert.match(keys!.rsa.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
      assert.equal(keys?.ed25519, null); // Ed25519 is off in this service
      // Postmark: "Once DKIM is verified, this response will stay true, even if the record is later removed."
      delete dns.zone[domain.activeKey!.record.host];
      assert.equal((await service.verifyAll(domain.id)).dkimVerified, true);
    });

    test("SPF and the return path follow the DNS, and a DNS failure changes nothing", async () => {
      const { service, clock } = await setup();
      const name = unique("spf");
      let domain = await service.create({ name });
      dns.zone[name] = { TXT: ["v=spf1 mx ~all"] };
      assert.equal((await service.verifySpf(domain.id)).spfVerifiedAt, null);
      dns.zone[name] = { TXT: [`v=spf1 mx a:${HOSTNAME} ~all`] };
      assert.equal((await service.verifySpf(domain.id)).spfVerifiedAt, clock.t);

      dns.zone[domain.returnPathDomain] = { CNAME: "elsewhere.test" };
      assert.equal((await service.verifyReturnPath(domain.id)).returnPathVerifiedAt, null);
      dns.zone[domain.returnPathDomain] = { CNAME: `${HOSTNAME.toUpperCase()}.` };
      clock.t += 1000;
      domain = await service.verifyReturnPath(domain.id);
      assert.equal(domain.returnPathVerifiedAt, clock.t);

      dns.zone[name] = { rcode: "SERVFAIL" };
      dns.zone[domain.returnPathDomain] = { rcode: "SERVFAIL" };
      clock.t += 1000;
      domain = await service.verifyAll(domain.id);
      assert.equal(domain.spfVerifiedAt, clock.t - 2000);
      assert.equal(domain.returnPathVerifiedAt, clock.t - 1000);
      assert.equal(domain.lastCheckedAt, clock.t);

      assert.equal(await service.verifiedReturnPath(name.toUpperCase()), `pm-bounces.${name}`);

      delete dns.zone[domain.returnPathDomain]; // NXDOMAIN: a definite answer
      assert.equal((await service.verifyReturnPath(domain.id)).returnPathVerifiedAt, null);
      assert.equal(await service.verifiedReturnPath(name), null);
      assert.equal(await service.verifiedReturnPath("unknown.test"), null);
    });

    test("rotation keeps the old key signing until the new one is verified, then revokes it", async () => {
      const { service, clock } = await setup();
      const name = unique("rotate");
      let domain = await service.create({ name });
      await assert.rejects(service.rotateDkim(domain.id), (err) => isPosthornError(err, "DKIM_ROTATION_PENDING") && err.message.includes("ph20261122._domainkey"));
      publish(domain.pendingKey!.record);
      domain = await service.verifyDkim(domain.id);
      const old = domain.activeKey!;

      domain = await service.rotateDkim(domain.id);
      assert.equal(domain.dkimUpdateStatus, "Pending");
      assert.equal(domain.pendingKey?.selector, "ph20261122-2");
      assert.equal(domain.activeKey?.selector, old.selector);
      assert.equal((await service.signingKeys(name))?.rsa.selector, old.selector);
      await assert.rejects(service.rotateDkim(domain.id), rejectsWith("DKIM_ROTATION_PENDING"));
      assert.equal((await service.verifyDkim(domain.id)).activeKey?.selector, old.selector); // not published yet

      clock.t += DAY_MS;
      publish(domain.pendingKey!.record);
      domain = await service.verifyDkim(domain.id);
      assert.equal(domain.activeKey?.selector, "ph20261122-2");
      assert.equal(domain.revokedKey?.record.host, old.record.host);
      assert.equal(domain.revokedKey?.record.value, old.record.value);
      assert.equal(domain.safeToRemoveRevokedKey, false);
      assert.equal(domain.dkimUpdateStatus, "Verified");
      assert.equal((await service.signingKeys(name))?.rsa.selector, "ph20261122-2");
      clock.t += 7 * DAY_MS;
      assert.equal((await service.get(domain.id)).safeToRemoveRevokedKey, true);

      // A second rotation forgets the first revoked key and revokes the second.
      domain = await service.rotateDkim(domain.id);
      assert.equal(domain.pendingKey?.selector, "ph20261130");
      publish(domain.pendingKey!.record);
      domain = await service.verifyDkim(domain.id);
      assert.equal(domain.revokedKey?.selector, "ph20261122-2");
      assert.equal(domain.activeKey?.selector, "ph20261130");
    });

    test("with Ed25519 on, its key signs only while its own record is published", async () => {
      const { service } = await setup({ ed25519: true });
      const name = unique("ed");
      let domain = await service.create({ name });
      publish(domain.pendingKey!.record);
      domain = await service.verifyDkim(domain.id);
      assert.equal(domain.activeKey?.ed25519VerifiedAt, null);
      assert.equal((await service.signingKeys(name))?.ed25519, null);
      publish(domain.activeKey!.ed25519Record);
      domain = await service.verifyDkim(domain.id);
      assert.notEqual(domain.activeKey?.ed25519VerifiedAt, null);
      const keys = await service.signingKeys(name);
      assert.equal(keys?.ed25519?.selector, "ph20261122-ed");
      assert.equal(createPrivateKey(keys!.ed25519!.privateKeyPem).asymmetricKeyType, "ed25519");
      delete dns.zone[domain.activeKey!.ed25519Record.host];
      await service.verifyAll(domain.id);
      assert.equal((await service.signingKeys(name))?.ed25519, null);
    });

    test("changing the return path needs a new verification; empty restores the default", async () => {
      const { service } = await setup();
      const name = unique("rp");
      let domain = await service.create({ name, returnPathDomain: `bounces.${name}` });
      assert.equal(domain.returnPathDomain, `bounces.${name}`);
      dns.zone[`bounces.${name}`] = { CNAME: HOSTNAME };
      assert.notEqual((await service.verifyReturnPath(domain.id)).returnPathVerifiedAt, null);
      domain = await service.updateReturnPath(domain.id, `pm.${name}`);
      assert.equal(domain.returnPathDomain, `pm.${name}`);
      assert.equal(domain.returnPathVerifiedAt, null);
      assert.equal((await service.updateReturnPath(domain.id, "")).returnPathDomain, `pm-bounces.${name}`);
      await assert.rejects(service.updateReturnPath(domain.id, "pm.elsewhere.test"), rejectsWith("DOMAIN_INVALID"));
    });

    test("deleting a domain removes its keys and stops signing", async () => {
      const { service, store, changed } = await setup();
      const name = unique("del");
      const domain = await service.create({ name });
      publish(domain.pendingKey!.record);
      await service.verifyDkim(domain.id);
      assert.equal(await service.delete(domain.id), name);
      assert.equal(await service.signingKeys(name), null);
      await assert.rejects(service.get(domain.id), rejectsWith("DOMAIN_NOT_FOUND"));
      await assert.rejects(service.delete(domain.id), rejectsWith("DOMAIN_NOT_FOUND"));
      const keys = await store.db.selectFrom("dkim_keys").select("id").where("domain_id", "=", domain.id).execute();
      assert.equal(keys.length, 0);
      assert.ok(changed.filter((n) => n === name).length >= 3); // create, verify, delete
    });

    test("listing pages through domains by name", async () => {
      const { service } = await setup();
      for (const n of ["c-list.test", "a-list.test", "b-list.test"]) await service.create({ name: n });
      const page = await service.list({ count: 2, offset: 1 });
      assert.equal(page.total, 3);
      assert.deepEqual(page.domains.map((d: SendingDomain) => d.name), ["b-list.test", "c-list.test"]);
    });

    test("the recheck verifies domains not checked within the interval, and only those", async () => {
      const { service, clock } = await setup();
      const names = [unique("re1"), unique("re2")];
      const domains = await Promise.all(names.map((name) => service.create({ name })));
      for (const d of domains) publish(d.pendingKey!.record);
      dns.zone[`pm-bounces.${names[0]}`] = { CNAME: HOSTNAME };
      const hour = 3_600_000;
      assert.equal(await service.recheckDue({ intervalMs: hour }), 2);
      const [first, second] = await Promise.all(domains.map((d) => service.get(d.id)));
      assert.equal(first?.dkimVerified, true);
      assert.equal(second?.dkimVerified, true);
      assert.notEqual(first?.returnPathVerifiedAt, null);
      assert.equal(second?.returnPathVerifiedAt, null);
      assert.equal(await service.recheckDue({ intervalMs: hour }), 0);
      clock.t += hour + 1;
      assert.equal(await service.recheckDue({ intervalMs: hour, limit: 1 }), 1);
      assert.equal(await service.recheckDue({ intervalMs: hour }), 1);
    });
  });
}
