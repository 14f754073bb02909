// The Domains API driven by the official postmark client (AccountClient, 5.1.0) against a real
// listening server, with DNS answered by an in-test server.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { AccountClient } from "postmark";
import { openTempSqlite } from "../../../test/support/stores.js";
import { loadConfig } from "../../config/config.schema.js";
import { buildContainer } from "../../app/container.js";
import { silentLogger } from "../../shared/logger.js";
import type { Store } from "../../store/store.js";
import { createDomainDns } from "../../sending-domains/domain-dns.js";
import { createSecretBox } from "../../sending-domains/secret-box.js";
import { SendingDomainsService } from "../../sending-domains/sending-domains.service.js";
import { startDnsZoneServer, type DnsZoneServer } from "../../sending-domains/testing/dns-zone-server.js";
import { buildHttpServer } from "../http.server.js";
import { domainsRoutes } from "./domains.routes.js";
import { failure } from "./testing/client-failure.js";

const HOSTNAME = "mta.posthorn.test";

describe("Postmark Domains API (AccountClient)", () => {
  let dns: DnsZoneServer;
  let store: Store;
  let app: FastifyInstance;
  let host: string;
  let client: AccountClient;
  let serverToken: string;

  before(async () => {
    dns = await startDnsZoneServer();
    store = await openTempSqlite();
    const services = buildContainer(store, loadConfig({ POSTHORN_HOSTNAME: HOSTNAME, POSTHORN_ENCRYPTION_KEY: randomBytes(32).toString("hex") }), silentLogger());
    const domains = new SendingDomainsService({
      store,
      clock: services.clock,
      dns: createDomainDns({ dnsServers: [dns.address], timeoutMs: 500 }),
      secrets: createSecretBox(randomBytes(32)),
      logger: silentLogger(),
      settings: { hostname: HOSTNAME, spfInclude: null, ed25519: true },
    });
    app = buildHttpServer({
      ...services,
      logger: silentLogger(),
      readiness: async () => ({ ready: true, body: { status: "ready" } }),
      accountRoutes: [domainsRoutes({ domains })],
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    host = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    client = new AccountClient(await services.workspaces.createAccountToken(), { useHttps: false, requestHost: host });
    serverToken = (await services.workspaces.create("ws", { sandbox: true })).serverToken;
  });

  after(async () => {
    await app.close();
    await store.close();
    await dns.close();
  });

  test("create, read, list, verify, rotate and delete a domain", async () => {
    const created = await client.createDomain({ Name: "Shop.Example.test" });
    assert.equal(typeof created.ID, "number");
    assert.equal(created.Name, "shop.example.test");
    assert.equal(created.DKIMVerified, false);
    assert.equal(created.WeakDKIM, false);
    assert.equal(created.DKIMHost, "");
    assert.match(created.DKIMPendingHost, /^ph\d{8}\._domainkey\.shop\.example\.test$/);
    assert.match(created.DKIMPendingTextValue, /^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+=*$/);
    assert.equal(created.DKIMUpdateStatus, "Pending");
    assert.equal(created.ReturnPathDomain, "pm-bounces.shop.example.test");
    assert.equal(created.ReturnPathDomainCNAMEValue, HOSTNAME);
    assert.equal(created.SPFHost, "shop.example.test");
    assert.equal(created.SPFTextValue, `v=spf1 a:${HOSTNAME} ~all`);
    const extra = created as unknown as Record<string, unknown>;
    assert.equal(extra.DMARCHost, "_dmarc.shop.example.test");
    assert.match(String(extra.DKIMEd25519PendingTextValue), /^v=DKIM1; k=ed25519; p=/);
    assert.equal(extra.SPFVerifiedAt, null);

    assert.deepEqual(await client.getDomains(), {
      TotalCount: 1,
      Domains: [{ ID: created.ID, Name: "shop.example.test", SPFVerified: false, DKIMVerified: false, WeakDKIM: false, ReturnPathDomainVerified: false }],
    });
    assert.deepEqual(await client.getDomain(created.ID), created);

    // Publish the records, then each verify call (sent with an empty body) sees them.
    dns.zone[created.DKIMPendingHost] = { TXT: [created.DKIMPendingTextValue] };
    dns.zone["shop.example.test"] = { TXT: [created.SPFTextValue] };
    dns.zone[created.ReturnPathDomain] = { CNAME: created.ReturnPathDomainCNAMEValue };
    const dkim = await client.verifyDomainDKIM(created.ID);
    assert.equal(dkim.DKIMVerified, true);
    assert.equal(dkim.DKIMHost, created.DKIMPendingHost);
    assert.equal(dkim.DKIMTextValue, created.DKIMPendingTextValue);
    assert.equal(dkim.DKIMPendingHost, "");
    assert.equal(dkim.DKIMUpdateStatus, "Verified");
    assert.equal((await client.verifyDomainSPF(created.ID)).SPFVerified, true);
    assert.equal((await client.verifyDomainReturnPath(created.ID)).ReturnPathDomainVerified, true);

    const rotated = await client.rotateDomainDKIM(created.ID);
    assert.equal(rotated.DKIMHost, dkim.DKIMHost);
    assert.match(rotated.DKIMPendingHost, /-2\._domainkey\.shop\.example\.test$/);
    assert.equal(rotated.DKIMUpdateStatus, "Pending");
    assert.deepEqual(await failure(client.rotateDomainDKIM(created.ID)), {
      name: "ApiInputError",
      statusCode: 422,
      code: 505,
      message: `A new DKIM key for shop.example.test is already waiting to be verified (${rotated.DKIMPendingHost}); publish it and verify it first.`,
    });
    dns.zone[rotated.DKIMPendingHost] = { TXT: [rotated.DKIMPendingTextValue] };
    const renewed = await client.verifyDomainDKIM(created.ID);
    assert.equal(renewed.DKIMHost, rotated.DKIMPendingHost);
    assert.equal(renewed.DKIMRevokedHost, dkim.DKIMHost);
    assert.equal(renewed.DKIMRevokedTextValue, dkim.DKIMTextValue);
    assert.equal(renewed.SafeToRemoveRevokedKeyFromDNS, false);

    const edited = await client.editDomain(created.ID, { ReturnPathDomain: "bounces.shop.example.test" });
    assert.equal(edited.ReturnPathDomain, "bounces.shop.example.test");
    assert.equal(edited.ReturnPathDomainVerified, false);

    assert.deepEqual(await client.deleteDomain(created.ID), { ErrorCode: 0, Message: "Domain shop.example.test removed." });
    assert.deepEqual(await client.getDomains({ count: 10, offset: 0 }), { TotalCount: 0, Domains: [] });
  });

  test("paging follows count and offset", async () => {
    const ids: number[] = [];
    for (const name of ["b-page.test", "a-page.test", "c-page.test"]) ids.push((await client.createDomain({ Name: name })).ID);
    try {
      const page = await client.getDomains({ count: 2, offset: 1 });
      assert.equal(page.TotalCount, 3);
      assert.deepEqual(page.Domains.map((d) => d.Name), ["b-page.test", "c-page.test"]);
    } finally {
      for (const id of ids) await client.deleteDomain(id);
    }
  });

  test("bad input answers 422 with ErrorCode 511 and says what is wrong", async () => {
    // Calls are made one at a time (thunks), so no rejection waits unobserved.
    const cases: Array<[() => Promise<unknown>, RegExp]> = [
      [() => client.createDomain({ Name: "" }), /'Name' is required/],
      [() => client.createDomain({ Name: "not a domain" }), /'Name' is not a valid domain name/],
      [() => client.createDomain({ Name: "ok.test", ReturnPathDomain: "bounces.other.test" }), /must be a subdomain of ok\.test/],
      [() => client.createDomain({} as never), /'Name' is required/],
      [() => client.getDomains({ count: 501, offset: 0 }), /'count' must be between 1 and 500/],
      [() => client.getDomains({ count: 10, offset: -1 }), /'offset' must be a whole number/],
      [() => client.getDomain("abc" as unknown as number), /positive whole number; got 'abc'/],
    ];
    for (const [call, message] of cases) {
      const err = await failure(call());
      assert.equal(err.statusCode, 422, err.message);
      assert.equal(err.code, 511, err.message);
      assert.match(err.message, message);
    }
    const domain = await client.createDomain({ Name: "edit.test" });
    try {
      const err = await failure(client.editDomain(domain.ID, {}));
      assert.deepEqual([err.code, /'ReturnPathDomain' is required/.test(err.message)], [511, true]);
      const bad = await failure(client.editDomain(domain.ID, { ReturnPathDomain: "x.other.test" }));
      assert.equal(bad.code, 511);
    } finally {
      await client.deleteDomain(domain.ID);
    }
  });

  test("a duplicate name is refused with a clear message", async () => {
    const domain = await client.createDomain({ Name: "dup.test" });
    try {
      const err = await failure(client.createDomain({ Name: "DUP.test." }));
      assert.deepEqual(err, { name: "ApiInputError", statusCode: 422, code: 511, message: "A domain named dup.test already exists (see GET /domains)." });
    } finally {
      await client.deleteDomain(domain.ID);
    }
  });

  test("an unknown ID answers 510 on every call", async () => {
    const calls = [
      () => client.getDomain(999_999),
      () => client.editDomain(999_999, { ReturnPathDomain: "" }),
      () => client.deleteDomain(999_999),
      () => client.verifyDomainDKIM(999_999),
      () => client.verifyDomainReturnPath(999_999),
      () => client.verifyDomainSPF(999_999),
      () => client.rotateDomainDKIM(999_999),
    ];
    for (const call of calls) assert.deepEqual(await failure(call()), { name: "ApiInputError", statusCode: 422, code: 510, message: "No domain has ID 999999." });
  });

  test("only an account token opens the Domains API", async () => {
    const wrong = new AccountClient("not-a-token", { useHttps: false, requestHost: host });
    assert.deepEqual(await failure(wrong.getDomains()), {
      name: "InvalidAPIKeyError",
      statusCode: 401,
      code: 10,
      message: "Request does not contain a valid Account token.",
    });
    // A server token is not an account token.
    const server = new AccountClient(serverToken, { useHttps: false, requestHost: host });
    assert.equal((await failure(server.getDomains())).statusCode, 401);
  });
});
