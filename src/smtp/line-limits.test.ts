import { test } from "node:test";
import assert from "node:assert/strict";
import { findLineDefect, MAX_LINE_OCTETS } from "./line-limits.js";

test("finds the first line over 998 octets (CRLF not counted) or with a NUL, by line number", () => {
  assert.equal(findLineDefect(Buffer.from(`a\r\n${"x".repeat(MAX_LINE_OCTETS)}\r\nb`)), null);
  assert.equal(findLineDefect(Buffer.from("x".repeat(MAX_LINE_OCTETS))), null, "the last line may lack its CRLF");
  assert.deepEqual(findLineDefect(Buffer.from(`a\r\n${"x".repeat(MAX_LINE_OCTETS + 1)}\r\n`)), { kind: "line-too-long", line: 2, octets: 999 });
  assert.deepEqual(findLineDefect(Buffer.from(`a\nb\n${"x".repeat(1000)}`)), { kind: "line-too-long", line: 3, octets: 1000 });
  assert.deepEqual(findLineDefect(Buffer.from("a\r\nb\u0000c\r\n")), { kind: "nul", line: 2 });
  assert.equal(findLineDefect(Buffer.alloc(0)), null);
});
