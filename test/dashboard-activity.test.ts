// The dashboard's Activity and message pages in a real browser (issue 13): a message sent through
// the Postmark API of a live workspace and delivered to a local SMTP sink appears in the open list,
// delivered, without a reload, and its page shows the sink's 250 reply in the timeline; filters and
// search narrow the list and live in the address; the HTML part's frame runs no script; a sandbox
// workspace's page is the developer inbox with the captured message and its link check; and the
// list works at phone width. Like every browser test, it ends by checking that the page asked
// nothing of the internet and threw nothing.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { SKIP_WITHOUT_BROWSER, startDashboardWorld, type DashboardWorld } from "./support/browser.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";

/**
 * What Chromium itself logs when a sandboxed frame holds a script it will not run: proof of the
 * behaviour under test, not a fault of the page.
 */
const BLOCKED_SCRIPT = /Blocked script execution in '.*' because the document's frame is sandboxed|Refused to execute inline script/;

describe("web dashboard: activity and message detail", { skip: SKIP_WITHOUT_BROWSER }, () => {
  let world: DashboardWorld;
  let sink: SmtpSink;

  const send = async (workspace: string, body: Record<string, unknown>) => {
    const res = await fetch(`${world.server.url}/email`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-postmark-server-token": world.workspaces[workspace]!.serverToken },
      body: JSON.stringify({ From: "shop@brand.test", TextBody: "Hello from the test", ...body }),
    });
    const answer = (await res.json()) as { MessageID: string; ErrorCode: number };
    assert.equal(res.status, 200, JSON.stringify(answer));
    return answer.MessageID;
  };
  const messages = () => world.page.getByRole("table", { name: "Messages" });

  before(async () => {
    sink = await startSmtpSink();
    world = await startDashboardWorld({
      workspaces: [{ name: "shop" }, { name: "lab", sandbox: true }],
      env: { POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`, POSTHORN_VERP: "false" },
    });
    await world.signIn();
  });
  after(async () => {
    await world?.close();
    await sink?.close();
  });

  it("shows a message sent while the page is open, delivered, without a reload, and its timeline with the remote reply", async () => {
    const { page } = world;
    await page.goto(world.at("shop", "activity"));
    await page.getByText("No messages yet").waitFor();
    const loaded = await page.evaluate(() => performance.timeOrigin);
    await send("shop", { To: "ann@example.test", Subject: "Your receipt 1001", Tag: "receipt" });
    const row = messages().getByRole("row", { name: /Your receipt 1001/ });
    await row.waitFor({ timeout: 15_000 });
    await row.getByText("delivered").waitFor({ timeout: 15_000 });
    assert.equal(await page.evaluate(() => performance.timeOrigin), loaded, "the page was not reloaded");
    await world.screenshot("activity");

    await row.getByRole("link", { name: "Your receipt 1001" }).click();
    await page.getByRole("heading", { level: 1, name: "Your receipt 1001" }).waitFor();
    const timeline = page.getByRole("list", { name: "Timeline" });
    await timeline.getByText("Delivered", { exact: true }).waitFor();
    assert.match((await timeline.textContent()) ?? "", /250 /, "the sink's reply is in the timeline");
    assert.match((await page.getByRole("table", { name: "Recipients" }).textContent()) ?? "", /ann@example\.test.*delivered/);
    const raw = page.getByRole("link", { name: "Download raw" });
    assert.match((await raw.getAttribute("href")) ?? "", /\/raw$/);
    await world.screenshot("message");
  });

  it("narrows the list by search and by tag, with the filters in the address", async () => {
    const { page } = world;
    await send("shop", { To: "bob@example.test", Subject: "Password reset", Tag: "reset" });
    await send("shop", { To: "cy@example.test", Subject: "Your receipt 1002", Tag: "receipt" });
    await page.goto(world.at("shop", "activity"));
    await messages().getByRole("row", { name: /Password reset/ }).waitFor();
    await messages().getByRole("row", { name: /Your receipt 1002/ }).waitFor();

    await page.getByLabel("Search").fill("receipt");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(/q=receipt/);
    await messages().getByRole("row", { name: /Password reset/ }).waitFor({ state: "detached" });
    await messages().getByRole("row", { name: /Your receipt 1002/ }).waitFor();
    assert.equal(await messages().getByRole("row").count(), 3, "a header row and the two receipts");

    // The address alone brings the same view back (a shared link).
    await page.goto(world.at("shop", "activity?tag=reset"));
    await messages().getByRole("row", { name: /Password reset/ }).waitFor();
    assert.equal(await messages().getByRole("row").count(), 2);
    assert.equal(await page.getByLabel("Tag").inputValue(), "reset");

    await page.getByRole("button", { name: "Clear" }).click();
    await messages().getByRole("row", { name: /Your receipt 1001/ }).waitFor();
    await messages().getByRole("row", { name: /Password reset/ }).waitFor();
    // The list with the three messages of different tags: the README's picture of the page.
    await world.screenshot("activity-list");
    await page.getByLabel("State").selectOption("bounced");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByText("No message matches these filters.").waitFor();
  });

  it("shows the HTML part in a frame where its script does not run, and loads remote content only when asked", async () => {
    const { page } = world;
    const id = await send("shop", {
      To: "dee@example.test",
      Subject: "Script inside",
      HtmlBody: '<p id="static">Static content</p><script>document.getElementById("static").textContent = "SCRIPT RAN"; parent.document.title = "pwned";</script>',
    });
    await page.goto(world.at("shop", `messages/${id}`));
    const frameElement = page.locator('iframe[title="Message HTML"]');
    await frameElement.waitFor();
    assert.equal(await frameElement.getAttribute("sandbox"), "allow-popups allow-popups-to-escape-sandbox");
    const frame = page.frameLocator('iframe[title="Message HTML"]');
    await frame.getByText("Static content").waitFor();
    assert.equal(await frame.getByText("SCRIPT RAN").count(), 0);
    assert.notEqual(await page.title(), "pwned");

    await page.getByRole("button", { name: "Show remote content" }).click();
    await page.getByText("Remote images are shown").waitFor();
    assert.match((await frameElement.getAttribute("src")) ?? "", /remote=1/);
    await frame.getByText("Static content").waitFor();
    assert.equal(await frame.getByText("SCRIPT RAN").count(), 0);
  });

  it("shows a sandbox workspace as the developer inbox: the captured message, readable, with its link check", async () => {
    const { page } = world;
    await send("lab", {
      To: "dev@example.test",
      Subject: "Captured welcome",
      HtmlBody: '<p>Welcome</p><a href="http://lab.test/plain">Plain link</a> <a href="#">Placeholder</a> <a href="https://lab.test/ok">Fine link</a>',
    });
    await page.goto(world.at("lab", "activity"));
    await page.getByText("Developer inbox").waitFor();
    const row = messages().getByRole("row", { name: /Captured welcome/ });
    await row.getByText("captured", { exact: true }).waitFor();
    await world.screenshot("activity-sandbox");
    await row.getByRole("link", { name: "Captured welcome" }).click();
    const links = page.getByRole("table", { name: "Links" });
    await links.waitFor();
    const text = (await links.textContent()) ?? "";
    assert.match(text, /http:\/\/lab\.test\/plain.*plain http:/);
    assert.match(text, /placeholder \(#\)/);
    assert.match(text, /https:\/\/lab\.test\/ok.*ok/);
    await page.frameLocator('iframe[title="Message HTML"]').getByText("Welcome").waitFor();
    await world.screenshot("message-sandbox");
  });

  it("fits a phone: the filters wrap and the table scrolls inside its frame", async () => {
    const { page } = world;
    await page.setViewportSize({ width: 390, height: 800 });
    try {
      await page.goto(world.at("shop", "activity"));
      await messages().getByRole("row", { name: /Your receipt 1001/ }).waitFor();
      const width = await page.evaluate("document.documentElement.scrollWidth") as number;
      assert.ok(width <= 390, `the page is ${width} px wide`);
      await world.screenshot("activity-phone");
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it("sent nothing off the machine and threw nothing", () => {
    assert.deepEqual(world.outsideRequests, []);
    // The one 401 is the sign-in page's first look for a session, before signing in.
    assert.deepEqual(world.pageErrors.filter((e) => !BLOCKED_SCRIPT.test(e) && !/status of 401/.test(e)), []);
  });
});
