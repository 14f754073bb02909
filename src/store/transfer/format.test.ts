// The file's value conversions, which every column of both dialects goes through, and the
// checksum that the import verifies with.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TableChecksum, decodeValue, encodeValue, keyCheck } from "./format.js";

const at = () => "t.c";
const roundTrip = (value: unknown, type: Parameters<typeof encodeValue>[1]) => decodeValue(JSON.parse(JSON.stringify(encodeValue(value, type, at))), type, at);

test("a blob of every byte value comes back byte for byte through the file's JSON, from a Buffer or a Uint8Array view", () => {
  const bytes = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
  assert.deepEqual(roundTrip(bytes, "blob"), bytes);
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset + 3, 100);
  assert.deepEqual(roundTrip(view, "blob"), Buffer.from(view));
  assert.deepEqual(roundTrip(Buffer.alloc(0), "blob"), Buffer.alloc(0));
});

test("integers: pg's int8 strings and bigints become numbers; a value past 2^53 or a fraction is refused, naming the column", () => {
  assert.equal(encodeValue("1733400000000", "integer", at), 1733400000000);
  assert.equal(encodeValue(12n, "integer", at), 12);
  assert.equal(encodeValue(-5, "integer", at), -5);
  assert.throws(() => encodeValue("9007199254740993", "integer", at), /t\.c holds "9007199254740993" where an integer of at most 2\^53 was expected/);
  assert.throws(() => encodeValue(1.5, "integer", at), /t\.c holds "1\.5"/);
  assert.throws(() => encodeValue("ten", "integer", at), /t\.c holds "ten"/);
});

test("text stays text (JSON, unicode, empty), null stays null, and a value of the wrong kind is refused", () => {
  for (const text of ['{"a":[1,2]}', "Grüße 😀 \u0000 \r\n", ""]) assert.equal(roundTrip(text, "text"), text);
  for (const type of ["integer", "real", "text", "blob"] as const) assert.equal(roundTrip(null, type), null);
  assert.throws(() => encodeValue(Buffer.from("x"), "text", at), /t\.c holds a blob where text was expected/);
  assert.throws(() => encodeValue("x", "blob", at), /t\.c holds a string where bytes were expected/);
  assert.throws(() => decodeValue("not base64!", "blob", at), /t\.c: not base64/);
  assert.throws(() => decodeValue("1", "integer", at), /t\.c: "1" is not an integer/);
  assert.equal(roundTrip(0.25, "real"), 0.25);
});

test("a table's checksum does not depend on row order, and changes with any row", () => {
  const rows = ['["a",1]', '["b",2]', '["c",3]'];
  const sum = (lines: string[]) => {
    const c = new TableChecksum();
    for (const l of lines) c.add(l);
    return c.hex();
  };
  assert.equal(sum(rows), sum([...rows].reverse()));
  assert.notEqual(sum(rows), sum(['["a",1]', '["b",2]', '["c",4]']));
  assert.notEqual(sum(rows), sum(rows.slice(0, 2)));
  assert.equal(sum([]), "0000000000000000");
});

test("the key check tells keys apart without showing them", () => {
  const key = Buffer.alloc(32, 7);
  assert.equal(keyCheck(key), keyCheck(Buffer.from(key)));
  assert.notEqual(keyCheck(key), keyCheck(Buffer.alloc(32, 8)));
  assert.ok(!keyCheck(key).includes(key.toString("hex").slice(0, 8)));
});
