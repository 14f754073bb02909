// Templates and layouts end to end, driven by the official postmark client (ServerClient and
// AccountClient 5.1.0) and by nodemailer-postmark-transport against a running Posthorn: the
// template calls, validation with positioned errors, sending with a template and a layout (read
// back from the message's details), batches with bad items, pushes between workspaces, workspace
// isolation, the limits and Postmark's 11xx error codes.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import nodemailer from "nodemailer";
import * as postmarkTransportModule from "nodemailer-postmark-transport";
import { AccountClient, ServerClient } from "postmark";
import { startTestServer, type TestServer } from "./support/server.js";
import { failure } from "../src/api/postmark/testing/client-failure.js";

const FROM = "sender@posthorn.test";

const LAYOUT_HTML = "<html><head><style>.brand{color:#ff0000}</style></head><body><h1 class=\"brand\">{{company}}</h1>{{{ @content }}}<footer>{{footer}}</footer></body></html>";
const LAYOUT_TEXT = "{{company}}\n{{{@content}}}\n-- {{footer}}";

describe("Postmark templates (official client, running server)", () => {
  let server: TestServer;
  let host: string;
  let acme: ServerClient;
  let globex: ServerClient;
  let account: AccountClient;
  let acmeToken: string;

  const client = (token: string) => new ServerClient(token, { useHttps: false, requestHost: host, timeout: 20 });

  before(async () => {
    server = await startTestServer();
    host = server.url.replace(/^http:\/\//, "");
    acmeToken = await server.createWorkspace("acme", { sandbox: true });
    acme = client(acmeToken);
    globex = client(await server.createWorkspace("globex", { sandbox: true }));
    account = new AccountClient(await server.app.services.workspaces.createAccountToken(), { useHttps: false, requestHost: host, timeout: 20 });
  });

  after(async () => {
    await server.close();
  });

  test("create, get, list, edit and delete, by id and by alias", async () => {
    const created = await acme.createTemplate({ Name: "Welcome", Alias: "welcome-1", Subject: "Hi {{name}}", HtmlBody: "<p>Hello {{name}}</p>", TextBody: "Hello {{name}}" });
    assert.ok(Number.isInteger(created.TemplateId) && created.TemplateId > 0);
    assert.deepEqual(
      { ...created, AssociatedServerId: typeof created.AssociatedServerId },
      {
        TemplateId: created.TemplateId,
        Name: "Welcome",
        Subject: "Hi {{name}}",
        HtmlBody: "<p>Hello {{name}}</p>",
        TextBody: "Hello {{name}}",
        AssociatedServerId: "number",
        Active: true,
        Alias: "welcome-1",
        TemplateType: "Standard",
        LayoutTemplate: null,
      },
    );
    assert.deepEqual(await acme.getTemplate(created.TemplateId), created);
    assert.deepEqual(await acme.getTemplate("welcome-1"), created);

    const edited = await acme.editTemplate("welcome-1", { Subject: "Welcome, {{name}}", Alias: "welcome-2" });
    assert.equal(edited.Subject, "Welcome, {{name}}");
    assert.equal(edited.Alias, "welcome-2");
    assert.equal(edited.HtmlBody, "<p>Hello {{name}}</p>", "fields not given stay as they were");
    assert.equal((await failure(acme.getTemplate("welcome-1"))).code, 1101);

    const list = await acme.getTemplates({ count: 100, offset: 0 });
    assert.ok(list.Templates.some((t) => t.TemplateId === created.TemplateId && t.Alias === "welcome-2" && t.TemplateType === "Standard" && t.Active === true));
    assert.equal(list.TotalCount, list.Templates.length);

    const removed = await acme.deleteTemplate(created.TemplateId);
    assert.equal(removed.ErrorCode, 0);
    const gone = await failure(acme.getTemplate(created.TemplateId));
    assert.deepEqual([gone.statusCode, gone.code, gone.name], [422, 1101, "ApiInputError"]);
    assert.equal((await failure(acme.deleteTemplate("welcome-2"))).code, 1101);
  });

  test("layouts: filters, the layout rules, and a layout in use cannot be deleted", async () => {
    const layout = await acme.createTemplate({ Name: "Base", Alias: "base", TemplateType: "Layout" as never, HtmlBody: LAYOUT_HTML, TextBody: LAYOUT_TEXT });
    assert.equal(layout.TemplateType, "Layout");
    const user = await acme.createTemplate({ Name: "Receipt", Alias: "receipt", Subject: "Receipt {{number}}", HtmlBody: "<p>Total {{total}}</p>", LayoutTemplate: "base" });
    assert.equal(user.LayoutTemplate, "base");

    const layouts = await acme.getTemplates({ count: 10, offset: 0, templateType: "Layout" as never });
    assert.deepEqual(layouts.Templates.map((t) => t.Alias), ["base"]);
    const usingBase = await acme.getTemplates({ count: 10, offset: 0, layoutTemplate: "base" });
    assert.deepEqual(usingBase.Templates.map((t) => t.Alias), ["receipt"]);

    const inUse = await failure(acme.deleteTemplate("base"));
    assert.deepEqual([inUse.statusCode, inUse.code], [422, 1130]);
    assert.equal((await failure(acme.createTemplate({ Name: "L2", Alias: "l2", TemplateType: "Layout" as never, HtmlBody: "<p>no slot</p>" }))).code, 1131);
    assert.equal((await failure(acme.createTemplate({ Name: "L3", Alias: "l3", TemplateType: "Layout" as never, HtmlBody: "{{{@content}}}", LayoutTemplate: "base" }))).code, 1123);
    assert.equal((await failure(acme.createTemplate({ Name: "S", Subject: "x", HtmlBody: "x", LayoutTemplate: "no-such-layout" }))).code, 1101);
    assert.equal((await failure(acme.createTemplate({ Name: "S", Subject: "x", HtmlBody: "x", LayoutTemplate: "receipt" }))).code, 1101, "a standard template is no layout");
    assert.equal((await failure(acme.editTemplate("receipt", { TemplateType: "Layout" as never }))).code, 1123);

    // Renaming the layout carries its users along.
    await acme.editTemplate("base", { Alias: "base-v2" });
    assert.equal((await acme.getTemplate("receipt")).LayoutTemplate, "base-v2");
    await acme.editTemplate("base-v2", { Alias: "base" });
  });

  test("bad input answers Postmark's 11xx codes", async () => {
    const cases: Array<[string, () => Promise<unknown>, number]> = [
      ["no Name", () => acme.createTemplate({ Subject: "s", HtmlBody: "x" } as never), 1120],
      ["no Subject", () => acme.createTemplate({ Name: "n", HtmlBody: "x" } as never), 1120],
      ["no body", () => acme.createTemplate({ Name: "n", Subject: "s" }), 1120],
      ["alias starting with a digit", () => acme.createTemplate({ Name: "n", Subject: "s", HtmlBody: "x", Alias: "1abc" }), 1122],
      ["alias with a space", () => acme.createTemplate({ Name: "n", Subject: "s", HtmlBody: "x", Alias: "a b" }), 1122],
      ["alias in use", () => acme.createTemplate({ Name: "n", Subject: "s", HtmlBody: "x", Alias: "receipt" }), 1122],
      ["bad template syntax", () => acme.createTemplate({ Name: "n", Subject: "s", HtmlBody: "{{#items}}x" }), 1122],
      ["bad TemplateType", () => acme.createTemplate({ Name: "n", Subject: "s", HtmlBody: "x", TemplateType: "Fancy" as never }), 1122],
      ["Name not a string", () => acme.createTemplate({ Name: 5, Subject: "s", HtmlBody: "x" } as never), 1122],
      ["Name too long", () => acme.createTemplate({ Name: "n".repeat(256), Subject: "s", HtmlBody: "x" }), 1121],
      ["paging past 500", () => acme.getTemplates({ count: 501, offset: 0 }), 1100],
      ["unknown type filter", () => acme.getTemplates({ count: 10, offset: 0, templateType: "Fancy" as never }), 1100],
    ];
    for (const [name, call, code] of cases) {
      const err = await failure(call());
      assert.deepEqual([err.statusCode, err.code], [422, code], name);
    }
    const syntax = await failure(acme.createTemplate({ Name: "n", Subject: "s", HtmlBody: "line one\n  {{#items}}x" }));
    assert.match(syntax.message, /never closed.*line 2, character 3/);
  });

  test("validate: positioned errors, a suggested model, rendering with the test model and a layout, CSS inlined", async () => {
    const bad = await acme.validateTemplate({ Subject: "{{ok}}", HtmlBody: "<p>\n{{#each items}}{{name}}</p>", TextBody: "{{ a b }}" });
    assert.equal(bad.AllContentIsValid, false);
    assert.equal(bad.Subject.ContentIsValid, true);
    assert.deepEqual(bad.HtmlBody.ValidationErrors, [{ Message: "The block '{{#each items}}' is never closed.", Line: 2, CharacterPosition: 1 }]);
    assert.equal(bad.TextBody.ContentIsValid, false);
    assert.deepEqual((bad.TextBody.ValidationErrors as Array<{ Line: number; CharacterPosition: number }>).map((e) => [e.Line, e.CharacterPosition]), [[1, 1]]);

    const good = await acme.validateTemplate({
      Subject: "Order {{order.number}}",
      HtmlBody: "<style>p{color:blue}</style><p>{{#each items}}{{name}} {{/each}}</p>",
      TextBody: "{{#customer}}Hi {{first}}{{/customer}}",
      TestRenderModel: { order: { number: 7 }, items: [{ name: "pen" }, { name: "<ink>" }], customer: { first: "Ann" } },
    });
    assert.equal(good.AllContentIsValid, true);
    assert.equal(good.Subject.RenderedContent, "Order 7");
    assert.equal(good.HtmlBody.RenderedContent, '<p style="color: blue;">pen &lt;ink&gt; </p>');
    assert.equal(good.TextBody.RenderedContent, "Hi Ann");
    assert.deepEqual(good.SuggestedTemplateModel, { order: { number: "number_Value" }, items: [{ name: "name_Value" }], customer: { first: "first_Value" } });

    const notInlined = await acme.validateTemplate({ HtmlBody: "<style>p{color:blue}</style><p>x</p>", InlineCssForHtmlTestRender: false });
    assert.match(notInlined.HtmlBody.RenderedContent, /<style>/);

    const withLayout = await acme.validateTemplate({ Subject: "s", HtmlBody: "<p>{{body}}</p>", LayoutTemplate: "base", TestRenderModel: { body: "B", company: "ACME", footer: "F" } });
    assert.match(withLayout.HtmlBody.RenderedContent, /<h1 class="brand" style="color: #ff0000;">ACME<\/h1><p>B<\/p><footer>F<\/footer>/);
    assert.deepEqual(Object.keys(withLayout.SuggestedTemplateModel).sort(), ["body", "company", "footer"]);
    assert.equal((await failure(acme.validateTemplate({ HtmlBody: "x", LayoutTemplate: "nope" }))).code, 1101);
    assert.equal((await failure(acme.validateTemplate({ TestRenderModel: {} }))).code, 1120);
  });

  test("sending with a template and its layout: the stored message has the rendered subject, bodies and inlined CSS", async () => {
    const model = { number: "A-1", total: "<b>9.50</b>", company: "ACME & Co", footer: "Oslo" };
    const sent = await acme.sendEmailWithTemplate({ From: FROM, To: "buyer@example.org", TemplateAlias: "receipt", TemplateModel: model });
    assert.deepEqual([sent.ErrorCode, sent.Message, sent.To], [0, "OK", "buyer@example.org"]);
    const details = await acme.getOutboundMessageDetails(sent.MessageID);
    assert.equal(details.Subject, "Receipt A-1");
    assert.equal(
      details.HtmlBody,
      '<html><head></head><body><h1 class="brand" style="color: #ff0000;">ACME &amp; Co</h1><p>Total &lt;b&gt;9.50&lt;/b&gt;</p><footer>Oslo</footer></body></html>',
    );
    // The template has HTML only: the text is made from the rendered HTML.
    assert.match(details.TextBody!, /ACME & CO/);
    assert.match(details.TextBody!, /Total <b>9.50<\/b>/);

    const byId = await acme.getTemplate("receipt");
    const plain = await acme.sendEmailWithTemplate({ From: FROM, To: "buyer@example.org", TemplateId: byId.TemplateId, TemplateModel: model, InlineCss: false });
    assert.match((await acme.getOutboundMessageDetails(plain.MessageID)).HtmlBody!, /<style>\.brand\{color:#ff0000\}<\/style>/);
  });

  test("send-time errors: unknown template, a layout, both or neither reference, template fields, the render limit", async () => {
    const cases: Array<[string, object, number]> = [
      ["unknown id", { TemplateId: 999999, TemplateModel: {} }, 1101],
      ["unknown alias", { TemplateAlias: "nope", TemplateModel: {} }, 1101],
      ["neither", { TemplateModel: {} }, 1101],
      ["a layout", { TemplateAlias: "base", TemplateModel: {} }, 1123],
      ["both", { TemplateAlias: "receipt", TemplateId: 1, TemplateModel: {} }, 1123],
      ["a Subject", { TemplateAlias: "receipt", TemplateModel: {}, Subject: "x" }, 1123],
      ["a model that is no object", { TemplateAlias: "receipt", TemplateModel: [1, 2] }, 1122],
    ];
    for (const [name, fields, code] of cases) {
      const err = await failure(acme.sendEmailWithTemplate({ From: FROM, To: "a@example.org", ...fields } as never));
      assert.deepEqual([err.statusCode, err.code], [422, code], name);
    }
    const bad = await failure(acme.sendEmailWithTemplate({ From: "not an address", To: "a@example.org", TemplateAlias: "receipt", TemplateModel: {} }));
    assert.equal(bad.code, 300, "the rendered message is then validated as any other");

    await acme.createTemplate({ Name: "Heavy", Alias: "heavy", Subject: "s", TextBody: "{{#each a}}{{#each ../a}}{{#each ../../a}}x{{/each}}{{/each}}{{/each}}" });
    const a = Array.from({ length: 150 }, (_, i) => i);
    const heavy = await failure(acme.sendEmailWithTemplate({ From: FROM, To: "a@example.org", TemplateAlias: "heavy", TemplateModel: { a } }));
    assert.equal(heavy.code, 1121);
    assert.match(heavy.message, /steps/);
  });

  test("the messages of one batch share a render budget: those past it fail alone with 1121", async () => {
    const a = Array.from({ length: 70 }, (_, i) => i);
    const messages = Array.from({ length: 8 }, (_, i) => ({ From: FROM, To: `b${i}@example.org`, TemplateAlias: "heavy", TemplateModel: { a } }));
    const results = await acme.sendEmailBatchWithTemplates(messages);
    assert.deepEqual(results.map((r) => r.ErrorCode), [0, 0, 0, 0, 0, 0, 0, 1121]);
    assert.match(results[7]!.Message, /this request/);
  });

  test("the test token has no templates", async () => {
    const err = await failure(client("POSTMARK_API_TEST").sendEmailWithTemplate({ From: FROM, To: "a@example.org", TemplateAlias: "receipt", TemplateModel: {} }));
    assert.deepEqual([err.statusCode, err.code], [422, 1101]);
  });

  test("a hostile model renders nothing from prototypes", async () => {
    await acme.createTemplate({ Name: "Proto", Alias: "proto", Subject: "[{{__proto__.x}}][{{constructor.name}}][{{a.toString}}]", TextBody: "t" });
    const sent = await acme.sendEmailWithTemplate({ From: FROM, To: "a@example.org", TemplateAlias: "proto", TemplateModel: JSON.parse('{"__proto__":{"x":"bad"},"a":{}}') });
    assert.equal((await acme.getOutboundMessageDetails(sent.MessageID)).Subject, "[][][]");
  });

  test("a batch with templates answers each message in order, a bad one with its own ErrorCode", async () => {
    const results = await acme.sendEmailBatchWithTemplates([
      { From: FROM, To: "one@example.org", TemplateAlias: "receipt", TemplateModel: { number: "1" } },
      { From: FROM, To: "two@example.org", TemplateAlias: "missing", TemplateModel: {} },
      { From: FROM, To: "not-an-address", TemplateAlias: "receipt", TemplateModel: { number: "3" } },
      { From: FROM, To: "four@example.org", TemplateAlias: "base", TemplateModel: {} },
      { From: FROM, To: "five@example.org", TemplateAlias: "receipt", TemplateModel: { number: "5" } },
    ]);
    assert.deepEqual(results.map((r) => r.ErrorCode), [0, 1101, 300, 1123, 0]);
    assert.equal((await acme.getOutboundMessageDetails(results[4]!.MessageID!)).Subject, "Receipt 5");
    const tooMany = await failure(acme.sendEmailBatchWithTemplates(Array.from({ length: 501 }, () => ({ From: FROM, To: "a@example.org", TemplateAlias: "receipt", TemplateModel: {} }))));
    assert.deepEqual([tooMany.statusCode, tooMany.code], [422, 410]);
  });

  test("workspaces are isolated: another workspace's templates are not found, to read, edit, delete or send", async () => {
    const mine = await acme.getTemplate("receipt");
    for (const call of [() => globex.getTemplate(mine.TemplateId), () => globex.getTemplate("receipt"), () => globex.editTemplate(mine.TemplateId, { Name: "x" }), () => globex.deleteTemplate("receipt")]) {
      assert.equal((await failure(call())).code, 1101);
    }
    assert.equal((await failure(globex.sendEmailWithTemplate({ From: FROM, To: "a@example.org", TemplateId: mine.TemplateId, TemplateModel: {} }))).code, 1101);
    const theirs = await globex.getTemplates({ count: 100, offset: 0 });
    assert.equal(theirs.TotalCount, 0);
    // The same alias may exist in both.
    await globex.createTemplate({ Name: "Their receipt", Alias: "receipt", Subject: "s", TextBody: "t" });
    assert.equal((await acme.getTemplate("receipt")).Name, "Receipt");
    await globex.deleteTemplate("receipt");
  });

  test("push copies templates by alias between workspaces, previewing first, with the account token only", async () => {
    const source = (await acme.getServer()).ID;
    const destination = (await globex.getServer()).ID;
    const preview = await account.pushTemplates({ SourceServerID: source, DestinationServerID: destination, PerformChanges: false });
    const aliases = preview.Templates.map((t) => t.Alias).sort();
    assert.deepEqual(aliases, ["base", "heavy", "proto", "receipt"]);
    assert.ok(preview.Templates.every((t) => t.Action === "Create"));
    assert.equal(preview.Templates[0]!.Alias, "base", "layouts first");
    assert.equal((await globex.getTemplates({ count: 10, offset: 0 })).TotalCount, 0, "a preview changes nothing");

    const done = await account.pushTemplates({ SourceServerID: source, DestinationServerID: destination, PerformChanges: true });
    assert.equal(done.TotalCount, 4);
    const copied = await globex.getTemplate("receipt");
    assert.deepEqual([copied.Subject, copied.LayoutTemplate, copied.HtmlBody], ["Receipt {{number}}", "base", "<p>Total {{total}}</p>"]);
    const sent = await globex.sendEmailWithTemplate({ From: FROM, To: "a@example.org", TemplateAlias: "receipt", TemplateModel: { number: "9", company: "G" } });
    assert.equal((await globex.getOutboundMessageDetails(sent.MessageID)).Subject, "Receipt 9");

    await acme.editTemplate("receipt", { Name: "Receipt v2" });
    const again = await account.pushTemplates({ SourceServerID: source, DestinationServerID: destination, PerformChanges: true });
    assert.deepEqual(again.Templates.map((t) => [t.Action, t.Alias, t.TemplateId]), [["Edit", "receipt", copied.TemplateId]]);
    assert.equal((await globex.getTemplate("receipt")).Name, "Receipt v2");

    await globex.deleteTemplate("heavy");
    await globex.createTemplate({ Name: "Heavy as layout", Alias: "heavy", TemplateType: "Layout" as never, HtmlBody: "{{{@content}}}" });
    assert.equal((await failure(account.pushTemplates({ SourceServerID: source, DestinationServerID: destination, PerformChanges: true }))).code, 1125);
    assert.equal((await failure(account.pushTemplates({ SourceServerID: source, DestinationServerID: 12345, PerformChanges: true }))).code, 601);
    const serverToken = await fetch(`${server.url}/templates/push`, {
      method: "PUT",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-Postmark-Server-Token": acmeToken },
      body: JSON.stringify({ SourceServerID: source, DestinationServerID: destination, PerformChanges: true }),
    });
    assert.equal(serverToken.status, 401);
  });

  test("nodemailer-postmark-transport sends with a template id and an alias", async () => {
    // The package is CommonJS: its module.exports (the default export here) is the factory.
    const postmarkTransport = (postmarkTransportModule as unknown as { default: (options: object) => never }).default;
    const transport = nodemailer.createTransport(postmarkTransport({ auth: { apiKey: acmeToken }, postmarkOptions: { useHttps: false, requestHost: host, timeout: 20 } }));
    const receipt = await acme.getTemplate("receipt");
    const byId = await transport.sendMail({ from: FROM, to: "nm@example.org", templateId: receipt.TemplateId, templateModel: { number: "NM-1" } } as never);
    const byAlias = await transport.sendMail({ from: FROM, to: "nm@example.org", templateAlias: "receipt", templateModel: { number: "NM-2" } } as never);
    const ids = [byId, byAlias].map((info) => (info as unknown as { messageId: string }).messageId);
    assert.deepEqual(await Promise.all(ids.map(async (id) => (await acme.getOutboundMessageDetails(id)).Subject)), ["Receipt NM-1", "Receipt NM-2"]);
  });

  test("at most 100 templates per workspace", async () => {
    const crowded = client(await server.createWorkspace("crowded", { sandbox: true }));
    for (let i = 0; i < 100; i += 10) {
      await Promise.all(Array.from({ length: 10 }, (_, j) => crowded.createTemplate({ Name: `t${i + j}`, Subject: "s", TextBody: "t" })));
    }
    const over = await failure(crowded.createTemplate({ Name: "one too many", Subject: "s", TextBody: "t" }));
    assert.deepEqual([over.statusCode, over.code], [422, 1105]);
    const page = await crowded.getTemplates({ count: 30, offset: 90 });
    assert.deepEqual([page.TotalCount, page.Templates.length], [100, 10]);
  });
});
