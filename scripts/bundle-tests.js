// Bundles the compiled test files (dist/**/*.test.js) into dist/test-bundle/: one entry file per
// test file, their shared modules in a few dozen chunks. scripts/build.js runs it after the server
// bundle; scripts/run-tests.js runs a test file's entry here instead of its compiled file.
//
// Why: the suite is CPU-bound on a 2-core machine, and each test file is a process of its own
// that loaded its few hundred compiled modules one at a time (Node 20 has no compile cache; see
// bundle-server.js). A file that starts a server in its own process paid ~1 s of CPU for that,
// and each of that server's worker threads paid it again. From the bundle, a test file loads a
// handful of files, and its in-process servers' threads start from the server bundle's entries.
//
// The same rules as the server bundle: only our code, zod and Kysely are bundled; each module keeps its
// own location (import.meta.url and import.meta.dirname name its compiled file under dist/), so a
// test that finds a fixture, a child script or the repository beside itself finds it as before.
// A test that loads modules by a computed path and compares what they export with what it imported
// itself would see two copies of a module, the bundle's and the compiled one: those few are left
// out of the bundle (UNBUNDLED) and run as compiled. POSTHORN_TEST_UNBUNDLED=1 makes run-tests.js
// run every file compiled, to tell a bundling fault from a fault of the code.
import { readdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { BUNDLE_DIR, isExternal, moduleLocations, serverEntryOf } from "./bundle-server.js";

export const TEST_BUNDLE_DIR = "test-bundle";

/**
 * Test files (paths under dist/) that import every module of a kind they find on disk and check it
 * against the tables they import (error codes, configuration fragments): bundled, the found
 * module and the imported table would come from different copies.
 */
const UNBUNDLED = new Set(["test/error-catalogue.test.js", "src/config/config.fragments.test.js"]);

/** Every compiled test file under `dist` (absolute paths), the bundles' own directories left out. */
export function compiledTestFiles(dist) {
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (dir !== dist || (entry.name !== BUNDLE_DIR && entry.name !== TEST_BUNDLE_DIR)) walk(path);
      } else if (entry.name.endsWith(".test.js")) found.push(path);
    }
  };
  walk(dist);
  return found.sort();
}

/** The bundle's entry for a compiled test file: dist/test/a.test.js → dist/test-bundle/test__a.test.js. */
export function bundledTestFile(dist, compiled) {
  return join(dist, TEST_BUNDLE_DIR, `${entryName(dist, compiled)}.js`);
}

/** Entries are written flat (a module's rewritten locations are relative to the bundle's one directory). */
function entryName(dist, compiled) {
  return relative(dist, compiled).split("\\").join("/").replace(/\.js$/, "").replaceAll("/", "__");
}

/**
 * Bundles the test files of `dist` (an absolute path) into dist/test-bundle/, after the server
 * bundle (worker threads start from its entries). Resolves with the number of test files bundled;
 * rejects when rolldown fails.
 */
export async function bundleTests(dist, { rolldown }) {
  const out = join(dist, TEST_BUNDLE_DIR);
  const files = compiledTestFiles(dist).filter((file) => !UNBUNDLED.has(relative(dist, file).split("\\").join("/")));
  const bundle = await rolldown({
    input: Object.fromEntries(files.map((file) => [entryName(dist, file), file])),
    platform: "node",
    external: isExternal,
    logLevel: "warn",
    plugins: [moduleLocations(dist, out, (target) => serverEntryOf(dist, target))],
  });
  rmSync(out, { recursive: true, force: true });
  await bundle.write({ dir: out, format: "esm", entryFileNames: "[name].js", chunkFileNames: "[name]-[hash].js" });
  await bundle.close();
  return files.length;
}
