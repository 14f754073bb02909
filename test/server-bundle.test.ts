// The bundled server (scripts/bundle-server.js) is what `posthorn` runs and what the suite's
// spawned servers and CLI runs start (test/support/server.ts MAIN_JS), so every end-to-end test of
// a child process tests it. What those would not show at once is here: that the build made it,
// that each place a bundled module finds beside itself (a worker thread's entry, package.json,
// the dashboard's files) exists, and that the dashboard is served from it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MAIN_JS, spawnServer, tempDir } from "./support/server.js";

const ROOT = resolve(import.meta.dirname, "../..");
const BUNDLE = join(ROOT, "dist", "bundle");

test("the build bundles the server when rolldown is installed, and posthorn runs the bundle", () => {
  createRequire(join(ROOT, "package.json")).resolve("rolldown"); // a development dependency: installed wherever the suite runs
  assert.ok(existsSync(join(BUNDLE, "main.js")), "dist/bundle/main.js");
  assert.equal(MAIN_JS, join(BUNDLE, "main.js"));
  const files = readdirSync(BUNDLE).filter((f) => f.endsWith(".js"));
  assert.ok(files.length < 100, `a few dozen files, not one per module: ${files.length}`);
  for (const entry of ["submission.thread.js", "transport.thread.js", "dkim-sign.worker.js", "sqlite-checkpoint.worker.js"]) assert.ok(files.includes(entry), entry);

  const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
  assert.equal(execFileSync(process.execPath, [join(ROOT, "bin", "posthorn.js"), "--version"], { encoding: "utf8" }).trim(), `posthorn ${version}`);
});

test("every module location a bundled module uses names a file or directory that exists", () => {
  let urls = 0;
  let dirs = 0;
  let beside = 0;
  for (const file of readdirSync(BUNDLE).filter((f) => f.endsWith(".js"))) {
    const code = readFileSync(join(BUNDLE, file), "utf8");
    const base = new URL(`file://${join(BUNDLE, file)}`);
    // new URL("…", import.meta.url): a worker entry, or a module's own URL under dist/src/.
    for (const [, spec] of code.matchAll(/new URL\("([^"]+)", import\.meta\.url\)/g)) {
      const target = fileURLToPath(new URL(spec!, base));
      assert.ok(existsSync(target), `${file}: ${spec} → ${target}`);
      urls++;
    }
    // import.meta.dirname + "/…": a module's own directory under dist/src/.
    for (const [, spec] of code.matchAll(/import\.meta\.dirname \+ "([^"]+)"/g)) {
      const target = resolve(BUNDLE, `.${spec!}`);
      assert.ok(existsSync(target), `${file}: ${spec} → ${target}`);
      dirs++;
    }
    // new URL("…", <a module's own URL>): a file found beside the module (package.json).
    for (const [, spec, own] of code.matchAll(/new URL\("([^"]+)", new URL\("([^"]+)", import\.meta\.url\)\.href\)/g)) {
      const target = fileURLToPath(new URL(spec!, new URL(own!, base)));
      assert.ok(existsSync(target), `${file}: ${spec} beside ${own} → ${target}`);
      beside++;
    }
  }
  assert.ok(urls >= 4, `worker entries and module URLs were found (${urls})`);
  assert.ok(dirs >= 1, `the dashboard's directory was found (${dirs})`);
  assert.ok(beside >= 1, `package.json was found (${beside})`);
});

test("the bundled server serves the dashboard this checkout built, from web/dist", { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const server = await spawnServer({ POSTHORN_DATA_DIR: dir.path, POSTHORN_HTTP_PORT: "0", POSTHORN_ROLES: "api" });
  try {
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), readFileSync(join(ROOT, "web", "dist", "index.html"), "utf8"));
  } finally {
    server.child.kill("SIGTERM");
    await server.exited;
    dir.remove();
  }
});
