// The progress of export and import: rewritten in place on a terminal, plain lines in a log.
import { test } from "node:test";
import assert from "node:assert/strict";
import { progressLine } from "./progress.js";

function stream(tty: boolean) {
  const written: string[] = [];
  return { written, stream: { isTTY: tty, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream };
}

test("on a terminal: one line rewritten in place with the table, rows done of total and percent, cleared at the end", () => {
  const { written, stream: s } = stream(true);
  const progress = progressLine(s, "loaded");
  progress.table("workspaces", 0, 2);
  progress.table("workspaces", 2, 2);
  progress.table("messages", 0, 120_000);
  progress.done();
  assert.deepEqual(written, [
    "\r\x1b[Kloaded table 1: workspaces 0/2 (0%)",
    "\r\x1b[Kloaded table 1: workspaces 2/2 (100%)",
    "\r\x1b[Kloaded table 2: messages 0/120,000 (0%)",
    "\r\x1b[K",
  ]);
});

test("in a log or a pipe: one plain line per table that holds rows, when it is done; no carriage returns", () => {
  const { written, stream: s } = stream(false);
  const progress = progressLine(s, "exported");
  progress.table("bounces", 0, 0);
  progress.table("messages", 0, 3);
  progress.table("messages", 2, 3);
  progress.table("messages", 3, 3);
  progress.done();
  assert.deepEqual(written, ["exported messages: 3 rows\n"]);
});
