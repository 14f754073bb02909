import { test } from "node:test";
import assert from "node:assert/strict";
import { csvField, csvLine } from "./csv.js";

test("plain text, numbers and booleans are written bare; null and undefined are empty", () => {
  assert.equal(csvLine(["ada", 42, true, null, undefined, ""]), "ada,42,true,,,\r\n");
});

test("a field with a comma, quote, CR or LF is quoted with its quotes doubled", () => {
  assert.equal(csvField("a,b"), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField("two\nlines"), '"two\nlines"');
  assert.equal(csvField("cr\rhere"), '"cr\rhere"');
  assert.equal(csvField('"'), '""""');
});

test("leading or trailing spaces are kept by quoting", () => {
  assert.equal(csvField(" padded "), '" padded "');
  assert.equal(csvField("in side"), "in side");
});

test("objects and arrays are written as JSON (quoted, since JSON has commas and quotes)", () => {
  assert.equal(csvField({ a: 1, b: [2, 3] }), '"{""a"":1,""b"":[2,3]}"');
  assert.equal(csvField([1]), "[1]");
});

test("formula-like text is written as it is", () => {
  assert.equal(csvField("=SUM(A1)"), "=SUM(A1)");
});
