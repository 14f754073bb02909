// The dashboard's email area in a real browser (issue 13): an address hard-bounced by a local
// SMTP sink shows on the suppressions page, is reactivated there, and mail to it is delivered
// again; the stats page draws its charts from real sends; the queue page shows a destination that
// answers 4xx and "retry now" delivers its mail; the domains page shows the DNS records with copy
// buttons and verifies them. At phone width the pages fit, and a viewer sees no change buttons.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ServerClient } from "postmark";
import { SKIP_WITHOUT_BROWSER, startDashboardWorld, type DashboardWorld } from "./support/browser.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { eventually } from "./support/eventually.js";
import { startDnsZoneServer, type DnsZoneServer } from "../src/sending-domains/testing/dns-zone-server.js";

const VIEWER = { email: "vic@example.com", password: "another long enough password" } as const;

describe("web dashboard: stats, suppressions, queue and domains", { skip: SKIP_WITHOUT_BROWSER }, () => {
  let world: DashboardWorld;
  let sink: SmtpSink;
  let dns: DnsZoneServer;
  let pm: ServerClient;
  /** Addresses the sink refuses with 550 (a hard bounce) and domains it answers 451 (deferred). */
  const refused = new Set(["gone@gone.test"]);
  const deferring = new Set(["slow.test"]);

  before(async () => {
    sink = await startSmtpSink({
      rcptReply: (rcpt) =>
        refused.has(rcpt.toLowerCase()) ? { code: 550, message: "5.1.1 User unknown" } : deferring.has(rcpt.split("@")[1]!.toLowerCase()) ? { code: 451, message: "4.4.1 Try again later" } : null,
    });
    dns = await startDnsZoneServer();
    // Retries an hour apart: deferred mail waits until someone presses "retry now".
    world = await startDashboardWorld({ env: { POSTHORN_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}`, POSTHORN_RETRY_SCHEDULE: "1h", POSTHORN_DNS_SERVERS: dns.address } });
    pm = new ServerClient(world.workspaces.shop!.serverToken, { useHttps: false, requestHost: world.server.url.replace(/^http:\/\//, ""), timeout: 10 });
    await world.server.app.services.users.create({ email: VIEWER.email, password: VIEWER.password, role: "viewer", workspaces: ["shop"] });
    for (const [to, tag] of [["ann@fine.test", "welcome"], ["bob@fine.test", "welcome"], ["cy@fine.test", null]] as const) {
      await pm.sendEmail({ From: "app@shop.test", To: to, Subject: "Hello", TextBody: "Hi", ...(tag ? { Tag: tag } : {}) });
    }
    await world.signIn();
  });
  after(async () => {
    await world?.close();
    await sink?.close();
    await dns?.close();
  });

  it("bounces an address and reactivates it from the suppressions page; mail to it is delivered again", async () => {
    const { page } = world;
    await pm.sendEmail({ From: "app@shop.test", To: "gone@gone.test", Subject: "First", TextBody: "x" });
    await eventually(async () => (await world.server.app.services.suppressions.dump(world.workspaces.shop!.id, "outbound", {})).length === 1);
    const blocked = await pm.sendEmail({ From: "app@shop.test", To: "gone@gone.test", Subject: "Blocked", TextBody: "x" }).catch((err: { code?: number }) => err);
    assert.equal((blocked as { code?: number }).code, 406, "a suppressed address is refused");

    await page.goto(world.at("shop", "suppressions"));
    const table = page.getByRole("table", { name: "Suppressions" });
    await table.getByRole("cell", { name: "gone@gone.test", exact: true }).waitFor();
    assert.match((await table.textContent()) ?? "", /HardBounce.*Recipient/);
    const bounces = page.getByRole("table", { name: "Bounces" });
    await bounces.getByText("User unknown", { exact: false }).or(bounces.getByText("HardBounce")).first().waitFor();
    await page.getByRole("button", { name: "Details of the bounce of gone@gone.test" }).click();
    const detail = page.getByRole("region", { name: "Bounce detail" });
    await detail.getByText(/User unknown/).waitFor();
    await world.screenshot("suppressions");

    await page.getByLabel("Address contains").fill("nobody");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText("No suppressed address on this stream contains “nobody”.").waitFor();
    await page.getByLabel("Address contains").fill("GONE");
    await page.getByRole("button", { name: "Search" }).click();
    await table.getByRole("cell", { name: "gone@gone.test", exact: true }).waitFor();

    refused.delete("gone@gone.test");
    await page.getByRole("button", { name: "Reactivate gone@gone.test" }).click();
    await page.getByRole("note").getByText("Reactivated").waitFor();
    await page.getByText("No suppressed address on this stream contains “GONE”.").waitFor();

    const again = await pm.sendEmail({ From: "app@shop.test", To: "gone@gone.test", Subject: "Again", TextBody: "x" });
    assert.equal(again.ErrorCode, 0);
    await eventually(async () => sink.messages.some((m) => m.rcptTo.includes("gone@gone.test")));
  });

  it("adds a suppression by hand and offers the stream's CSV", async () => {
    const { page } = world;
    // A fresh page: the last test left a search in the page's state.
    await page.goto(world.at("shop", "suppressions"));
    await page.reload();
    await page.getByLabel("Address to suppress").fill("Manual@Fine.test");
    await page.getByRole("button", { name: "Suppress", exact: true }).click();
    await page.getByRole("table", { name: "Suppressions" }).getByRole("cell", { name: "Manual@fine.test", exact: true }).waitFor();
    const href = await page.getByRole("link", { name: "Export CSV" }).getAttribute("href");
    assert.ok(href);
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()]);
    assert.equal(download.suggestedFilename(), "suppressions-outbound.csv");
  });

  it("draws the stats page's charts from real sends", async () => {
    const { page } = world;
    await eventually(async () => {
      const totals = await world.server.app.services.stats.totals({ workspaceId: world.workspaces.shop!.id }, ["accepted", "delivered"]);
      return (totals.find((t) => t.metric === "delivered")?.count ?? 0) >= 4;
    });
    await page.goto(world.at("shop", "stats"));
    const totals = page.getByLabel("Totals");
    await totals.getByText("Delivery rate").waitFor();
    await page.locator("figure.stats-chart canvas").first().waitFor();
    assert.equal(await page.locator("figure.stats-chart canvas").count(), 2);
    const today = new Date().toISOString().slice(0, 10);
    const todayRow = async () => (await page.getByRole("table", { name: "Counts per day" }).locator("tbody tr").first().textContent()) ?? "";
    assert.match(await todayRow(), new RegExp(`^${today}5`), "five accepted today");
    await page.getByRole("table", { name: "Top destinations" }).getByRole("cell", { name: "fine.test", exact: true }).waitFor();
    await world.screenshot("stats");

    await page.getByLabel("Tag").fill("welcome");
    await page.getByRole("button", { name: "Apply" }).click();
    await eventually(async () => new RegExp(`^${today}2`).test(await todayRow()));

    // Today alone is drawn by the hour.
    await page.getByLabel("Range").selectOption({ label: "Today" });
    const hours = page.getByRole("table", { name: "Counts per hour" });
    await hours.waitFor();
    // Only hours with mail are listed: all of this test's mail was sent within an hour or two.
    const listed = await hours.locator("tbody tr").count();
    assert.ok(listed >= 1 && listed <= 2, `${listed} hours listed`);
    assert.match((await hours.locator("tbody tr").first().textContent()) ?? "", new RegExp(`^${today} \\d\\d:00`));
    await page.getByText("Counts per hour", { exact: true }).waitFor();
  });

  it("shows a backlogged destination on the queue page, and retry now delivers its mail", async () => {
    const { page } = world;
    await pm.sendEmail({ From: "app@shop.test", To: "late@slow.test", Subject: "Later", TextBody: "x" });
    await page.goto(world.at("shop", "queue"));
    const backlog = page.getByRole("table", { name: "Backlogged destinations" });
    await backlog.getByRole("cell", { name: "slow.test", exact: true }).waitFor();
    await backlog.getByText(/Try again later/).waitFor();
    await page.getByRole("button", { name: "Deliveries to slow.test" }).click();
    await page.getByRole("table", { name: "Deliveries to slow.test" }).getByRole("cell", { name: "late@slow.test", exact: true }).waitFor();
    await world.screenshot("queue");

    deferring.delete("slow.test");
    await page.getByRole("button", { name: "Retry slow.test now" }).click();
    await page.getByText("1 deferred delivery of slow.test will be tried now.").waitFor();
    await eventually(async () => sink.messages.some((m) => m.rcptTo.includes("late@slow.test")));
    await page.getByText("No mail of this workspace is waiting.").waitFor({ timeout: 15_000 });
  });

  it("shows a domain's DNS records with copy buttons, and verify now sees the published key", async () => {
    const { page } = world;
    await world.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(world.server.url).origin });
    await world.server.app.services.domains.create({ name: "shop.test" });
    await page.goto(world.at("shop", "domains"));
    const records = page.getByRole("table", { name: "DNS records of shop.test" });
    await records.getByRole("cell", { name: "DMARC", exact: true }).waitFor();
    for (const purpose of ["DKIM (pending)", "SPF", "Return-Path", "DMARC"]) await records.getByRole("cell", { name: purpose, exact: true }).waitFor();
    const copyValue = page.getByRole("button", { name: /^Copy value: v=DKIM1/ });
    await copyValue.click();
    await records.getByText("Copied", { exact: true }).waitFor();
    const copied = (await page.evaluate("navigator.clipboard.readText()")) as string;
    assert.match(copied, /^v=DKIM1; k=rsa; p=/);
    const host = (await page.getByRole("button", { name: /^Copy host: .*\._domainkey\./ }).getAttribute("aria-label"))!.replace(/^Copy host: /, "");
    await world.screenshot("domains");

    dns.zone = { [host]: { TXT: [copied] } };
    await page.getByRole("button", { name: "Verify shop.test now" }).click();
    await records.getByRole("cell", { name: "DKIM", exact: true }).waitFor();
  });

  it("fits a phone's width: tables scroll inside their box, filters wrap", async () => {
    const { page } = world;
    await page.setViewportSize({ width: 390, height: 800 });
    try {
      for (const [path, heading] of [["stats", "Stats"], ["suppressions", "Suppressions"], ["queue", "Queue"], ["domains", "Domains"]] as const) {
        await page.goto(world.at("shop", path));
        await page.getByRole("heading", { level: 1, name: heading }).waitFor();
        await page.locator(".table-wrap, .empty").first().waitFor();
        const width = (await page.evaluate("document.documentElement.scrollWidth")) as number;
        assert.ok(width <= 390, `${path} is ${width} px wide at 390 px`);
        if (path === "stats") await world.screenshot("stats-phone");
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it("shows a viewer no change buttons, and no domains", async () => {
    const { page } = world;
    await page.getByRole("button", { name: "Sign out" }).click();
    await world.signIn(VIEWER);
    await world.server.app.services.suppressions.suppressByCustomer(world.workspaces.shop!.id, "outbound", ["held@fine.test"]);
    await page.goto(world.at("shop", "suppressions"));
    await page.getByRole("table", { name: "Suppressions" }).getByRole("cell", { name: "held@fine.test", exact: true }).waitFor();
    assert.equal(await page.getByRole("button", { name: /^Reactivate/ }).count(), 0);
    assert.equal(await page.getByLabel("Address to suppress").count(), 0);
    await page.goto(world.at("shop", "queue"));
    await page.getByRole("heading", { level: 1, name: "Queue" }).waitFor();
    await page.getByLabel("Waiting deliveries").waitFor();
    assert.equal(await page.getByRole("button", { name: /Retry/ }).count(), 0);
    await page.goto(world.at("shop", "domains"));
    await page.getByText("Admins only").waitFor();
  });

  it("sent nothing off the machine and threw nothing", () => {
    assert.deepEqual(world.outsideRequests, []);
    // Signing out makes the session call answer 401, which the browser reports on the console; nothing else.
    assert.deepEqual(world.pageErrors.filter((e) => !/status of 401/.test(e)), []);
  });
});
