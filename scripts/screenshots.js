#!/usr/bin/env node
// `npm run screenshots`: regenerates the dashboard screenshots the README shows
// (docs/screenshots/*.png) from the browser tests that draw those pages with real data: mail sent
// through the Postmark API and delivered to a local SMTP sink, a person identified through the
// Track API entering a segment and a journey. Needs Debian's Chromium (apt-get install chromium).
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(import.meta.url), "..", "..");
/** Screenshot name (as the test takes it) → the test file that takes it. */
const SHOTS = { "activity-list": "test/dashboard-activity.test.js", journey: "test/dashboard-people.test.js" };

const build = spawnSync(process.execPath, [join(root, "scripts/build.js"), "--if-stale"], { stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);
const files = [...new Set(Object.values(SHOTS))].map((f) => join(root, "dist", f));
const run = spawnSync(process.execPath, ["--test", "--test-concurrency=1", ...files], {
  stdio: "inherit",
  env: { ...process.env, POSTHORN_DOCS_SCREENSHOTS: `${join(root, "docs/screenshots")}:${Object.keys(SHOTS).join(",")}` },
});
if (run.status === 0) process.stdout.write(`screenshots: ${Object.keys(SHOTS).map((n) => `docs/screenshots/${n}.png`).join(", ")}\n`);
process.exit(run.status ?? 1);
