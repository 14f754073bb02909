// Bundles the compiled server (dist/src/main.js and the entries of its worker threads) into
// dist/bundle/, a few dozen files instead of ~500; scripts/build.js runs it after tsc.
//
// Why: Node 20 loads ES modules one file at a time (resolve, read, parse, link each), and has no
// compile cache (module.enableCompileCache came in Node 22). Every process start paid that for
// our ~500 compiled files, and each worker thread paid it again: `npm start`, every CLI command,
// each restart, and the test suite's hundreds of spawned servers. Measured in docs/benchmarks.md.
//
// Only our own code is bundled, and zod (an ES module package of ~200 files, pure code). Other
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
const INLINED = /^zod(\/|$)/;

/**
 * Bundles `dist` (an absolute path) into dist/bundle/. Resolves with the bundle's entry file
 * names; rejects when rolldown fails (a module that cannot be resolved, a syntax error).
 */
export async function bundleServer(dist, { rolldown }) {
  const out = join(dist, BUNDLE_DIR);
  const entryOf = new Map(Object.entries(ENTRIES).map(([name, path]) => [join(dist, path), name]));
  const fromBundle = (file) => relative(out, file).split("\\").join("/");
  const bundle = await rolldown({
    input: Object.fromEntries(Object.entries(ENTRIES).map(([name, path]) => [name, join(dist, path)])),
    platform: "node",
    external: (id) => !id.startsWith(".") && !id.startsWith("/") && !id.startsWith("\0") && !INLINED.test(id),
    logLevel: "warn",
    plugins: [
      {
        name: "module-locations",
        transform(code, id) {
          if (!id.startsWith(dist) || !code.includes("import.meta")) return null;
          // A placeholder for the URLs this pass writes itself, so the second pass leaves them be.
          const KEEP = "import.meta.__bundle_url__";
          let text = code.replace(/new URL\("(\.\.?\/[^"]+\.js)", import\.meta\.url\)/g, (_, spec) => {
            const target = resolve(dirname(id), spec);
            const entry = entryOf.get(target);
            return `new URL(${JSON.stringify(entry ? `./${entry}.js` : fromBundle(target))}, ${KEEP})`;
          });
          text = text.replace(/import\.meta\.url/g, `new URL(${JSON.stringify(fromBundle(id))}, ${KEEP}).href`);
          text = text.replace(/import\.meta\.dirname/g, `(import.meta.dirname + ${JSON.stringify(`/${fromBundle(dirname(id))}`)})`);
          return { code: text.replaceAll(KEEP, "import.meta.url"), map: null };
        },
      },
    ],
  });
  rmSync(out, { recursive: true, force: true });
  await bundle.write({ dir: out, format: "esm", entryFileNames: "[name].js", chunkFileNames: "[name]-[hash].js" });
  await bundle.close();
  return Object.keys(ENTRIES).map((name) => `${name}.js`);
}
