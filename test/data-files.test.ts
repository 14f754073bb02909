// The data directory holds every message: what Posthorn creates there is its owner's alone,
// whatever umask it was started with; what the operator made is left alone and reported.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnServer, tempDir } from "./support/server.js";
import { eventually } from "./support/eventually.js";

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

async function stopped(server: Awaited<ReturnType<typeof spawnServer>>): Promise<void> {
  server.child.kill("SIGTERM");
  await server.exited;
}

test("a new data directory is created 0700 and every file in it 0600, under a permissive umask", { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const previous = process.umask(0o022); // the child inherits it; the usual default
  try {
    const dataDir = join(dir.path, "nested", "data");
    const server = await spawnServer({ POSTHORN_DATA_DIR: dataDir, POSTHORN_HTTP_PORT: "0", POSTHORN_HOSTNAME: "modes.test" });
    try {
      // While it runs: the database with its -wal and -shm, the key file, the generated TLS pair.
      const db = join(dataDir, "posthorn.db");
      assert.deepEqual(
        Object.fromEntries(
          [dataDir, db, `${db}-wal`, `${db}-shm`, join(dataDir, "encryption.key"), join(dataDir, "smtp-tls"), join(dataDir, "smtp-tls", "key.pem"), join(dataDir, "smtp-tls", "cert.pem")].map((p) => [p.slice(dataDir.length) || "/", modeOf(p)]),
        ),
        { "/": "700", "/posthorn.db": "600", "/posthorn.db-wal": "600", "/posthorn.db-shm": "600", "/encryption.key": "600", "/smtp-tls": "700", "/smtp-tls/key.pem": "600", "/smtp-tls/cert.pem": "600" },
      );
      assert.doesNotMatch(server.output(), /chmod go-rwx/);
    } finally {
      await stopped(server);
    }
  } finally {
    process.umask(previous);
    dir.remove();
  }
});

test("a data directory the operator made readable by others keeps its mode, with a warning naming it", { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const previous = process.umask(0o022);
  try {
    const dataDir = join(dir.path, "data");
    mkdirSync(dataDir, { mode: 0o755 });
    const server = await spawnServer({ POSTHORN_DATA_DIR: dataDir, POSTHORN_HTTP_PORT: "0", POSTHORN_HOSTNAME: "modes.test" });
    try {
      assert.equal(modeOf(dataDir), "755");
      assert.equal(modeOf(join(dataDir, "posthorn.db")), "600");
      // Logged after the banner the server is awaited by: on a busy machine it comes a moment later.
      const warningsNow = () => server.output().split("\n").filter((line) => line.includes("chmod go-rwx"));
      await eventually(async () => warningsNow().length > 0, 10_000).catch(() => undefined);
      const warnings = warningsNow();
      assert.equal(warnings.length, 1, server.output());
      assert.match(warnings[0]!, new RegExp(`"path":"${dataDir}"`));
      assert.match(warnings[0]!, /"mode":"0755"/);
    } finally {
      await stopped(server);
    }
  } finally {
    process.umask(previous);
    dir.remove();
  }
});
