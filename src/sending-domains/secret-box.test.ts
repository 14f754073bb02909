import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createSecretBox } from "./secret-box.js";

const PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";

test("a sealed secret opens with the same key and context, and does not contain the plaintext", () => {
  const box = createSecretBox(randomBytes(32));
  const sealed = box.seal(PEM, "ph20261122._domainkey.example.com");
  assert.doesNotMatch(sealed, /PRIVATE KEY|MIIEvQ/);
  assert.match(sealed, new RegExp(`^v1:${box.keyId}:`));
  assert.equal(box.open(sealed, "ph20261122._domainkey.example.com").toString(), PEM);
});

test("sealing twice gives different ciphertexts (fresh nonce each time)", () => {
  const box = createSecretBox(randomBytes(32));
  assert.notEqual(box.seal(PEM, "c"), box.seal(PEM, "c"));
});

test("a secret moved to another context does not open", () => {
  const box = createSecretBox(randomBytes(32));
  const sealed = box.seal(PEM, "a._domainkey.example.com");
  assert.throws(() => box.open(sealed, "a._domainkey.example.org"), /failed authentication/);
});

test("an altered ciphertext does not open", () => {
  const box = createSecretBox(randomBytes(32));
  const sealed = box.seal(PEM, "c");
  const [v, id, payload] = sealed.split(":");
  const bytes = Buffer.from(payload!, "base64");
  bytes[bytes.length - 1]! ^= 1;
  assert.throws(() => box.open(`${v}:${id}:${bytes.toString("base64")}`, "c"), /failed authentication/);
});

test("a secret sealed under another key names the mismatch and the fix", () => {
  const sealed = createSecretBox(randomBytes(32)).seal(PEM, "c");
  assert.throws(() => createSecretBox(randomBytes(32)).open(sealed, "c"), /another encryption key .*POSTHORN_ENCRYPTION_KEY/);
});

test("keys of the wrong size and malformed values are refused", () => {
  assert.throws(() => createSecretBox(randomBytes(16)), /32 bytes/);
  const box = createSecretBox(randomBytes(32));
  assert.throws(() => box.open("plain text", "c"), /unknown format/);
  assert.throws(() => box.open(`v1:${box.keyId}:AAAA`, "c"), /truncated/);
});
