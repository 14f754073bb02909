import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ENCRYPTION_KEY_FILE, loadEncryptionKey } from "./encryption-key.js";

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "posthorn-key-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a configured key is used as is and no file is written", () => {
  withDir((dir) => {
    const configured = randomBytes(32);
    const loaded = loadEncryptionKey({ configured, dataDir: join(dir, "data") });
    assert.deepEqual(loaded, { key: configured, source: "config", path: null, looseFileMode: false });
    assert.throws(() => statSync(join(dir, "data", ENCRYPTION_KEY_FILE)), /ENOENT/);
  });
});

test("without a configured key, a key file is created once, owner-only, and read back on later starts", () => {
  withDir((dir) => {
    const dataDir = join(dir, "data"); // does not exist yet
    const first = loadEncryptionKey({ configured: null, dataDir });
    assert.equal(first.source, "created");
    assert.equal(first.key.length, 32);
    assert.equal(statSync(first.path!).mode & 0o777, 0o600);
    // Stored in the form POSTHORN_ENCRYPTION_KEY accepts, so it can move into the config.
    assert.match(readFileSync(first.path!, "utf8"), /^[0-9a-f]{64}\n$/);
    const second = loadEncryptionKey({ configured: null, dataDir });
    assert.equal(second.source, "file");
    assert.deepEqual(second.key, first.key);
    assert.equal(second.looseFileMode, false);
  });
});

test("a key file written by another process (base64) is used, and loose permissions are reported", () => {
  withDir((dir) => {
    const key = randomBytes(32);
    const path = join(dir, ENCRYPTION_KEY_FILE);
    writeFileSync(path, `${key.toString("base64")}\n`);
    chmodSync(path, 0o644);
    const loaded = loadEncryptionKey({ configured: null, dataDir: dir });
    assert.deepEqual(loaded.key, key);
    assert.equal(loaded.looseFileMode, true);
  });
});

test("a key file holding something else is an error, not silently replaced", () => {
  withDir((dir) => {
    writeFileSync(join(dir, ENCRYPTION_KEY_FILE), "not a key\n");
    assert.throws(() => loadEncryptionKey({ configured: null, dataDir: dir }), /does not hold a 32-byte key/);
    assert.equal(readFileSync(join(dir, ENCRYPTION_KEY_FILE), "utf8"), "not a key\n");
  });
});
