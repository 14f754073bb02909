// The dashboard's Templates and "Streams and tokens" pages in a real browser (issue 13): edit a
// template and preview it — create one, change its HTML and see the sandboxed preview follow the
// test model's values, see a syntax error inline, send a test and see it accepted (and readable
// through the Postmark API); on the settings page create a server token, copy it, and send with
// it through the Postmark API; create a stream, edit it, archive it after a confirmation and
// unarchive it; revoke a token after a confirmation and see the Postmark API refuse it; switch the workspace to sandbox and see the
// session's workspace list follow at once and after a reload. A viewer sees the same pages without a button
// that changes anything, and both pages fit a phone's width.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { SKIP_WITHOUT_BROWSER, startDashboardWorld, type DashboardWorld } from "./support/browser.js";

const VIEWER = { email: "vic@example.com", password: "another horse battery staple" } as const;

describe("web dashboard: templates, streams and tokens", { skip: SKIP_WITHOUT_BROWSER }, () => {
  let world: DashboardWorld;
  let templatePath = "";
  let madeToken = "";
  before(async () => {
    world = await startDashboardWorld({ workspaces: [{ name: "shop" }] });
    await world.server.app.services.users.create({ ...VIEWER, role: "viewer", workspaces: ["shop"] });
    await world.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(world.server.url).origin });
    await world.signIn();
  });
  after(async () => world?.close());

  it("edits a template and previews it: the preview follows the HTML and the test model, an error shows inline", async () => {
    const { page } = world;
    await page.goto(world.at("shop", "templates"));
    await page.getByText("No templates yet.").waitFor();
    await page.getByRole("button", { name: "New template" }).click();
    await page.getByLabel("Name", { exact: true }).fill("Welcome");
    await page.getByLabel("Alias", { exact: true }).fill("welcome");
    await page.getByRole("button", { name: "Create template" }).click();
    await page.waitForURL(/\/templates\/\d+$/);
    templatePath = new URL(page.url()).hash.replace(/^#/, "");
    await page.getByRole("heading", { level: 1, name: "Welcome" }).waitFor();

    const preview = page.frameLocator('iframe[title="HTML preview"]');
    await page.getByLabel("Test model (JSON)").fill('{"name": "Ada", "product_name": "Posthorn"}');
    await preview.getByText("Welcome to Posthorn.").waitFor();
    await page.getByLabel("HTML body").fill("<h1>Welcome aboard, {{name}}</h1>\n<p>Your plan: {{plan}}</p>");
    await page.getByLabel("Test model (JSON)").fill('{"name": "Ada", "plan": "Pro <3"}');
    await preview.getByRole("heading", { name: "Welcome aboard, Ada" }).waitFor();
    await preview.getByText("Your plan: Pro <3").waitFor();
    assert.equal(await page.getByLabel("Rendered subject").textContent(), "Hello Ada");
    // The frame may run nothing and reach nothing of the dashboard's.
    assert.equal(await page.locator('iframe[title="HTML preview"]').getAttribute("sandbox"), "");

    await page.getByLabel("HTML body").fill("<p>\n{{#each items}}{{name}}</p>");
    await page.getByText("Line 2, character 1: The block '{{#each items}}' is never closed.").waitFor();
    await page.getByText("The HTML body has errors; see beside it.").waitFor();
    await page.getByLabel("Test model (JSON)").fill("[1, 2]");
    await page.getByText("The test model must be a JSON object").waitFor();

    await page.getByLabel("HTML body").fill("<h1>Welcome aboard, {{name}}</h1>\n<p>Your plan: {{plan}}</p>");
    await page.getByLabel("Test model (JSON)").fill('{"name": "Ada", "plan": "Pro"}');
    await preview.getByText("Your plan: Pro").waitFor();
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("The template is saved.").waitFor();
    await world.screenshot("template-editor");
  });

  it("sends a test of the template: the API accepts it and it is readable through the Postmark API", async () => {
    const { page } = world;
    await page.getByLabel("From", { exact: true }).fill("team@shop.example");
    await page.getByLabel("To", { exact: true }).fill("ada@example.org");
    // A select's name holds its chosen option: "Stream Default (outbound)".
    await page.getByRole("combobox", { name: /^Stream/ }).selectOption("outbound");
    await page.getByRole("button", { name: "Send test" }).click();
    const accepted = page.getByRole("note").filter({ hasText: "Accepted" });
    await accepted.waitFor();
    const messageId = (await accepted.getByRole("link").textContent()) ?? "";
    const details = await fetch(`${world.server.url}/messages/outbound/${messageId}/details`, { headers: { accept: "application/json", "x-postmark-server-token": world.workspaces.shop!.serverToken } });
    assert.equal(details.status, 200);
    const message = (await details.json()) as { Subject: string; HtmlBody: string; To: Array<{ Email: string }>; MessageStream: string };
    assert.equal(message.MessageStream, "outbound");
    assert.equal(message.Subject, "Hello Ada");
    assert.match(message.HtmlBody, /Welcome aboard, Ada/);
    assert.equal(message.To[0]?.Email, "ada@example.org");

    await page.goto(world.at("shop", "templates"));
    const row = page.getByRole("row").filter({ hasText: "Welcome" });
    await row.getByText("welcome", { exact: true }).waitFor();
    await row.getByText("standard").waitFor();
    await world.screenshot("templates");
  });

  it("creates a server token shown once, copies it, and sends with it through the Postmark API", async () => {
    const { page } = world;
    await page.goto(world.at("shop", "settings"));
    await page.getByRole("heading", { level: 1, name: "Streams and tokens" }).waitFor();
    await page.getByRole("cell", { name: "outbound", exact: true }).waitFor();
    await page.getByRole("button", { name: "Create server token" }).click();
    await page.getByText("Copy these now: they are not shown again").waitFor();
    const copy = page.getByRole("button", { name: /^Copy Server token/ });
    await copy.click();
    // The button's name stays its aria-label (what it copies); its text says it was done.
    await copy.filter({ hasText: "Copied" }).waitFor();
    // Strings, not functions: the server's type check has no DOM types.
    const token = (await page.evaluate("navigator.clipboard.readText()")) as string;
    assert.match(token, /^\S{20,}$/);
    madeToken = token;
    assert.ok(await page.getByText(token, { exact: true }).isVisible());

    const sent = await fetch(`${world.server.url}/email`, {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/json", "x-postmark-server-token": token },
      body: JSON.stringify({ From: "team@shop.example", To: "bob@example.org", Subject: "With the new token", TextBody: "hi" }),
    });
    assert.equal(sent.status, 200);
    assert.equal(((await sent.json()) as { ErrorCode: number }).ErrorCode, 0);
    // A full-page shot of a scrolled page draws the sticky header mid-page.
    await page.evaluate("window.scrollTo(0, 0)");
    await world.screenshot("settings");

    await page.getByRole("table", { name: "Existing tokens" }).getByText(`…${token.slice(-4)}`).waitFor();
    await page.getByRole("button", { name: "Done" }).click();
    assert.equal(await page.getByText(token, { exact: true }).count(), 0, "once dismissed, the secret is gone for good");
  });

  it("creates a stream and lists it with its tracking settings", async () => {
    const { page } = world;
    await page.getByLabel("Stream ID").fill("news");
    await page.getByLabel("Stream name").fill("Newsletter");
    await page.getByLabel("Stream type").selectOption("broadcast");
    await page.getByLabel("Open tracking").selectOption("on");
    await page.getByRole("button", { name: "Create stream" }).click();
    const row = page.getByRole("row").filter({ hasText: "Newsletter" });
    await row.getByRole("cell", { name: "posthorn" }).waitFor();
    await row.getByRole("cell", { name: "on", exact: true }).waitFor();
  });

  it("edits a stream, archives it after a confirmation and unarchives it; default streams offer no archive", async () => {
    const { page } = world;
    const row = page.locator('tr[data-stream="news"]');
    await row.getByRole("button", { name: "Edit stream news" }).click();
    const form = row.getByRole("form", { name: "Edit stream news" });
    await form.getByLabel("Name").fill("Weekly news");
    await form.getByLabel("Description").fill("Every Friday");
    await form.getByRole("button", { name: "Save" }).click();
    await row.getByText("Weekly news").waitFor();
    await row.getByText("Every Friday").waitFor();

    await row.getByRole("button", { name: "Archive stream news", exact: true }).click();
    await row.getByText("An archived stream refuses every message sent to it").waitFor();
    await row.getByRole("button", { name: "Yes, archive it" }).click();
    await row.getByText("archived", { exact: true }).waitFor();
    assert.ok((await world.server.app.services.streams.get((await world.server.app.services.workspaces.get("shop")).id, "news")).archivedAt !== null);
    assert.equal(await row.getByRole("button", { name: "Edit stream news" }).count(), 0, "an archived stream is not edited");
    await row.getByRole("button", { name: "Unarchive stream news" }).click();
    await row.getByRole("button", { name: "Archive stream news", exact: true }).waitFor();
    assert.equal(await row.getByText("archived", { exact: true }).count(), 0);
    for (const id of ["outbound", "inbound", "broadcast"]) {
      assert.equal(await page.getByRole("button", { name: `Archive stream ${id}`, exact: true }).count(), 0, id);
      await page.getByRole("button", { name: `Edit stream ${id}` }).waitFor();
    }
  });

  it("revokes a token after a confirmation: the Postmark API refuses it at once; the last server token cannot be revoked", async () => {
    const { page } = world;
    const server = (token: string) => fetch(`${world.server.url}/server`, { headers: { accept: "application/json", "x-postmark-server-token": token } });
    assert.equal((await server(madeToken)).status, 200);
    await page.getByRole("button", { name: `Revoke Server token …${madeToken.slice(-4)}` }).click();
    await page.getByText("Every request that uses it is refused from now on.").waitFor();
    await page.getByRole("button", { name: "Yes, revoke it" }).click();
    await page.getByText(`The server token ending …${madeToken.slice(-4)} no longer works.`).waitFor();
    assert.equal((await server(madeToken)).status, 401);
    const tokens = page.getByRole("table", { name: "Existing tokens" });
    assert.equal(await tokens.getByText(`…${madeToken.slice(-4)}`).count(), 0);
    await tokens.getByText("the last server token").waitFor();
    assert.equal(await tokens.getByRole("button", { name: /^Revoke Server token/ }).count(), 0);
  });

  it("fits a phone's width", async () => {
    const { page } = world;
    await page.setViewportSize({ width: 390, height: 800 });
    try {
      for (const path of ["settings", templatePath.replace(/^\/w\/[^/]+\//, "")]) {
        await page.goto(world.at("shop", path));
        await page.getByRole("heading", { level: 1 }).waitFor();
        await page.getByRole("heading", { name: /^(Message streams|Preview)/ }).waitFor();
        const width = (await page.evaluate("document.documentElement.scrollWidth")) as number;
        assert.ok(width <= 390, `${path} is ${width} px wide at phone width`);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it("switches the workspace to sandbox after a confirmation; the header follows at once, and after a reload", async () => {
    const { page } = world;
    await page.goto(world.at("shop", "settings"));
    await page.getByRole("button", { name: "Switch to sandbox" }).click();
    await page.getByRole("button", { name: "Yes, switch to sandbox" }).click();
    await page.getByText("The workspace is now a sandbox.").waitFor();
    await page.getByRole("banner").getByText("Sandbox", { exact: true }).waitFor();
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Streams and tokens" }).waitFor();
    await page.getByText("Sandbox", { exact: true }).waitFor();
    assert.match((await page.getByLabel("Workspace", { exact: true }).locator("option:checked").textContent()) ?? "", /\(sandbox\)/);
    await page.getByRole("button", { name: "Switch to live" }).waitFor();
  });

  it("shows a viewer everything, and no button that changes anything", async () => {
    const { page } = world;
    await page.getByRole("button", { name: "Sign out" }).click();
    await world.signIn(VIEWER);
    await page.goto(world.at("shop", "templates"));
    await page.getByRole("link", { name: "Welcome" }).click();
    await page.frameLocator('iframe[title="HTML preview"]').getByText("Welcome aboard,", { exact: false }).waitFor();
    for (const name of ["Save", "Delete", "Send test"]) assert.equal(await page.getByRole("button", { name, exact: true }).count(), 0, name);
    await page.goto(world.at("shop", "templates"));
    await page.getByRole("row").filter({ hasText: "Welcome" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "New template" }).count(), 0);
    await page.goto(world.at("shop", "settings"));
    await page.getByRole("cell", { name: "news", exact: true }).waitFor();
    await page.getByText("Only admins create tokens.").waitFor();
    for (const name of ["Create server token", "Create stream", "Switch to live", "Edit stream news", "Archive stream news"]) assert.equal(await page.getByRole("button", { name }).count(), 0, name);
    assert.equal(await page.getByRole("button", { name: /^Revoke / }).count(), 0, "no revoke buttons");
  });

  it("sent nothing off the machine and threw nothing", () => {
    assert.deepEqual(world.outsideRequests, []);
    // Signing in again starts with GET /session answering 401, which the browser reports; nothing else.
    assert.deepEqual(world.pageErrors.filter((e) => !/status of 401/.test(e)), []);
  });
});
