import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadEncryptionKey } from "./encryption-key.js";

test("without a configured key, one is created in the data directory once and reused", () => {
  const dir = mkdtempSync(join(tmpdir(), "posthorn-key-"));
  try {
    const first = loadEncryptionKey({ encryptionKey: null, dataDir: join(dir, "data") });
    assert.equal(first.length, 32);
    assert.equal(statSync(join(dir, "data", "encryption.key")).mode & 0o777, 0o600);
    assert.deepEqual(loadEncryptionKey({ encryptionKey: null, dataDir: join(dir, "data") }), first);
    const configured = Buffer.alloc(32, 3);
    assert.deepEqual(loadEncryptionKey({ encryptionKey: configured, dataDir: join(dir, "data") }), configured);
    writeFileSync(join(dir, "data", "encryption.key"), "garbage");
    assert.throws(() => loadEncryptionKey({ encryptionKey: null, dataDir: join(dir, "data") }), /does not hold a 32-byte key/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
