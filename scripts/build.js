#!/usr/bin/env node
// Compiles src/, test/ and bench/ into dist/.
//
//   node scripts/build.js              a clean build, always (`npm run build`)
//   node scripts/build.js --if-stale   a clean build only when dist/ is not the output of the
//                                      sources as they are now (`npm start`, `npm test`, benches)
//   --root DIR                         the tree to build (default: this script's parent; tests)
//
// Why: tsc takes 30-70 s here, and `npm start` used to pay that on every start, in silence.
//
// A build records a fingerprint of its inputs in dist/.build-inputs.json: a SHA-1 of every file
// tsconfig.json includes, of tsconfig.json, package.json, package-lock.json (it pins the compiler)
// and this script. --if-stale rebuilds when any of them was added, removed or changed, when an
// expected output (dist/<path>.js) is missing, or when there is no record, and names the first
// reason on stderr. Contents rather than modification times: an mtime cannot tell an edit made
// during a build (or within the file system's timestamp granularity) from one made before it,
// nor a file restored with an old mtime (tar, rsync -a, cp -p); a hash can, for ~2 MB of reads.
// The inputs are read before tsc starts, so an edit made while it runs leaves a record that no
// longer matches and the next start builds again: a stale dist/ is never taken for a fresh one.
//
// Every build is a clean one (dist/ removed first), so a deleted or renamed source cannot linger
// as compiled output: a removed test would still run, a removed module would still import. The
// record is written last, only when tsc succeeds, so an interrupted or failed build is redone.
// Not tsc --incremental: its .tsbuildinfo does not notice outputs deleted under it, and a full
// type check is most of the time anyway.
//
// After tsc the server is bundled into dist/bundle/ (scripts/bundle-server.js says why) when
// rolldown is installed (a development dependency) and the tree has a src/main.ts; the record
// says whether it was, and --if-stale builds again when it should have been and is not there.
// The test files are bundled beside it, into dist/test-bundle/ (scripts/bundle-tests.js says why).
//
// The web dashboard (web/, React + Vite) is built the same way into web/dist/, with its own record
// (web/dist/.build-inputs.json over web/'s files, the dashboard API's contracts it imports, and
// package-lock.json), so an edit to the server does not rebuild the dashboard and the reverse.
// Without Vite (an install without development dependencies) the server is still built, and
// serves a page saying the dashboard was not built.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { BUNDLE_DIR, bundleServer } from "./bundle-server.js";
import { TEST_BUNDLE_DIR, bundleTests } from "./bundle-tests.js";

const RECORD = ".build-inputs.json";
const WEB_DIR = "web";
const RECORD_FORMAT = 1;
const OUT_DIR = "dist";
const SELF = fileURLToPath(import.meta.url);

const { values } = parseArgs({ options: { "if-stale": { type: "boolean" }, root: { type: "string" } } });
const root = resolve(values.root ?? join(SELF, "..", ".."));

/** Directories tsconfig.json compiles, from `include` entries of the form dir/**\/*.ts; null when it says more than that. */
function sourceDirs() {
  let tsconfig;
  try {
    tsconfig = JSON.parse(readFileSync(join(root, "tsconfig.json"), "utf8"));
  } catch {
    return null; // comments or no file: tsc may still build it; we only cannot reason about it
  }
  const options = tsconfig.compilerOptions ?? {};
  const layoutKnown = options.outDir === OUT_DIR && options.rootDir === "." && !tsconfig.files && !tsconfig.exclude && !tsconfig.extends;
  const dirs = (tsconfig.include ?? []).map((pattern) => /^([\w.-]+)\/\*\*\/\*\.ts$/.exec(pattern)?.[1] ?? null);
  return layoutKnown && dirs.length > 0 && !dirs.includes(null) ? dirs : null;
}

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true });
  } catch {
    return out; // a missing directory (a tree without bench/) has no sources
  }
  for (const entry of entries) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) walk(path, out);
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** path → SHA-1 of its contents, or null when absent. Paths use "/" whatever the platform. */
function fingerprint(dirs) {
  const self = relative(root, SELF).split(sep).join("/");
  const bundling = ["bundle-server.js", "bundle-tests.js"].map((name) => relative(root, join(dirname(SELF), name)).split(sep).join("/"));
  const paths = ["tsconfig.json", "package.json", "package-lock.json", ...(self.startsWith("../") ? [] : [self, ...bundling])];
  paths.push(...dirs.flatMap((d) => walk(d, []).sort()));
  const inputs = {};
  for (const path of paths) {
    try {
      inputs[path] = createHash("sha1").update(readFileSync(join(root, path))).digest("hex");
    } catch {
      inputs[path] = null;
    }
  }
  return inputs;
}

/** Why dist/ is not the output of `inputs`, or null when it is. */
function staleness(inputs) {
  if (!existsSync(join(root, OUT_DIR))) return `${OUT_DIR}/ missing`;
  let record;
  try {
    record = JSON.parse(readFileSync(join(root, OUT_DIR, RECORD), "utf8"));
  } catch {
    return "no record of a finished build";
  }
  if (record.format !== RECORD_FORMAT) return "the build record has another format";
  if (bundler() !== null && existsSync(join(root, "src", "main.ts")) && !(record.bundled && existsSync(join(root, OUT_DIR, BUNDLE_DIR, "main.js")))) return "the server bundle is missing";
  if (record.bundled && record.testsBundled !== undefined && !existsSync(join(root, OUT_DIR, TEST_BUNDLE_DIR))) return "the test bundle is missing";
  const reasons = [];
  for (const [path, hash] of Object.entries(inputs)) {
    const before = record.inputs[path];
    if (before === hash) continue;
    reasons.push(before === undefined || before === null ? `${path} added` : hash === null ? `${path} removed` : `${path} changed`);
  }
  for (const path of Object.keys(record.inputs)) if (!(path in inputs) && record.inputs[path] !== null) reasons.push(`${path} removed`);
  if (reasons.length === 0) {
    for (const path of Object.keys(inputs)) {
      if (!path.endsWith(".ts") || path.endsWith(".d.ts")) continue;
      const output = `${OUT_DIR}/${path.slice(0, -".ts".length)}.js`;
      if (!existsSync(join(root, output))) reasons.push(`${output} missing`);
    }
  }
  if (reasons.length === 0) return null;
  return reasons.length === 1 ? reasons[0] : `${reasons[0]} (and ${reasons.length - 1} more)`;
}

/** rolldown's module path as the tree resolves it, or null when it is not installed. */
function bundler() {
  try {
    return createRequire(join(root, "package.json")).resolve("rolldown");
  } catch {
    return null;
  }
}

async function build(inputs) {
  rmSync(join(root, OUT_DIR), { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) return result.status ?? 1;
  const rolldown = bundler();
  const bundled = rolldown !== null && existsSync(join(root, OUT_DIR, "src", "main.js"));
  /** How many test files the test bundle holds (scripts/bundle-tests.js), when it was made. */
  let testsBundled;
  if (bundled) {
    try {
      await bundleServer(join(root, OUT_DIR), await import(pathToFileURL(rolldown).href));
    } catch (err) {
      process.stderr.write(`building: bundling the server failed: ${err?.stack ?? err}\n`);
      return 1;
    }
    try {
      testsBundled = await bundleTests(join(root, OUT_DIR), await import(pathToFileURL(rolldown).href));
    } catch (err) {
      process.stderr.write(`building: bundling the tests failed: ${err?.stack ?? err}\n`);
      return 1;
    }
  }
  if (inputs) {
    const temp = join(root, OUT_DIR, `${RECORD}.${process.pid}`);
    writeFileSync(temp, `${JSON.stringify({ format: RECORD_FORMAT, inputs, bundled, testsBundled }, null, 1)}\n`);
    renameSync(temp, join(root, OUT_DIR, RECORD));
  }
  return 0;
}

/** Every file under web/ but its output, and the contracts it imports. */
function webFingerprint() {
  const paths = ["package-lock.json"];
  const collect = (dir) => {
    let entries;
    try {
      entries = readdirSync(join(root, dir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (path !== `${WEB_DIR}/dist` && entry.name !== "node_modules") collect(path);
      } else paths.push(path);
    }
  };
  collect(WEB_DIR);
  try {
    for (const name of readdirSync(join(root, "src/api/dashboard"))) if (name.endsWith(".contract.ts")) paths.push(`src/api/dashboard/${name}`);
  } catch {
    // no dashboard API in this tree
  }
  const inputs = {};
  for (const path of paths.sort()) inputs[path] = createHash("sha1").update(readFileSync(join(root, path))).digest("hex");
  return inputs;
}

function webStaleness(inputs) {
  let record;
  try {
    record = JSON.parse(readFileSync(join(root, WEB_DIR, "dist", RECORD), "utf8"));
  } catch {
    return "web/: no record of a finished build";
  }
  if (record.format !== RECORD_FORMAT) return "web/: the build record has another format";
  if (!existsSync(join(root, WEB_DIR, "dist", "index.html"))) return "web/dist/index.html missing";
  const changed = [...new Set([...Object.keys(inputs), ...Object.keys(record.inputs)])].filter((path) => inputs[path] !== record.inputs[path]);
  return changed.length === 0 ? null : `${changed[0]} changed${changed.length > 1 ? ` (and ${changed.length - 1} more)` : ""}`;
}

function buildWeb(inputs) {
  let vite;
  try {
    vite = join(dirname(createRequire(join(root, "package.json")).resolve("vite/package.json")), "bin", "vite.js");
  } catch {
    process.stderr.write("building: the dashboard is not built: Vite is not installed (install the development dependencies)\n");
    return 0;
  }
  const result = spawnSync(process.execPath, [vite, "build", "--config", `${WEB_DIR}/vite.config.ts`], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) return result.status ?? 1;
  const temp = join(root, WEB_DIR, "dist", `${RECORD}.${process.pid}`);
  writeFileSync(temp, `${JSON.stringify({ format: RECORD_FORMAT, inputs }, null, 1)}\n`);
  renameSync(temp, join(root, WEB_DIR, "dist", RECORD));
  return 0;
}

const dirs = sourceDirs();
const inputs = dirs ? fingerprint(dirs) : null;
const hasWeb = existsSync(join(root, WEB_DIR, "vite.config.ts"));
const webInputs = hasWeb ? webFingerprint() : null;
let status = 0;
if (values["if-stale"]) {
  const reason = inputs ? staleness(inputs) : "tsconfig.json is not plain JSON with include: [dir/**/*.ts], so freshness cannot be judged";
  if (reason !== null) {
    process.stderr.write(`building: ${reason}\n`);
    status = await build(inputs);
  }
  const webReason = webInputs ? webStaleness(webInputs) : null;
  if (status === 0 && webReason !== null) {
    process.stderr.write(`building the dashboard: ${webReason}\n`);
    status = buildWeb(webInputs);
  }
} else {
  process.stderr.write("building: a clean build was asked for\n");
  status = await build(inputs);
  if (status === 0 && webInputs) status = buildWeb(webInputs);
}
process.exit(status);
