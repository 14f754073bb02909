// The `posthorn` command as an operator uses it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { MAIN_JS, tempDir } from "./support/server.js";

function posthorn(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("workspaces and tokens from the command line", () => {
  const dir = tempDir();
  try {
    const env = { POSTHORN_DATA_DIR: dir.path };
    assert.equal(posthorn(["migrate"], env).code, 0);

    const created = posthorn(["workspace", "create", "acme", "--json"], env);
    assert.equal(created.code, 0, created.stderr);
    const json = JSON.parse(created.stdout) as { id: string; name: string; serverToken: string };
    assert.equal(json.name, "acme");
    assert.match(json.serverToken, /^[0-9a-f-]{36}$/);

    const plain = posthorn(["workspace", "create", "beta", "--sandbox"], env);
    assert.match(plain.stdout.trim(), /^[0-9a-f-]{36}$/);

    const duplicate = posthorn(["workspace", "create", "acme"], env);
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, /already exists/);

    const list = JSON.parse(posthorn(["workspace", "list", "--json"], env).stdout) as Array<{ name: string; sandbox: boolean }>;
    assert.deepEqual(
      list.map((w) => [w.name, w.sandbox]),
      [
        ["acme", false],
        ["beta", true],
      ],
    );

    assert.match(posthorn(["workspace", "update", "beta", "--live"], env).stdout, /beta is now live/);
    const token = posthorn(["token", "create", "--workspace", "acme"], env);
    assert.equal(token.code, 0);
    assert.notEqual(token.stdout.trim(), json.serverToken);
    assert.equal(posthorn(["token", "create", "--workspace", "nope"], env).code, 1);
    assert.match(posthorn(["token", "create", "--account"], env).stdout.trim(), /^[0-9a-f-]{36}$/);
  } finally {
    dir.remove();
  }
});

test("bad usage and bad configuration fail with a clear message", () => {
  const dir = tempDir();
  try {
    const unknown = posthorn(["frobnicate"], { POSTHORN_DATA_DIR: dir.path });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);

    const badConfig = posthorn(["start"], { POSTHORN_DATA_DIR: dir.path, POSTHORN_HTTP_PORT: "x", DATABASE_URL: "mysql://" });
    assert.equal(badConfig.code, 1);
    assert.match(badConfig.stderr, /POSTHORN_HTTP_PORT/);
    assert.match(badConfig.stderr, /DATABASE_URL/);
  } finally {
    dir.remove();
  }
});

test("--print-config prints the effective config with secrets redacted", () => {
  const printed = posthorn(["start", "--print-config"], { DATABASE_URL: "postgres://u:topsecret@127.0.0.1:1/db", POSTHORN_HTTP_PORT: "9999" });
  assert.equal(printed.code, 0);
  const config = JSON.parse(printed.stdout) as { http: { port: number }; databaseUrl: string };
  assert.equal(config.http.port, 9999);
  assert.equal(printed.stdout.includes("topsecret"), false);
});
