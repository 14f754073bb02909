// End to end: the account API's /servers driven by the official AccountClient against a running
// Posthorn (every role), the Server objects it answers, its errors and paging, isolation between
// workspaces and between token families, SmtpApiActivated refusing a real SMTP AUTH, and a
// deletion that leaves no row of the workspace in any table.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import { AccountClient, Models, ServerClient } from "postmark";
import { sql } from "../src/store/kysely.js";
import { startTestServer, type TestServer } from "./support/server.js";
import { serverDatabases } from "./support/stores.js";
import { failure } from "../src/api/postmark/testing/client-failure.js";
import { postmarkServerId } from "../src/api/postmark/server.mapper.js";
import { EventsRepository } from "../src/events/events.repository.js";
import type { RecordedEvent } from "../src/events/event-map.js";
import { eventually } from "./support/eventually.js";
import { statsRollupConsumer } from "../src/stats/stats-rollup.consumer.js";
import { COUNTED_EVENT_TYPES } from "../src/stats/stats-metrics.js";

function hostOf(server: TestServer): string {
  return server.url.replace(/^http:\/\//, "");
}

describe("the account API's servers", () => {
  let server: TestServer;
  let account: AccountClient;
  let acmeToken: string;
  let accountToken: string;

  before(async () => {
    server = await startTestServer();
    acmeToken = await server.createWorkspace("acme");
    await server.createWorkspace("globex", { sandbox: true });
    accountToken = await server.app.services.workspaces.createAccountToken();
    account = new AccountClient(accountToken, { useHttps: false, requestHost: hostOf(server), timeout: 10 });
  });

  after(async () => {
    await server.close();
  });

  test("GET /servers lists the workspaces as Servers, with paging and a name filter", async () => {
    const all = await account.getServers();
    assert.equal(all.TotalCount, 2);
    assert.deepEqual(
      all.Servers.map((s) => [s.Name, s.DeliveryType, s.ApiTokens]),
      [
        ["acme", "Live", []],
        ["globex", "Sandbox", []],
      ],
    );
    const acme = all.Servers[0]!;
    assert.equal(acme.ID, postmarkServerId((await server.app.services.workspaces.get("acme")).id));
    assert.deepEqual(await new ServerClient(acmeToken, { useHttps: false, requestHost: hostOf(server) }).getServer(), acme, "the same Server as GET /server");

    const page = await account.getServers({ count: 1, offset: 1 });
    assert.deepEqual([page.TotalCount, page.Servers.map((s) => s.Name)], [2, ["globex"]]);
    const named = await account.getServers({ count: 10, offset: 0, name: "GLOB" });
    assert.deepEqual([named.TotalCount, named.Servers.map((s) => s.Name)], [1, ["globex"]]);
    const wildcard = await account.getServers({ count: 10, offset: 0, name: "%" });
    assert.equal(wildcard.TotalCount, 0, "LIKE wildcards in the filter are literal");

    const tooMany = await failure(account.getServers({ count: 501, offset: 0 }));
    assert.deepEqual([tooMany.statusCode, tooMany.code], [422, 300]);
    // The client replaces a count of 0 by its default, so that one goes by hand.
    for (const query of ["count=0&offset=0", "count=5&offset=-1", "count=x"]) {
      const response = await fetch(`${server.url}/servers?${query}`, { headers: { "X-Postmark-Account-Token": accountToken, Accept: "application/json" } });
      assert.equal(response.status, 422, query);
      assert.equal(((await response.json()) as { ErrorCode: number }).ErrorCode, 300, query);
    }
  });

  test("POST /servers creates a workspace with every setting, answering its first token once", async () => {
    const created = await account.createServer({
      Name: "Staging Server",
      Color: "Red",
      SmtpApiActivated: false,
      RawEmailEnabled: true,
      DeliveryType: Models.ServerDeliveryTypes.Sandbox,
      InboundHookUrl: "https://hooks.example.com/in",
      PostFirstOpenOnly: true,
      InboundSpamThreshold: 5,
      TrackOpens: true,
      TrackLinks: Models.LinkTrackingOptions.HtmlAndText,
      IncludeBounceContentInHook: true,
      EnableSmtpApiErrorHooks: true,
    });
    assert.equal(created.Name, "Staging Server");
    assert.equal(created.Color, "red");
    assert.equal(created.SmtpApiActivated, false);
    assert.equal(created.RawEmailEnabled, true);
    assert.equal(created.DeliveryType, "Sandbox");
    assert.equal(created.InboundHookUrl, "https://hooks.example.com/in");
    assert.equal(created.PostFirstOpenOnly, true);
    assert.equal(created.InboundSpamThreshold, 5);
    assert.equal(created.TrackOpens, true);
    assert.equal(created.TrackLinks, "HtmlAndText");
    assert.equal(created.IncludeBounceContentInHook, true);
    assert.equal(created.EnableSmtpApiErrorHooks, true);
    assert.match(created.InboundAddress, /^[0-9a-f]{32}@/);
    assert.equal(created.ApiTokens.length, 1);

    // The token works as a server token, and it is never shown again.
    const client = new ServerClient(created.ApiTokens[0]!, { useHttps: false, requestHost: hostOf(server) });
    const own = await client.getServer();
    assert.equal(own.ID, created.ID);
    const fetched = await account.getServer(created.ID);
    assert.deepEqual(fetched.ApiTokens, []);
    assert.deepEqual(fetched, { ...created, ApiTokens: [] });

    // Defaults: Live, purple, SMTP on, as Postmark creates a server.
    const plain = await account.createServer({ Name: "plain" });
    assert.deepEqual([plain.DeliveryType, plain.Color, plain.SmtpApiActivated, plain.TrackLinks], ["Live", "purple", true, "None"]);
  });

  test("POST /servers refuses a bad request with Postmark's codes and creates nothing", async () => {
    const before = (await account.getServers()).TotalCount;
    const cases: Array<[Record<string, unknown>, number]> = [
      [{}, 300],
      [{ Name: "acme" }, 603],
      [{ Name: "colourful", Color: "turquoise" }, 607],
      [{ Name: "hooked", InboundHookUrl: "http://127.0.0.1/hook" }, 606],
      [{ Name: "taken-domain", InboundDomain: "inbound.posthorn.test" }, 608],
      [{ Name: "bad\nname" }, 300],
    ];
    for (const [body, code] of cases) {
      const refused = await failure(account.createServer(body as unknown as Models.CreateServerRequest));
      assert.deepEqual([refused.statusCode, refused.code], [422, code], JSON.stringify(body));
    }
    assert.equal((await account.getServers()).TotalCount, before);
    assert.equal((await account.getServers({ count: 10, offset: 0, name: "hooked" })).TotalCount, 0, "the workspace made before the hook URL was refused is gone");
  });

  test("PUT /servers/{id} changes one workspace and no other; unknown IDs are 601", async () => {
    const servers = (await account.getServers()).Servers;
    const acme = servers.find((s) => s.Name === "acme")!;
    const globex = servers.find((s) => s.Name === "globex")!;
    const edited = await account.editServer(acme.ID, { Color: "green", TrackOpens: true, InboundSpamThreshold: 4 });
    assert.deepEqual([edited.Color, edited.TrackOpens, edited.InboundSpamThreshold, edited.Name], ["green", true, 4, "acme"]);
    assert.deepEqual(await account.getServer(globex.ID), globex, "the other workspace is untouched");
    // The account may take a workspace out of the sandbox, which a server token may not.
    assert.equal((await account.editServer(globex.ID, { DeliveryType: "Live" } as Models.UpdateServerRequest)).DeliveryType, "Live");
    await account.editServer(globex.ID, { DeliveryType: "Sandbox" } as Models.UpdateServerRequest);
    const renamed = await account.editServer(acme.ID, { Name: "acme-renamed" });
    assert.equal(renamed.ID, acme.ID, "the ID does not follow the name");
    await account.editServer(acme.ID, { Name: "acme", Color: "purple", TrackOpens: false, InboundSpamThreshold: 0 });

    for (const id of [1, 0, 2 ** 31]) {
      const missing = await failure(account.getServer(id));
      assert.deepEqual([missing.statusCode, missing.code], [422, 601], `id ${id}`);
    }
    const wordId = await fetch(`${server.url}/servers/abc`, { headers: { "X-Postmark-Account-Token": accountToken, Accept: "application/json" } });
    assert.equal(wordId.status, 422);
    assert.equal(((await wordId.json()) as { ErrorCode: number }).ErrorCode, 601);
    const edit = await failure(account.editServer(globex.ID, { Name: "acme" }));
    assert.deepEqual([edit.statusCode, edit.code], [422, 603]);
    const colour = await failure(account.editServer(globex.ID, { Color: "pink" }));
    assert.deepEqual([colour.statusCode, colour.code], [422, 607]);
  });

  test("deleting a server is refused with 604 unless the operator turned it on", async () => {
    const acme = (await account.getServers({ count: 10, offset: 0, name: "acme" })).Servers[0]!;
    const refused = await failure(account.deleteServer(acme.ID));
    assert.deepEqual([refused.statusCode, refused.code], [422, 604]);
    assert.match(refused.message, /POSTHORN_API_SERVER_DELETION/);
    assert.equal((await account.getServer(acme.ID)).Name, "acme");
  });

  test("a server token cannot reach /servers, nor an account token /server", async () => {
    const asServer = new AccountClient(acmeToken, { useHttps: false, requestHost: hostOf(server) });
    const refused = await failure(asServer.getServers());
    assert.deepEqual([refused.statusCode, refused.code], [401, 10]);
    const asAccount = new ServerClient(accountToken, { useHttps: false, requestHost: hostOf(server) });
    const noServer = await failure(asAccount.getServer());
    assert.deepEqual([noServer.statusCode, noServer.code], [401, 10]);
  });

  test("SmtpApiActivated false refuses SMTP AUTH with the workspace's token (525 5.7.13); true lets it submit", async () => {
    const certPem = readFileSync(join(server.dataDir, "smtp-tls", "cert.pem"), "utf8");
    const port = server.app.smtp!.submission[0]!.port;
    const smtp = () =>
      nodemailer.createTransport({ host: "127.0.0.1", port, requireTLS: true, tls: { ca: certPem, servername: "localhost" }, auth: { user: acmeToken, pass: acmeToken } } as SMTPTransport.Options);
    const mail = { from: "support@acme.test", to: "ada@example.test", subject: "Hello", text: "Hi." };
    const acme = (await account.getServers({ count: 10, offset: 0, name: "acme" })).Servers[0]!;

    await account.editServer(acme.ID, { SmtpApiActivated: false });
    await assert.rejects(smtp().sendMail(mail), (err: Error & { responseCode?: number; response?: string }) => {
      assert.equal(err.responseCode, 525);
      assert.match(err.response ?? "", /^525 5\.7\.13 SMTP is turned off for the server 'acme'/);
      return true;
    });
    // An SMTP token pair of the workspace is refused the same way.
    const pair = await server.app.services.workspaces.createSmtpToken("acme", "outbound");
    const viaPair = nodemailer.createTransport({ host: "127.0.0.1", port, requireTLS: true, tls: { ca: certPem, servername: "localhost" }, auth: { user: pair.accessKey, pass: pair.secretKey } } as SMTPTransport.Options);
    await assert.rejects(viaPair.sendMail(mail), { responseCode: 525 });
    // Globex's SMTP is untouched by acme's switch.
    assert.equal((await account.getServers({ count: 10, offset: 0, name: "globex" })).Servers[0]!.SmtpApiActivated, true);

    await account.editServer(acme.ID, { SmtpApiActivated: true });
    const info = await smtp().sendMail(mail);
    assert.match(info.response, /^250 2\.0\.0 OK: queued as /);
  });
});

for (const target of serverDatabases()) {
describe(`deleting a server, when the operator allows it (${target.name})`, () => {
  let server: TestServer;
  let account: AccountClient;
  let drop: () => Promise<void>;

  before(async () => {
    const database = await target.open();
    drop = database.drop;
    server = await startTestServer({ ...database.env, POSTHORN_API_SERVER_DELETION: "true" });
    account = new AccountClient(await server.app.services.workspaces.createAccountToken(), { useHttps: false, requestHost: hostOf(server), timeout: 10 });
  });

  after(async () => {
    await server.close();
    await drop();
  });

  test("removes the workspace and every row of it from every table; others keep theirs", async () => {
    const doomed = await account.createServer({ Name: "doomed", DeliveryType: Models.ServerDeliveryTypes.Sandbox });
    const kept = await account.createServer({ Name: "kept", DeliveryType: Models.ServerDeliveryTypes.Sandbox });
    for (const created of [doomed, kept]) {
      const client = new ServerClient(created.ApiTokens[0]!, { useHttps: false, requestHost: hostOf(server) });
      await client.sendEmail({ From: "a@acme.test", To: "b@example.test", Subject: "s", TextBody: "t" });
      await client.createInboundRuleTrigger({ Rule: "spam.test" });
    }
    const workspaces = await server.app.services.workspaces.list();
    const doomedId = workspaces.find((w) => w.name === "doomed")!.id;
    const keptId = workspaces.find((w) => w.name === "kept")!.id;
    const rowsOf = async (id: string) => {
      const db = server.app.services.store.db;
      const counts: Record<string, number> = {};
      for (const table of await db.introspection.getTables()) {
        const column = table.name === "workspaces" ? "id" : table.columns.some((c) => c.name === "workspace_id") ? "workspace_id" : null;
        if (!column) continue;
        const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(table.name)} where ${sql.ref(column)} = ${id}`.execute(db);
        if (Number(rows[0]!.n) > 0) counts[table.name] = Number(rows[0]!.n);
      }
      return counts;
    };
    const before = await rowsOf(doomedId);
    for (const table of ["workspaces", "api_tokens", "streams", "messages", "events", "inbound_rules"]) assert.ok(before[table], `the test fills ${table}`);

    const removed = await account.deleteServer(doomed.ID);
    assert.deepEqual(removed, { ErrorCode: 0, Message: "Server doomed removed." });
    assert.deepEqual(await rowsOf(doomedId), {}, "no row names the deleted workspace");
    assert.ok((await rowsOf(keptId)).messages, "the other workspace keeps its messages");

    // The list and its name filter read the same store (LIKE with its escape on both dialects).
    assert.deepEqual((await account.getServers({ count: 10, offset: 0, name: "k_pt" })).Servers.map((s) => s.Name), [], "_ is literal, not any character");
    assert.deepEqual((await account.getServers({ count: 10, offset: 0, name: "KEPT" })).Servers.map((s) => s.Name), ["kept"]);
    assert.equal((await account.getServers()).TotalCount, 1);

    const gone = await failure(account.getServer(doomed.ID));
    assert.deepEqual([gone.statusCode, gone.code], [422, 601]);
    const token = await failure(new ServerClient(doomed.ApiTokens[0]!, { useHttps: false, requestHost: hostOf(server) }).getServer());
    assert.deepEqual([token.statusCode, token.code], [401, 10], "its tokens stop working at once");
    const again = await failure(account.deleteServer(doomed.ID));
    assert.deepEqual([again.statusCode, again.code], [422, 601]);
  });

  test("a stats batch of a workspace's events that commits after its deletion adds nothing", async () => {
    // The stats consumer reads a batch, the workspace is deleted, the batch commits: it once wrote
    // rollups of the deleted workspace (seen under the full suite: stats_daily 2, stats_hourly 2).
    const created = await account.createServer({ Name: "late", DeliveryType: Models.ServerDeliveryTypes.Sandbox });
    await new ServerClient(created.ApiTokens[0]!, { useHttps: false, requestHost: hostOf(server) }).sendEmail({ From: "a@acme.test", To: "b@example.test", Subject: "s", TextBody: "t" });
    const services = server.app.services;
    const lateId = (await services.workspaces.list()).find((w) => w.name === "late")!.id;
    // As a consumer reads it: on PostgreSQL an event is read once the log's horizon has passed it.
    let batch: RecordedEvent[] = [];
    await eventually(async () => {
      const { events } = await new EventsRepository(services.store.dialect).readAfter(services.store.db, { tx: 0, id: 0 }, COUNTED_EVENT_TYPES, 10_000);
      batch = events.filter((e) => e.workspaceId === lateId);
      return batch.some((e) => e.type === "message.accepted");
    }, 30_000);
    await account.deleteServer(created.ID);
    const consumer = statsRollupConsumer({ repository: services.statsRepository, tagsOf: async () => new Map(), liveWorkspaces: (db, ids) => services.workspaces.liveWorkspaces(db, ids) });
    await services.store.write((trx) => consumer.applyWithCursor(trx, batch));
    for (const table of ["stats_daily", "stats_hourly"] as const) {
      const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)} where workspace_id = ${lateId}`.execute(services.store.db);
      assert.equal(Number(rows[0]!.n), 0, `${table} holds no row of the deleted workspace`);
    }
  });
});
}
