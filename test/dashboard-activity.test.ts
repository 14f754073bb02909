// The dashboard's Activity and message pages in a real browser (issue 13): a message sent through
// the Postmark API of a live workspace and delivered to a local SMTP sink appears in the open list,
// delivered, without a reload, and its page shows the sink's 250 reply in the timeline; filters and
// search narrow the list and live in the address; a message from a verified sending domain shows its
// DKIM signature, and a webhook about it the endpoint's answers, an HTML one as text, folded; the
// HTML part's frame runs no script; a sandbox
// workspace's page is the developer inbox with the captured message and its link check; and the
// list works at phone width. Like every browser test, it ends by checking that the page asked
// nothing of the internet and threw nothing.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { SKIP_WITHOUT_BROWSER, startDashboardWorld, type DashboardWorld } from "./support/browser.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";
import { startDnsZoneServer, type DnsZoneServer } from "../src/sending-domains/testing/dns-zone-server.js";

/**
 * What Chromium itself logs when a sandboxed frame holds a script it will not run: proof of the
 * behaviour under test, not a fault of the page.
 */
const BLOCKED_SCRIPT = /Blocked script execution in '.*' because the document's frame is sandboxed|Refused to execute inline script/;

describe("web dashboard: activity and message detail", { skip: SKIP_WITHOUT_BROWSER }, () => {
  let world: DashboardWorld;
  let sink: SmtpSink;
  let dns: DnsZoneServer;
  let receiver: WebhookReceiver;
  let selector: string;

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
    dns = await startDnsZoneServer();
    receiver = await startWebhookReceiver();
    world = await startDashboardWorld({
      workspaces: [{ name: "shop" }, { name: "lab", sandbox: true }],
      env: {
        POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`,
        POSTHORN_VERP: "false",
        POSTHORN_DNS_SERVERS: dns.address,
        POSTHORN_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.1/32",
        POSTHORN_WEBHOOK_BACKOFF: "40ms",
      },
    });
    // brand.test, the tests' From domain, is a sending domain whose DKIM record is seen: its mail is signed.
    const domains = world.server.app.services.domains;
    const brand = await domains.create({ name: "brand.test" });
    dns.zone[brand.pendingKey!.record.host] = { TXT: [brand.pendingKey!.record.value] };
    assert.equal((await domains.verifyDkim(brand.id)).dkimVerified, true);
    selector = brand.pendingKey!.selector;
    await world.signIn();
  });
  after(async () => {
    await world?.close();
    await sink?.close();
    await receiver?.close();
    await dns?.close();
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

  it("shows the DKIM signature and a webhook's answers on the message page, an HTML answer as text", async () => {
    const { page } = world;
    const hook = await fetch(`${world.server.url}/webhooks`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", "x-postmark-server-token": world.workspaces.shop!.serverToken },
      body: JSON.stringify({ Url: `${receiver.url}/hook`, MessageStream: "outbound", Triggers: { Delivery: { Enabled: true } } }),
    });
    assert.equal(hook.status, 200, await hook.clone().text());
    let posts = 0;
    receiver.answer = () => (++posts === 1 ? { status: 500, body: '<b id="injected">bold</b><script>window.pwned = 1</script> database is down' } : { status: 200, body: "thanks" });
    try {
      const id = await send("shop", { To: "gus@example.test", Subject: "Hooked order" });
      await page.goto(world.at("shop", `messages/${id}`));
      const timeline = page.getByRole("list", { name: "Timeline" });
      // The page polls while the message is on its way; the webhook's retry comes after delivery, so reload for it.
      await timeline.getByText(`DKIM: signed d=brand.test s=${selector} (rsa-sha256)`).waitFor({ timeout: 15_000 });
      for (let i = 0; i < 100 && (await timeline.getByText(/HTTP 200 in \d+ ms/).count()) === 0; i++) {
        await new Promise((r) => setTimeout(r, 150));
        await page.reload();
      }
      await timeline.getByText(/Webhook attempt 1 to http:\/\/127\.0\.0\.1:\d+\/hook for delivery\.delivered: HTTP 500 in \d+ ms, retried/).waitFor();
      await timeline.getByText(/Webhook posted to .* HTTP 200 in \d+ ms/).waitFor();
      const answer = timeline.locator("details.webhook-answer", { hasText: "HTTP 500" });
      await answer.getByText("Response (HTTP 500)").click();
      const shown = answer.locator("pre");
      await shown.waitFor();
      assert.equal(await shown.textContent(), '<b id="injected">bold</b><script>window.pwned = 1</script> database is down', "the answer as text");
      assert.equal(await page.locator("#injected").count(), 0, "no element was made of it");
      assert.equal(await page.evaluate("typeof window.pwned"), "undefined", "no script of it ran");
      await world.screenshot("message-webhook");
    } finally {
      receiver.answer = () => ({ status: 200 });
    }
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
