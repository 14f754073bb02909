// scripts/build.js --if-stale (what `npm start` and `npm test` run first) builds exactly when dist/
// is not the output of the sources as they are. It runs here against a tiny tree in a temporary
// directory: the suite itself runs from the real dist/, which a test must never rebuild or remove.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tempDir } from "./support/server.js";

const BUILD_JS = resolve(import.meta.dirname, "../../scripts/build.js");

const TSCONFIG = {
  // No @types/node and the smallest lib: tsc on this tree takes well under a second.
  compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES5"], types: [], strict: true, outDir: "dist", rootDir: "." },
  include: ["src/**/*.ts", "test/**/*.ts"],
};

describe("building only when the sources changed", () => {
  const dir = tempDir("posthorn-build-");
  const root = dir.path;
  const write = (path: string, text: string) => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const build = (...args: string[]) => {
    const result = spawnSync(process.execPath, [BUILD_JS, "--root", root, ...args], { encoding: "utf8" });
    return { code: result.status, stderr: result.stderr, output: result.stdout + result.stderr };
  };
  /** A file tsc never writes: it survives exactly as long as no clean build runs. */
  const plantSentinel = () => writeFileSync(join(root, "dist", "sentinel"), "");
  const rebuilt = () => !existsSync(join(root, "dist", "sentinel"));

  before(() => {
    write("tsconfig.json", JSON.stringify(TSCONFIG));
    write("package.json", JSON.stringify({ type: "module", private: true }));
    write("src/a.ts", 'export const a: string = "one";\n');
    write("src/b.ts", "export const b = 2;\n");
    write("test/a.test.ts", 'import { a } from "../src/a.js";\nexport const checked = a;\n');
  });
  after(() => dir.remove());

  it("builds when dist/ is missing and says why on stderr", () => {
    const result = build("--if-stale");
    assert.equal(result.code, 0, result.output);
    assert.equal(result.stderr, "building: dist/ missing\n");
    assert.match(readFileSync(join(root, "dist/src/a.js"), "utf8"), /"one"/);
    assert.ok(existsSync(join(root, "dist/test/a.test.js")));
  });

  it("does nothing, silently, when nothing changed; a touched file with the same contents is no change", () => {
    plantSentinel();
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(root, "src/a.ts"), later, later);
    const result = build("--if-stale");
    assert.equal(result.code, 0, result.output);
    assert.equal(result.output, "");
    assert.equal(rebuilt(), false);
  });

  it("rebuilds when a source changes, whatever its modification time says", () => {
    plantSentinel();
    write("src/a.ts", 'export const a: string = "two";\n');
    utimesSync(join(root, "src/a.ts"), new Date(0), new Date(0));
    const result = build("--if-stale");
    assert.equal(result.code, 0, result.output);
    assert.equal(result.stderr, "building: src/a.ts changed\n");
    assert.ok(rebuilt());
    assert.match(readFileSync(join(root, "dist/src/a.js"), "utf8"), /"two"/);
  });

  it("a removed source takes its compiled output with it (the build is a clean one)", () => {
    rmSync(join(root, "src/b.ts"));
    const result = build("--if-stale");
    assert.equal(result.stderr, "building: src/b.ts removed\n");
    assert.equal(existsSync(join(root, "dist/src/b.js")), false);
  });

  it("rebuilds for an added source, a changed tsconfig.json or package.json, and a missing output", () => {
    write("src/c.ts", "export const c = 3;\n");
    assert.equal(build("--if-stale").stderr, "building: src/c.ts added\n");
    write("tsconfig.json", JSON.stringify(TSCONFIG, null, 2));
    write("package.json", JSON.stringify({ type: "module", private: true, version: "1.0.0" }));
    assert.equal(build("--if-stale").stderr, "building: tsconfig.json changed (and 1 more)\n");
    rmSync(join(root, "dist/src/c.js"));
    assert.equal(build("--if-stale").stderr, "building: dist/src/c.js missing\n");
    assert.equal(build("--if-stale").output, "");
  });

  it("a failed build leaves no record, so the next one builds again", () => {
    write("src/a.ts", "export const a: string = 1;\n");
    const failed = build("--if-stale");
    assert.notEqual(failed.code, 0);
    assert.match(failed.output, /TS2322/);
    // tsc emits despite type errors; without a record that output is never taken as fresh.
    const again = build("--if-stale");
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /^building: no record of a finished build\n/);
    write("src/a.ts", 'export const a: string = "three";\n');
    assert.equal(build("--if-stale").code, 0);
    assert.equal(build("--if-stale").output, "");
  });

  it("without --if-stale it always builds from scratch (npm run build)", () => {
    plantSentinel();
    const result = build();
    assert.equal(result.code, 0, result.output);
    assert.equal(result.stderr, "building: a clean build was asked for\n");
    assert.ok(rebuilt());
    assert.equal(build("--if-stale").output, "", "and leaves a record, so a start after it does not build again");
  });
});
