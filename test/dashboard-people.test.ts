// The people, segments and journeys pages in a real browser (issue 13): a person identified through
// the Track API (plain HTTP with the workspace's site id and API key, as customerio-node sends it)
// whose attributes match a data-driven segment that triggers a live journey; found by search, with
// the segment and the journey on their timeline; the journey's graph counting them at its first
// step and their path through it; the segment's members; a journey edited with a mistake that is
// shown inline with its path, then saved as a new version; and the pages at phone width.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { SKIP_WITHOUT_BROWSER, startDashboardWorld, type DashboardWorld } from "./support/browser.js";
import { until } from "./support/segments.js";

const SEGMENT = { name: "Pro plan", description: "people on the pro plan", conditions: { attribute: { field: "plan", operator: "eq", value: "pro" } } };

const journeyYaml = (segmentId: string, wait = "1d") => `name: Pro welcome
description: Greets people who move to pro.
trigger:
  segment:
    id: "${segmentId}"
    on: entered
defaults:
  from: hello@shop.test
steps:
  - id: pause
    type: delay
    duration: ${wait}
  - id: check
    type: branch
    if:
      segment:
        id: "${segmentId}"
        member: true
    then:
      - id: hello
        type: email
        subject: "Welcome to pro, {{ customer.first_name }}"
        text: Thanks.
    else: []
`;

describe("dashboard: people, segments and journeys", { skip: SKIP_WITHOUT_BROWSER }, () => {
  let world: DashboardWorld;
  let shop = "";
  let segmentId = "";
  let journeyId = "";

  before(async () => {
    world = await startDashboardWorld();
    const services = world.server.app.services;
    shop = world.workspaces.shop!.id;
    segmentId = (await services.segments.create(shop, SEGMENT)).segmentId;
    await until("the segment filled", () => services.segments.filled(shop, segmentId), 10_000);
    journeyId = (await services.journeys.create(shop, journeyYaml(segmentId), { state: "live" })).journeyId;
    await world.signIn();
  });
  after(async () => world?.close());

  it("shows a person identified through the Track API entering the segment and the journey, and the journey's count going up", async () => {
    const { page } = world;
    const services = world.server.app.services;
    await page.goto(world.at("shop", `journeys/${journeyId}`));
    await page.getByRole("heading", { level: 1, name: "Pro welcome" }).waitFor();
    await page.getByRole("img", { name: /Journey graph/ }).waitFor();
    await page.getByRole("row", { name: /^pause 0 0 0 0 0 0$/ }).waitFor();

    const creds = await services.workspaces.createTrackCredentials("shop");
    const identified = await fetch(`${world.server.url}/api/v1/customers/ada`, {
      method: "PUT",
      headers: { authorization: `Basic ${Buffer.from(`${creds.siteId}:${creds.apiKey}`).toString("base64")}`, "content-type": "application/json" },
      body: JSON.stringify({ email: "ada@example.test", first_name: "Ada", plan: "pro" }),
    });
    assert.equal(identified.status, 200);
    const ada = await until("ada identified", async () => (await services.people.find(shop, { kind: "id", value: "ada" })) ?? undefined);
    await until("ada in the journey", async () => (await services.journeys.runsOf(shop, ada.personId, { limit: 5, cursor: null })).items.length > 0, 10_000);

    await page.goto(world.at("shop", "people"));
    await page.getByLabel("Search people").fill("ada@");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("link", { name: "ada", exact: true }).waitFor();
    await world.screenshot("people");
    await page.getByRole("link", { name: "ada", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "ada@example.test" }).waitFor();
    const timeline = page.getByRole("list", { name: "Timeline" });
    await timeline.getByRole("link", { name: "Entered segment Pro plan" }).waitFor();
    await timeline.getByRole("link", { name: "Entered journey Pro welcome" }).waitFor();
    await timeline.getByText("plan: (none) → pro").waitFor();
    await page.getByText("at step pause").waitFor();
    await world.screenshot("person");

    await page.getByRole("link", { name: "Pro welcome", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "Pro welcome" }).waitFor();
    await page.getByRole("row", { name: /^pause 1 1 0 0 0 0$/ }).waitFor();
    await page.getByText("now at step").waitFor();
    assert.equal(await page.getByRole("textbox", { name: "Person", exact: true }).inputValue(), ada.personId, "the person's page leads to their path");
    assert.equal(await page.locator('g.step-current[data-step="pause"]').count(), 1, "the step the run is at is highlighted");
    await world.screenshot("journey");
  });

  it("lists segments with their size and shows one with its definition, size over time and members", async () => {
    const { page } = world;
    await page.goto(world.at("shop", "segments"));
    await page.getByRole("row", { name: /Pro plan.*data-driven 1/ }).waitFor();
    await world.screenshot("segments");
    await page.getByRole("link", { name: "Pro plan" }).click();
    await page.getByRole("heading", { level: 1, name: "Pro plan" }).waitFor();
    await page.getByText('"value": "pro"').waitFor();
    await page.getByRole("img", { name: /Size per day, from 0 to 1/ }).waitFor();
    await page.getByLabel("Size per", { exact: true }).selectOption("hour");
    await page.getByRole("img", { name: /Size per hour, from 0 to 1/ }).waitFor();
    await page.getByRole("link", { name: "ada" }).waitFor();
    await world.screenshot("segment");
  });

  it("pages search results with the shared pager: buttons and arrow keys, focus kept in the pager", async () => {
    const { page } = world;
    const ops = Array.from({ length: 30 }, (_, i) => ({ op: "identify" as const, who: { kind: "id" as const, value: `bulk-${String(i).padStart(2, "0")}` }, attributes: {} }));
    for (const r of await world.server.app.services.people.apply(shop, ops, { atomic: false })) assert.ok(r.ok);
    await page.goto(world.at("shop", "people"));
    await page.getByLabel("Search people").fill("bulk-");
    await page.getByRole("button", { name: "Search" }).click();
    // The list before the search (the newest people) can hold bulk-24 too: wait for the search's
    // own page, a full one of matches, rather than for one name.
    await page.waitForFunction("[...document.querySelectorAll('a')].filter((a) => /^bulk-/.test(a.textContent)).length === 25");
    await page.getByRole("link", { name: "bulk-24", exact: true }).waitFor();
    assert.equal(await page.getByRole("link", { name: /^bulk-/ }).count(), 25, "a full first page");
    const pager = page.getByRole("navigation", { name: "Pages" });
    await pager.getByText("Page 1").waitFor();
    assert.ok(await pager.getByRole("button", { name: "Previous page" }).isDisabled());
    await pager.getByRole("button", { name: "Next page" }).focus();
    await page.keyboard.press("ArrowRight");
    await pager.getByText("Page 2").waitFor();
    await page.getByRole("link", { name: "bulk-29", exact: true }).waitFor();
    assert.equal(await page.getByRole("link", { name: /^bulk-/ }).count(), 5);
    // The last page disables "Next page"; focus moved to "Previous page" instead of the page's body.
    await page.waitForFunction("document.activeElement && document.activeElement.textContent === 'Previous page'");
    await page.keyboard.press("ArrowLeft");
    await pager.getByText("Page 1").waitFor();
    await page.getByRole("link", { name: "bulk-00", exact: true }).waitFor();
  });

  it("shows a mistake in an edited journey inline with its path, then saves the fix as a new version", async () => {
    const { page } = world;
    await page.goto(world.at("shop", "journeys"));
    await page.getByRole("row", { name: new RegExp(`Pro welcome live 1 segment ${segmentId} entered`) }).waitFor();
    await world.screenshot("journeys");
    await page.getByRole("link", { name: "Pro welcome" }).click();
    await page.getByRole("button", { name: "Edit" }).click();
    const editor = page.getByLabel("Journey document (JSON or YAML)");
    await editor.fill(journeyYaml(segmentId, "soon"));
    const problem = page.getByRole("alert").filter({ hasText: "The document has a problem" });
    await problem.waitFor();
    assert.match((await problem.textContent()) ?? "", /steps\[0\]/);
    assert.equal(await page.getByRole("button", { name: "Save as new version" }).isDisabled(), true);
    await editor.fill(journeyYaml(segmentId, "2d"));
    await page.getByText("Valid: “Pro welcome”, 3 steps.").waitFor();
    await page.getByRole("button", { name: "Save as new version" }).click();
    await page.getByText(/version 2 · trigger/).waitFor();
    await page.getByText("pause · wait 2d").waitFor();
    await page.getByText("Version 1,").waitFor();
  });

  it("fits the pages at phone width", async () => {
    const { page } = world;
    await page.setViewportSize({ width: 390, height: 800 });
    try {
      for (const path of ["people", "segments", `segments/${segmentId}`, "journeys", `journeys/${journeyId}`]) {
        await page.goto(world.at("shop", path));
        await page.getByRole("heading", { level: 1 }).waitFor();
        await page.locator(".loading").first().waitFor({ state: "detached" }).catch(() => undefined);
        const overflow = (await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number;
        assert.ok(overflow <= 1, `${path} is ${overflow}px wider than the screen`);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it("shows a viewer the same pages without a change button", async () => {
    const viewer = { email: "viewer@example.com", password: "another horse battery staple" };
    await world.server.app.services.users.create({ ...viewer, role: "viewer", workspaces: ["shop"] });
    const context = await world.browser.newContext({ baseURL: world.server.url });
    try {
      const page = await context.newPage();
      page.on("pageerror", (err) => world.pageErrors.push(String(err)));
      await page.goto("/");
      await page.getByLabel("Email").fill(viewer.email);
      await page.getByLabel("Password").fill(viewer.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("navigation", { name: "Dashboard" }).waitFor();
      await page.goto(world.at("shop", "journeys"));
      await page.getByRole("link", { name: "Pro welcome" }).click();
      await page.getByRole("img", { name: /Journey graph/ }).waitFor();
      for (const name of ["Edit", "Change state", "New journey"]) assert.equal(await page.getByRole("button", { name }).count(), 0, name);
      await page.goto(world.at("shop", "journeys"));
      await page.getByRole("link", { name: "Pro welcome" }).waitFor();
      assert.equal(await page.getByRole("button", { name: "New journey" }).count(), 0);
    } finally {
      await context.close();
    }
  });

  it("sent no request off the machine and threw no error", () => {
    assert.deepEqual(world.outsideRequests, []);
    // The session check of the page opened before signing in is a 401 the browser reports on the console; nothing else.
    assert.deepEqual(world.pageErrors.filter((e) => !/status of 401/.test(e)), []);
  });
});
