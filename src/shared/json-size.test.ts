import { test } from "node:test";
import assert from "node:assert/strict";
import { jsonLargerThan } from "./json-size.js";

const exact = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");

/** The answer at the value's exact size and one byte either side of it: a bound below the exact size would answer false one byte short. */
function assertExactAround(value: unknown, label: string): void {
  const size = exact(value);
  for (const limit of [size - 1, size, size + 1]) {
    assert.equal(jsonLargerThan(value, limit), size > limit, `${label}: limit ${limit}, size ${size}`);
  }
}

test("the answer is the exact one at the size of awkward values, whatever the bound", () => {
  const values: Record<string, unknown> = {
    "empty object": {},
    "empty array": [],
    "empty string": "",
    "control characters (\\uXXXX escapes)": "\u0001\u0002\u001f",
    "quotes and backslashes": 'a"b\\c',
    "newlines and tabs": "a\nb\tc\r",
    "multi-byte letters": "Bücher straße",
    "an emoji (a surrogate pair)": "😀😀",
    "a lone surrogate (escaped by JSON.stringify)": "a\ud800b",
    "the longest number text": -Number.MAX_VALUE,
    "the smallest double": Number.MIN_VALUE,
    "an exponent written out in full": 1e20,
    "an exponent kept": 1e21,
    "booleans and null": [true, false, null],
    "keys that need escapes": { 'k"\u0001ü': 1, "😀": "x" },
    "a null-prototype object": Object.assign(Object.create(null) as object, { a: 1, b: [1, 2] }),
    "nested": { a: { b: { c: [1, { d: "e" }, [[]]] } } },
    "undefined inside an object (left out by JSON)": { a: undefined, b: 1 },
    "undefined inside an array (null in JSON)": [undefined, 1],
    "a Date (its toJSON)": { at: new Date(0) },
  };
  for (const [label, value] of Object.entries(values)) assertExactAround(value, label);
});

test("values JSON.parse made, at random, are measured exactly at their size", () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pieces = ["a", "ü", "😀", "\n", '"', "\\", "\u0000", " ", "z"];
  const text = (n: number) => Array.from({ length: n }, () => pieces[Math.floor(random() * pieces.length)]).join("");
  const make = (depth: number): unknown => {
    const kind = Math.floor(random() * (depth > 3 ? 4 : 6));
    if (kind === 0) return text(Math.floor(random() * 40));
    if (kind === 1) return (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
    if (kind === 2) return random() < 0.5;
    if (kind === 3) return null;
    if (kind === 4) return Array.from({ length: Math.floor(random() * 5) }, () => make(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(random() * 5) }, () => [text(Math.floor(random() * 8)), make(depth + 1)]));
  };
  for (let i = 0; i < 500; i++) {
    const value = JSON.parse(JSON.stringify(make(0)));
    assertExactAround(value, `value ${i}: ${JSON.stringify(value).slice(0, 80)}`);
  }
});

test("an entry far below the limit and one far above it", () => {
  assert.equal(jsonLargerThan({ type: "person", action: "event", name: "x".repeat(100) }, 32 * 1024), false);
  assert.equal(jsonLargerThan({ blob: "x".repeat(40_000) }, 32 * 1024), true);
  assert.equal(jsonLargerThan(Array.from({ length: 5_000 }, () => 1234567), 32 * 1024), true);
});
