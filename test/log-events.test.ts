// Every log line our code writes names its event, and docs/operations.md lists exactly the event
// names the code uses: the calls are found by parsing the source (test/support/log-calls.ts), not
// from a hand-kept list, so a new line without a name, or a name not documented, fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { findLogCalls } from "./support/log-calls.js";
import { LIBRARY_EVENT } from "../src/shared/logger.js";

const ROOT = resolve(import.meta.dirname, "../..");
const calls = findLogCalls(ROOT);
/** dotted lower-case words: area.subject.what (docs/operations.md, "Logs"). */
const NAME = /^[a-z][a-z-]*(\.[a-z][a-z-]*){1,3}$/;

/** The names in the first column of the table under "### Event names" of the "Logs" section. */
function documentedEvents(): string[] {
  const text = readFileSync(resolve(ROOT, "docs/operations.md"), "utf8");
  const section = text.split(/^##+ /m).find((s) => s.startsWith("Event names\n"));
  assert.ok(section, "docs/operations.md has an 'Event names' section");
  return section.split("\n").filter((line) => line.startsWith("| `")).map((line) => /`([^`]+)`/.exec(line)![1]!);
}

test("the scan finds the log calls (a broken scan cannot pass as 'no calls')", () => {
  assert.ok(calls.length > 80, `found ${calls.length} log calls`);
  assert.ok(calls.some((c) => c.event === "smtp.message.accepted" && c.file.endsWith("submission.server.ts")));
});

test("every log call in src names its event with a string of the naming scheme", () => {
  assert.deepEqual(calls.filter((c) => c.event === null).map((c) => `${c.file}:${c.line}`), []);
  assert.deepEqual(calls.filter((c) => c.event !== null && !NAME.test(c.event)).map((c) => `${c.file}:${c.line} ${c.event}`), []);
});

test("docs/operations.md lists every event name the code uses, and no other", () => {
  const used = new Set(calls.map((c) => c.event!).concat(LIBRARY_EVENT));
  const documented = documentedEvents();
  assert.deepEqual([...used].filter((e) => !documented.includes(e)).sort(), [], "used but not documented");
  assert.deepEqual(documented.filter((e) => !used.has(e)), [], "documented but not used");
  assert.deepEqual(documented, [...documented].sort(), "the table is in name order");
  assert.equal(new Set(documented).size, documented.length, "each name once");
});
