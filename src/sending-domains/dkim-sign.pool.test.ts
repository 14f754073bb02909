import { test } from "node:test";
import assert from "node:assert/strict";
import { dkimSign } from "mailauth/lib/dkim/sign.js";
import type { DKIMSignOptions } from "mailauth";
import { generateDkimKeySet } from "./dkim-keys.js";
import { createDkimSignPool } from "./dkim-sign.pool.js";

const message = Buffer.from("From: a@brand.test\r\nTo: b@example.test\r\nSubject: hi\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n\r\nhello\r\n");

test("the worker pool signs exactly as signing on this thread does", async () => {
  const keys = await generateDkimKeySet("ph20261122");
  const options = {
    signatureData: [
      { signingDomain: "brand.test", selector: keys.selector, privateKey: keys.rsa.privateKeyPem, algorithm: "rsa-sha256" },
      { signingDomain: "brand.test", selector: keys.ed25519Selector, privateKey: keys.ed25519.privateKeyPem, algorithm: "ed25519-sha256" },
    ],
    canonicalization: "relaxed/relaxed",
    headerList: "from:to:subject:date",
    signTime: new Date("2026-11-22T10:00:00Z"),
  } as unknown as DKIMSignOptions;
  const pool = createDkimSignPool(2);
  try {
    const here = await dkimSign(message, options);
    // RSA (PKCS #1 v1.5) and Ed25519 signatures are deterministic: equal inputs, equal bytes.
    const results = await Promise.all(Array.from({ length: 20 }, () => pool.sign(message, options)));
    for (const r of results) {
      assert.deepEqual(r.errors, []);
      assert.equal(r.signatures, here.signatures);
    }
  } finally {
    await pool.close();
  }
});

test("a bad key is reported as an error, without the key", async () => {
  const pool = createDkimSignPool(1);
  try {
    const secret = "-----BEGIN PRIVATE KEY-----\nnot-a-key-SECRETMATERIAL\n-----END PRIVATE KEY-----";
    const result = await pool.sign(message, {
      signatureData: [{ signingDomain: "brand.test", selector: "s1", privateKey: secret, algorithm: "rsa-sha256" }],
      signTime: new Date(),
    } as unknown as DKIMSignOptions);
    assert.equal(result.errors.length, 1);
    assert.doesNotMatch(result.errors[0]!, /SECRETMATERIAL/);
  } finally {
    await pool.close();
  }
});
