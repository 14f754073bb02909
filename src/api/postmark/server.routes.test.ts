// GET /server and PUT /server driven by the official postmark client: the workspace as Postmark's
// Server object, its inbound settings and every other setting, with their errors and isolation.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Models } from "postmark";
import { INBOUND_DOMAIN, startInboundApi, type InboundApi, type TestWorkspace } from "./testing/inbound-api.js";
import { failure } from "./testing/client-failure.js";
import { postmarkServerId } from "./server.routes.js";

describe("Postmark server API (ServerClient)", () => {
  let api: InboundApi;
  let acme: TestWorkspace;
  let globex: TestWorkspace;

  before(async () => {
    api = await startInboundApi();
    acme = await api.createWorkspace("acme", { sandbox: true });
    globex = await api.createWorkspace("globex");
  });

  after(async () => {
    await api.close();
  });

  test("GET /server describes the workspace as a Postmark Server", async () => {
    const server = await acme.client.getServer();
    assert.deepEqual(server, {
      ID: postmarkServerId(acme.workspace.id),
      Name: "acme",
      ApiTokens: [],
      ServerLink: "",
      Color: "purple",
      SmtpApiActivated: true,
      RawEmailEnabled: false,
      DeliveryType: "Sandbox",
      InboundAddress: `${acme.hash}@${INBOUND_DOMAIN}`,
      InboundHookUrl: "",
      BounceHookUrl: "",
      OpenHookUrl: "",
      DeliveryHookUrl: "",
      ClickHookUrl: "",
      PostFirstOpenOnly: false,
      InboundDomain: "",
      InboundDomainVerified: false,
      InboundHash: acme.hash,
      InboundSpamThreshold: 0,
      TrackOpens: false,
      TrackLinks: "None",
      IncludeBounceContentInHook: false,
      EnableSmtpApiErrorHooks: false,
    });
    assert.ok(Number.isInteger(server.ID) && server.ID > 0 && server.ID < 2 ** 31);
    const other = await globex.client.getServer();
    assert.deepEqual([other.Name, other.DeliveryType, other.InboundHash], ["globex", "Live", globex.hash]);
    assert.notEqual(other.ID, server.ID);
    assert.equal((await acme.client.getServer()).ID, server.ID, "the ID is stable");
  });

  test("DeliveryType follows the workspace's sandbox switch", async () => {
    await api.workspaces.setSandbox("acme", false);
    assert.equal((await acme.client.getServer()).DeliveryType, "Live");
    await api.workspaces.setSandbox("acme", true);
    assert.equal((await acme.client.getServer()).DeliveryType, "Sandbox");
  });

  test("PUT /server sets and clears the inbound webhook URL and the inbound domain", async () => {
    const set = await acme.client.editServer({ InboundHookUrl: "https://hooks.acme.test/inbound?key=1", InboundDomain: "Mail.Acme.test" });
    assert.equal(set.InboundHookUrl, "https://hooks.acme.test/inbound?key=1");
    assert.equal(set.InboundDomain, "mail.acme.test");
    assert.equal((set as unknown as { InboundDomainVerified: boolean }).InboundDomainVerified, false, "no DNS proves it");
    assert.equal(set.Name, "acme");
    assert.deepEqual(await acme.client.getServer(), set);

    // Leaving a field out keeps it; "" (or null) clears it.
    const hookOnly = await acme.client.editServer({ InboundHookUrl: "" });
    assert.deepEqual([hookOnly.InboundHookUrl, hookOnly.InboundDomain], ["", "mail.acme.test"]);
    const cleared = await acme.client.editServer({ InboundDomain: null } as unknown as Models.UpdateServerRequest);
    assert.deepEqual([cleared.InboundHookUrl, cleared.InboundDomain], ["", ""]);
  });

  test("an invalid webhook URL gets 606, an unusable inbound domain 608, one another workspace uses 602", async () => {
    // A malformed %-escape in the credentials would throw at every post (it is decoded for Basic auth).
    for (const InboundHookUrl of ["not a url", "ftp://hooks.acme.test/x", `https://x.test/${"a".repeat(2100)}`, "https://us%zzer:pw@hooks.acme.test/x", "https://user:p%E0%A4%A@hooks.acme.test/x",
      // Internal addresses, in the forms URL parsing turns into them (webhooks go to public addresses only).
      "http://127.0.0.1:8080/hook", "http://2130706433/", "http://0x7f.1/", "http://017700000001/", "http://0/", "http://[::1]/", "http://[::ffff:169.254.169.254]/",
      "http://169.254.169.254/latest/meta-data/", "https://10.0.0.5/", "http://192.168.1.1/"]) {
      const bad = await failure(acme.client.editServer({ InboundHookUrl }));
      assert.deepEqual([bad.name, bad.statusCode, bad.code], ["ApiInputError", 422, 606], InboundHookUrl.slice(0, 40));
    }
    for (const InboundDomain of ["not a domain", "under_score.test", INBOUND_DOMAIN]) {
      const bad = await failure(acme.client.editServer({ InboundDomain }));
      assert.deepEqual([bad.statusCode, bad.code], [422, 608], InboundDomain);
    }
    await globex.client.editServer({ InboundDomain: "globex.test" });
    const taken = await failure(acme.client.editServer({ InboundDomain: "GLOBEX.test" }));
    assert.deepEqual([taken.statusCode, taken.code], [422, 602]);

    // A refused request changes nothing, not even its valid half.
    await failure(acme.client.editServer({ InboundHookUrl: "https://ok.acme.test/", InboundDomain: "not a domain" }));
    assert.equal((await acme.client.getServer()).InboundHookUrl, "");
  });

  test("an inbound domain may not be the server's host name, return-path, shared inbound or a sending domain (608)", async () => {
    const brand = await api.domains.create({ name: "brand.test", returnPathDomain: "pm-bounces.brand.test" });
    for (const InboundDomain of ["posthorn.test", "POSTHORN.test.", INBOUND_DOMAIN, "brand.test", "pm-bounces.brand.test"]) {
      const bad = await failure(acme.client.editServer({ InboundDomain }));
      assert.deepEqual([bad.statusCode, bad.code], [422, 608], InboundDomain);
      assert.match(bad.message, /cannot be an inbound domain|shared inbound domain/, InboundDomain);
    }
    await api.domains.delete(brand.id);
  });

  test("an inbound domain is verified by DNS: an MX naming the server, or a TXT record with the workspace's InboundHash", async () => {
    api.dns.zone["mx-proof.acme.test"] = { MX: [{ priority: 10, exchange: "posthorn.test" }] };
    api.dns.zone["txt-proof.acme.test"] = { TXT: [`posthorn-inbound-verification=${acme.hash}`] };
    api.dns.zone["others-proof.acme.test"] = { TXT: [`posthorn-inbound-verification=${globex.hash}`], MX: [{ priority: 10, exchange: "mx.elsewhere.test" }] };
    const verified = async (InboundDomain: string) => ((await acme.client.editServer({ InboundDomain })) as unknown as { InboundDomainVerified: boolean }).InboundDomainVerified;
    assert.equal(await verified("mx-proof.acme.test"), true);
    assert.equal(await verified("txt-proof.acme.test"), true);
    assert.equal(await verified("others-proof.acme.test"), false, "another workspace's token proves nothing for this one");
    assert.equal(await verified("nothing.acme.test"), false);
    const route = async (address: string) => (await api.inbound.route(address))?.name ?? null;
    assert.equal(await route("help@nothing.acme.test"), null, "an unproven domain receives nothing");
    await acme.client.editServer({ InboundDomain: "txt-proof.acme.test" });
    assert.equal(await route("help@txt-proof.acme.test"), "acme");
    await acme.client.editServer({ InboundDomain: "" });
  });

  test("PUT /server changes every setting of the Server object, and only this workspace's", async () => {
    const before = await globex.client.getServer();
    const changed = await acme.client.editServer({
      Name: "Acme Production",
      Color: "Turqoise",
      SmtpApiActivated: false,
      RawEmailEnabled: true,
      InboundSpamThreshold: 3,
      TrackOpens: true,
      TrackLinks: Models.LinkTrackingOptions.HtmlOnly,
      PostFirstOpenOnly: true,
      IncludeBounceContentInHook: true,
      EnableSmtpApiErrorHooks: true,
      DeliveryType: Models.ServerDeliveryTypes.Sandbox,
    } as Models.UpdateServerRequest);
    const expected = {
      Name: "Acme Production",
      Color: "turqoise",
      SmtpApiActivated: false,
      RawEmailEnabled: true,
      InboundSpamThreshold: 3,
      TrackOpens: true,
      TrackLinks: "HtmlOnly",
      PostFirstOpenOnly: true,
      IncludeBounceContentInHook: true,
      EnableSmtpApiErrorHooks: true,
      DeliveryType: "Sandbox",
    };
    for (const [key, value] of Object.entries(expected)) assert.deepEqual((changed as unknown as Record<string, unknown>)[key], value, key);
    assert.deepEqual(await acme.client.getServer(), changed, "GET reads back what PUT stored");
    assert.deepEqual(await globex.client.getServer(), before, "another workspace is untouched");
    const settings = await api.workspaces.settings(acme.workspace.id);
    assert.deepEqual([settings.trackLinks, settings.trackOpens, settings.smtpEnabled], ["html-only", true, false], "stored in Posthorn's words");

    // A field left out is kept; the Server as GET returned it can be sent back as it is.
    const echoed = await acme.client.editServer({ ...changed, ID: 1, ApiTokens: ["x"], InboundHash: "x" } as unknown as Models.UpdateServerRequest);
    assert.deepEqual(echoed, changed);
    const partial = await acme.client.editServer({ TrackOpens: false });
    assert.deepEqual([partial.TrackOpens, partial.Color, partial.Name], [false, "turqoise", "Acme Production"]);
    await acme.client.editServer({
      Name: "acme",
      Color: "purple",
      SmtpApiActivated: true,
      RawEmailEnabled: false,
      InboundSpamThreshold: 0,
      TrackLinks: Models.LinkTrackingOptions.None,
      PostFirstOpenOnly: false,
      IncludeBounceContentInHook: false,
      EnableSmtpApiErrorHooks: false,
    });
  });

  test("PUT /server refuses bad values with Postmark's codes and changes nothing", async () => {
    const before = await acme.client.getServer();
    const cases: Array<[Record<string, unknown>, number, RegExp]> = [
      [{ Color: "turquoise" }, 607, /not a server color/],
      [{ Color: 5 }, 300, /'Color' must be a string/],
      [{ Name: "globex" }, 603, /already exists/],
      [{ Name: "" }, 300, /1–64 characters/],
      [{ Name: "x".repeat(65) }, 300, /1–64 characters/],
      [{ Name: " padded" }, 300, /1–64 characters/],
      [{ TrackOpens: "true" }, 300, /'TrackOpens' must be true or false/],
      [{ SmtpApiActivated: 1 }, 300, /'SmtpApiActivated' must be true or false/],
      [{ TrackLinks: "Always" }, 300, /'TrackLinks' must be one of None, HtmlAndText, HtmlOnly, TextOnly/],
      [{ InboundSpamThreshold: -1 }, 300, /from 0 to 30/],
      [{ InboundSpamThreshold: 2.5 }, 300, /from 0 to 30/],
      [{ InboundSpamThreshold: 31 }, 300, /from 0 to 30/],
      [{ InboundSpamThreshold: "5" }, 300, /must be a number/],
      [{ DeliveryType: "Staging" }, 300, /Live or Sandbox/],
      [{ Color: "red", InboundHookUrl: "ftp://x.test/" }, 606, /use http or https/],
      [{ Color: "blakc", InboundHookUrl: "https://ok.test/" }, 607, /not a server color/],
    ];
    for (const [body, code, message] of cases) {
      const refused = await failure(acme.client.editServer(body as Models.UpdateServerRequest));
      assert.deepEqual([refused.statusCode, refused.code], [422, code], JSON.stringify(body));
      assert.match(refused.message, message, JSON.stringify(body));
    }
    assert.deepEqual(await acme.client.getServer(), before, "no refused request changed anything");
  });

  test("a server token may put its workspace into the sandbox, not take it out", async () => {
    const live = await globex.client.editServer({ DeliveryType: Models.ServerDeliveryTypes.Live } as Models.UpdateServerRequest);
    assert.equal(live.DeliveryType, "Live", "repeating Live is fine");
    assert.equal((await globex.client.editServer({ DeliveryType: Models.ServerDeliveryTypes.Sandbox } as Models.UpdateServerRequest)).DeliveryType, "Sandbox");
    const refused = await failure(globex.client.editServer({ DeliveryType: Models.ServerDeliveryTypes.Live } as Models.UpdateServerRequest));
    assert.deepEqual([refused.statusCode, refused.code], [422, 300]);
    assert.match(refused.message, /cannot take its server out of the sandbox/);
    await api.workspaces.setSandbox("globex", false);
  });

  test("PUT /server needs a JSON object, and the test token has no server", async () => {
    const headers = { "X-Postmark-Server-Token": acme.token, Accept: "application/json", "Content-Type": "application/json" };
    const array = await fetch(`${api.baseUrl}/server`, { method: "PUT", headers, body: "[]" });
    assert.equal(array.status, 422);
    assert.equal(((await array.json()) as { ErrorCode: number }).ErrorCode, 300);
    // An empty body is {} and changes nothing.
    const empty = await fetch(`${api.baseUrl}/server`, { method: "PUT", headers });
    assert.equal(empty.status, 200);
    assert.equal(((await empty.json()) as { Name: string }).Name, "acme");

    const testToken = await fetch(`${api.baseUrl}/server`, { headers: { ...headers, "X-Postmark-Server-Token": "POSTMARK_API_TEST" } });
    assert.equal(testToken.status, 401);
  });
});
