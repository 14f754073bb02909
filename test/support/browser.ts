// Browser tests of the web dashboard: Debian's Chromium driven by playwright-core, against a real
// server on loopback. The world starts a server on a fresh database with a workspace and an admin
// user, opens a browser page that may reach only that server (any other request is refused and
// recorded, so a test can assert that the dashboard asks nothing of the internet), and collects
// the page's uncaught errors. Screenshots go to test-artifacts/screenshots/ (not committed);
// `npm run screenshots` (scripts/screenshots.js) runs the tests that draw the pages the README
// shows with POSTHORN_DOCS_SCREENSHOTS=<dir>:<name>,<name>, and those are also written there.
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { startTestServer, type TestServer } from "./server.js";

/** Debian's Chromium (`apt-get install chromium`); POSTHORN_CHROMIUM names another. */
export const CHROMIUM = process.env.POSTHORN_CHROMIUM ?? "/usr/bin/chromium";
/**
 * Whether a browser test runs: always in CI (a missing browser fails there), elsewhere only when
 * Chromium is installed, so that `npm test` on a fresh machine passes and says what it skipped.
 */
export const SKIP_WITHOUT_BROWSER: string | false = existsSync(CHROMIUM) || process.env.CI ? false : `Chromium is not installed at ${CHROMIUM} (apt-get install chromium)`;

export const SCREENSHOTS = resolve(import.meta.dirname, "../../../test-artifacts/screenshots");

/** Without the background-networking flags Chromium tries Google's hosts at every start. */
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"];

export const ADMIN = { email: "admin@example.com", password: "correct horse battery staple" } as const;

export interface DashboardWorld {
  server: TestServer;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Ids of the workspaces made at start, by name. */
  workspaces: Record<string, { id: string; serverToken: string }>;
  /** Requests the page tried to send anywhere but the server (refused). */
  outsideRequests: string[];
  /** Uncaught errors and console errors of the page. */
  pageErrors: string[];
  /** Signs in through the sign-in page and waits for the dashboard. */
  signIn(user?: { email: string; password: string }): Promise<void>;
  /** The dashboard URL of a page of a workspace: /#/w/<id>/<path>. */
  at(workspace: string, path: string): string;
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export interface DashboardWorldOptions {
  /** Workspaces to make (the first is where sign-in lands); default one live "shop". */
  workspaces?: Array<{ name: string; sandbox?: boolean }>;
  /** Server settings (POSTHORN_… keys). */
  env?: Record<string, string>;
  viewport?: { width: number; height: number };
}

/** Where `npm run screenshots` wants which screenshots: "<dir>:<name>,<name>", or null. */
function docsScreenshots(): { dir: string; names: Set<string> } | null {
  const setting = process.env.POSTHORN_DOCS_SCREENSHOTS;
  if (!setting) return null;
  const at = setting.lastIndexOf(":");
  return { dir: resolve(setting.slice(0, at)), names: new Set(setting.slice(at + 1).split(",")) };
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export async function startDashboardWorld(options: DashboardWorldOptions = {}): Promise<DashboardWorld> {
  const server = await startTestServer(options.env ?? {});
  const workspaces: DashboardWorld["workspaces"] = {};
  for (const w of options.workspaces ?? [{ name: "shop" }]) {
    const made = await server.app.services.workspaces.create(w.name, { sandbox: w.sandbox === true });
    workspaces[w.name] = { id: made.workspace.id, serverToken: made.serverToken };
  }
  await server.app.services.users.create({ email: ADMIN.email, password: ADMIN.password, role: "admin", workspaces: Object.keys(workspaces) });

  const browser = await launchChromium();
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 }, baseURL: server.url });
  const origin = new URL(server.url).origin;
  const outsideRequests: string[] = [];
  await context.route("**/*", async (route) => {
    const url = route.request().url();
    if (url.startsWith(origin + "/") || url.startsWith("data:") || url === "about:blank") return route.continue();
    outsideRequests.push(url);
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (err) => pageErrors.push(String(err)));
  page.on("console", (message) => {
    if (message.type() === "error") pageErrors.push(message.text());
  });

  return {
    server,
    browser,
    context,
    page,
    workspaces,
    outsideRequests,
    pageErrors,
    async signIn(user = ADMIN) {
      await page.goto("/");
      await page.getByLabel("Email").fill(user.email);
      await page.getByLabel("Password").fill(user.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("navigation", { name: "Dashboard" }).waitFor();
    },
    at(workspace, path) {
      const id = workspaces[workspace]?.id;
      if (!id) throw new Error(`no workspace ${workspace} in this world`);
      return `/#/w/${id}/${path.replace(/^\//, "")}`;
    },
    async screenshot(name) {
      mkdirSync(SCREENSHOTS, { recursive: true });
      const path = join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      const docs = docsScreenshots();
      if (docs?.names.has(name)) {
        mkdirSync(docs.dir, { recursive: true });
        // The visible window, not the whole page: what a reader of the README sees first.
        await page.screenshot({ path: join(docs.dir, `${name}.png`) });
      }
      return path;
    },
    async close() {
      await browser.close().catch(() => undefined);
      await server.close();
    },
  };
}
