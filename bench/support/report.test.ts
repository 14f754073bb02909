// The benchmark page keeps the hand-recorded comparison with Postfix across the runs that rewrite it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { updateReport, type RunInfo } from "./report.js";

test("a full run rewrites the page but keeps the peer comparison between its markers", () => {
  const dir = mkdtempSync(join(tmpdir(), "posthorn-report-"));
  try {
    const path = join(dir, "benchmarks.md");
    const peers = "<!-- peer-comparison:start -->\n## Against Postfix\n\n| run | ratio |\n|---|---|\n| unsigned | 4.1x |\n<!-- peer-comparison:end -->";
    writeFileSync(path, `# Benchmarks\n\nold figures\n\n${peers}\n\n## How it is measured\n`);
    const run = { date: "2026-12-05T10:00:00.000Z", only: null, seconds: 1, machine: {} } as unknown as RunInfo;
    updateReport(path, { run, order: [], ran: [] });
    const page = readFileSync(path, "utf8");
    assert.ok(page.includes(peers), "the section is kept verbatim");
    assert.ok(!page.includes("old figures"), "the rest is written anew");
    assert.ok(page.indexOf(peers) < page.indexOf("## How it is measured"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
