// The pretty log format: what a person reads at a terminal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger, LogOutput, prettyLine } from "./logger.js";

const at = new Date(2026, 0, 2, 3, 4, 5).getTime(); // local time, as the line shows it

test("a line is time, level, component, message, then its fields as key=value", () => {
  const line = JSON.stringify({ level: 40, time: at, pid: 1, hostname: "h", name: "posthorn", component: "mta", msg: "deferred", domain: "example.com", note: "two words", roles: ["api", "mta"], n: 3, ok: true, detail: { a: 1 } });
  assert.equal(prettyLine(line), '03:04:05 WARN  mta deferred domain=example.com note="two words" roles=api,mta n=3 ok=true detail={"a":1}\n');
});

test("an error shows its message as a field and its stack indented below", () => {
  const line = JSON.stringify({ level: 50, time: at, name: "posthorn", msg: "shutdown failed", err: { type: "Error", message: "boom", stack: "Error: boom\n    at x" } });
  assert.equal(prettyLine(line), '03:04:05 ERROR posthorn shutdown failed err=boom\n    Error: boom\n        at x\n');
});

test("held lines are written after release, in order", () => {
  const written: string[] = [];
  const output = new LogOutput("pretty", { destination: { write: (text: string) => written.push(text) } });
  const logger = createLogger("info", output);
  output.hold();
  logger.info("one");
  logger.child({ component: "api" }).warn({ port: 1 }, "two");
  assert.deepEqual(written, []);
  output.release();
  logger.info("three");
  assert.deepEqual(
    written.join("").split("\n").map((l) => l.slice(9)),
    ["INFO  posthorn one", "WARN  api two port=1", "INFO  posthorn three", ""],
  );
});
