import { test } from "node:test";
import assert from "node:assert/strict";
import { generateDkimKeySet } from "./dkim-keys.js";
import { createDkimSignPool } from "./dkim-sign.pool.js";
import { createLocalSigner, type SignRequestData } from "./dkim-sign.request.js";

const message = Buffer.from("From: a@brand.test\r\nTo: b@example.test\r\nSubject: hi\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n\r\nhello\r\n");

test("the worker pool signs exactly as signing on this thread does", async () => {
  const keys = await generateDkimKeySet("ph20261122");
  const request: SignRequestData = {
    keys: [
      { domain: "brand.test", selector: keys.selector, algorithm: "rsa-sha256", privateKeyPem: keys.rsa.privateKeyPem },
      { domain: "brand.test", selector: keys.ed25519Selector, algorithm: "ed25519-sha256", privateKeyPem: keys.ed25519.privateKeyPem },
    ],
    headerNames: ["From", "To", "Subject", "Date"],
    timeSeconds: 1_795_860_000,
  };
  const pool = createDkimSignPool(2);
  try {
    const here = createLocalSigner()(message, request);
    // RSA (PKCS #1 v1.5) and Ed25519 signatures are deterministic: equal inputs, equal bytes.
    const results = await Promise.all(Array.from({ length: 20 }, () => pool.sign(message, request)));
    for (const signatures of results) assert.equal(signatures, here);
  } finally {
    await pool.close();
  }
});

test("a bad key is refused with an error that does not carry the key", async () => {
  const pool = createDkimSignPool(1);
  try {
    const secret = "-----BEGIN PRIVATE KEY-----\nnot-a-key-SECRETMATERIAL\n-----END PRIVATE KEY-----";
    await assert.rejects(
      pool.sign(message, { keys: [{ domain: "brand.test", selector: "s1", algorithm: "rsa-sha256", privateKeyPem: secret }], headerNames: ["From"], timeSeconds: 1 }),
      (err: Error) => /cannot be read/.test(err.message) && !/SECRETMATERIAL/.test(err.message),
    );
  } finally {
    await pool.close();
  }
});
