// Bundles the compiled server (dist/src/main.js and the entries of its worker threads) into
// dist/bundle/, a few dozen files instead of ~500; scripts/build.js runs it after tsc.
//
// Why: Node 20 loads ES modules one file at a time (resolve, read, parse, link each), and has no
// compile cache (module.enableCompileCache came in Node 22). Every process start paid that for
// our ~500 compiled files, and each worker thread paid it again: `npm start`, every CLI command,
// each restart, and the test suite's hundreds of spawned servers. Measured in docs/benchmarks.md.
//
// Only our own code is bundled, and zod and Kysely (pure code; see KYSELY_BUNDLED for how). Other
// packages stay imports resolved from node_modules as before: some are native (better-sqlite3),
// some read their own files or start their own workers (pino), and CommonJS ones already load
// cheaply through require. `bin/posthorn.js` runs the bundle when it is there and dist/src/main.js
// when it is not (an install without development dependencies, where rolldown is absent).
//
// A module's own location is kept: `import.meta.url` and `import.meta.dirname` in a bundled module
// are rewritten to the URL and directory its compiled file has under dist/src/, relative to the
// bundle, so that what it finds beside itself (package.json, web/dist, a package resolved with
// createRequire) is found as before, wherever the tree is moved to. `new URL("./x.js",
// import.meta.url)` naming a worker entry points at that entry's bundle instead.
import { rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

export const BUNDLE_DIR = "bundle";

/** Entry name → its compiled file under dist/. */
const ENTRIES = {
  main: "src/main.js",
  "submission.thread": "src/app/submission.thread.js",
  "transport.thread": "src/app/transport.thread.js",
  "dkim-sign.worker": "src/sending-domains/dkim-sign.worker.js",
  "sqlite-checkpoint.worker": "src/store/sqlite-checkpoint.worker.js",
};

/** Packages bundled with our code (see above); every other bare import stays an import. */
const INLINED = /^(zod|kysely)(\/|$)/;

/**
 * src/store/kysely.ts as the bundle has it. Compiled, it takes Kysely's values from its CommonJS
 * build by `require` (cheaper than the ES module loader's ~260 files, and a runtime require the
 * bundler cannot follow); bundled, it re-exports them from "kysely" itself, so that the bundler
 * inlines the ES module build's code the server uses into one chunk: ~130 ms of CPU to require
 * Kysely was about a sixth of each CLI command's.
 */
const KYSELY_MODULE = "src/store/kysely.js";
const KYSELY_BUNDLED = `export { sql, CompiledQuery, Kysely, Migrator, PostgresDialect, SqliteDialect, SqliteDriver } from "kysely";\n`;

/**
 * Bundles `dist` (an absolute path) into dist/bundle/. Resolves with the bundle's entry file
 * names; rejects when rolldown fails (a module that cannot be resolved, a syntax error).
 */
export async function bundleServer(dist, { rolldown }) {
  const out = join(dist, BUNDLE_DIR);
  const entryOf = new Map(Object.entries(ENTRIES).map(([name, path]) => [join(dist, path), name]));
  const bundle = await rolldown({
    input: Object.fromEntries(Object.entries(ENTRIES).map(([name, path]) => [name, join(dist, path)])),
    platform: "node",
    external: isExternal,
    logLevel: "warn",
    plugins: [moduleLocations(dist, out, (target) => (entryOf.has(target) ? join(out, `${entryOf.get(target)}.js`) : null))],
  });
  rmSync(out, { recursive: true, force: true });
  await bundle.write({ dir: out, format: "esm", entryFileNames: "[name].js", chunkFileNames: "[name]-[hash].js" });
  await bundle.close();
  return Object.keys(ENTRIES).map((name) => `${name}.js`);
}

/** The server bundle's entry file for a compiled worker entry under `dist` (absolute paths), or null. */
export function serverEntryOf(dist, target) {
  const name = Object.entries(ENTRIES).find(([, path]) => join(dist, path) === target)?.[0];
  return name === undefined ? null : join(dist, BUNDLE_DIR, `${name}.js`);
}

/** Whether an import stays an import (a package other than the inlined ones) rather than bundled. */
export function isExternal(id) {
  return !id.startsWith(".") && !id.startsWith("/") && !id.startsWith("\0") && !INLINED.test(id);
}

/**
 * The rolldown plugin that keeps each module's own location (see the header) for a bundle written
 * flat into `out`: `workerEntry(target)` names the file that `new URL("./x.js", import.meta.url)`
 * should point at when x.js is a worker entry (absolute), or null to point at the compiled file.
 */
export function moduleLocations(dist, out, workerEntry) {
  const fromBundle = (file) => {
    const path = relative(out, file).split("\\").join("/");
    return path.startsWith(".") ? path : `./${path}`;
  };
  return {
    name: "module-locations",
    load(id) {
      return id === join(dist, KYSELY_MODULE) ? KYSELY_BUNDLED : null;
    },
    transform(code, id) {
      if (!id.startsWith(dist) || !code.includes("import.meta")) return null;
      // A placeholder for the URLs this pass writes itself, so the second pass leaves them be.
      const KEEP = "import.meta.__bundle_url__";
      let text = code.replace(/new URL\("(\.\.?\/[^"]+\.js)", import\.meta\.url\)/g, (_, spec) => {
        const target = resolve(dirname(id), spec);
        return `new URL(${JSON.stringify(fromBundle(workerEntry(target) ?? target))}, ${KEEP})`;
      });
      text = text.replace(/import\.meta\.url/g, `new URL(${JSON.stringify(fromBundle(id))}, ${KEEP}).href`);
      text = text.replace(/import\.meta\.dirname/g, `(import.meta.dirname + ${JSON.stringify(`/${fromBundle(dirname(id))}`)})`);
      return { code: text.replaceAll(KEEP, "import.meta.url"), map: null };
    },
  };
}
