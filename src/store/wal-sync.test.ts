import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WalSync } from "./wal-sync.js";

test("concurrent callers share fsyncs, and each waits for one that started after its call", async () => {
  const dir = mkdtempSync(join(tmpdir(), "walsync-"));
  try {
    const file = join(dir, "db-wal");
    writeFileSync(file, "frames");
    const wal = new WalSync(file);
    let started = 0;
    const original = WalSync.prototype["fdatasync" as keyof WalSync] as unknown as () => Promise<void>;
    (wal as unknown as { fdatasync: () => Promise<void> }).fdatasync = async function (this: WalSync) {
      started += 1;
      await original.call(this);
    };
    const first = wal.sync();
    // These arrive while the first sync runs: they must not be satisfied by it, but they share one.
    const later = Array.from({ length: 50 }, () => wal.sync());
    await Promise.all([first, ...later]);
    assert.equal(started, 2);
    await wal.sync();
    assert.equal(started, 3);
    await wal.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a failing sync rejects its callers, and the next sync tries again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "walsync-"));
  try {
    const wal = new WalSync(join(dir, "missing-wal"));
    await assert.rejects(wal.sync(), /ENOENT/);
    writeFileSync(join(dir, "missing-wal"), "frames");
    await wal.sync();
    await wal.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
