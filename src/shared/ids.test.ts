import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { hashToken, newMessageId } from "./ids.js";

test("message ids are RFC 9562 version 7 UUIDs that sort by creation time", () => {
  const a = newMessageId(1_700_000_000_000);
  const b = newMessageId(1_700_000_000_001);
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok(a < b);
  assert.equal(a.slice(0, 13).replace("-", ""), (1_700_000_000_000).toString(16).padStart(12, "0"));
  assert.notEqual(newMessageId(5), newMessageId(5));
});

test("tokens are stored as their SHA-256", () => {
  assert.equal(hashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Text is hashed as UTF-8, as createHash's update(token, "utf8") did: stored hashes still match.
  for (const token of ["track\u0000site\u0000key", "clé-😀-ünïcode", ""]) assert.equal(hashToken(token), createHash("sha256").update(token, "utf8").digest("hex"), token);
});
