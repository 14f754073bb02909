import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import ts from "typescript";
import { CONFIG_FRAGMENTS, CONFIG_KEYS, loadConfig } from "./config.schema.js";
import { composeFragments, configFragment } from "./config.fragment.js";

/** dist/src, where the compiled fragments are, and src/, where their sources are. */
const SRC = resolve(import.meta.dirname, "..");
const SOURCE = resolve(import.meta.dirname, "../../../src");

/** Every compiled <name>.config.js under dist/src: the fragments' files, found, not listed. */
function fragmentFiles(dir = SRC, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) fragmentFiles(path, out);
    else if (entry.name.endsWith(".config.js")) out.push(path);
  }
  return out.sort();
}

test("every fragment's keys are in the composed schema, owned by that fragment", () => {
  let declared = 0;
  for (const fragment of CONFIG_FRAGMENTS) {
    for (const key of Object.keys(fragment.keys)) {
      assert.equal(CONFIG_KEYS.get(key), fragment.name, `${key} of the ${fragment.name} fragment`);
      declared += 1;
    }
  }
  assert.equal(CONFIG_KEYS.size, declared);
});

test("two fragments cannot declare the same key", () => {
  const one = configFragment({ name: "one", keys: { POSTHORN_SHARED: z.string().optional() }, toConfig: () => ({ a: 1 }) });
  const two = configFragment({ name: "two", keys: { POSTHORN_SHARED: z.string().optional() }, toConfig: () => ({ b: 2 }) });
  assert.throws(() => composeFragments([one, two]), /configuration key POSTHORN_SHARED is declared by both the one and the two fragments/);
  assert.equal(composeFragments([one]).owners.get("POSTHORN_SHARED"), "one");
});

test("every <name>.config.ts under src/ is composed, and imports no edge and no other domain", async () => {
  const files = fragmentFiles();
  assert.ok(files.length >= 7, `found ${files.length} fragment files`);
  for (const file of files) {
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const fragments = Object.values(module).filter((v) => typeof v === "object" && v !== null && "keys" in v && "toConfig" in v);
    const name = relative(SRC, file);
    assert.equal(fragments.length, 1, `${name} declares one fragment`);
    assert.ok(CONFIG_FRAGMENTS.includes(fragments[0] as (typeof CONFIG_FRAGMENTS)[number]), `${name}'s fragment is in CONFIG_FRAGMENTS`);

    // Fragments import zod, node:, shared/ and the fragment helpers in config/, nothing else: not
    // Fastify or smtp-server, not another domain's code (DESIGN.md's dependency rule).
    // Read from the .ts source, so that type-only imports count too.
    const source = readFileSync(join(SOURCE, name.replace(/\.js$/, ".ts")), "utf8");
    for (const { fileName: specifier } of ts.preProcessFile(source).importedFiles) {
      if (specifier === "zod" || specifier.startsWith("node:")) continue;
      const target = relative(SRC, resolve(join(file, ".."), specifier));
      assert.ok(/^(shared\/|config\/config\.fragment\.js$|config\/process\.config\.js$)/.test(target), `${name} imports ${specifier}`);
    }
  }
});

test("defaults built on the process-wide host name: the inbound and return-path domains", () => {
  const config = loadConfig({ POSTHORN_HOSTNAME: "MX.Example.com" });
  assert.equal(config.inbound.domain, "inbound.mx.example.com");
  assert.equal(config.envelope.returnPathDomain, "mx.example.com");
  assert.equal(loadConfig({ POSTHORN_HOSTNAME: "mx.example.com", POSTHORN_RETURN_PATH_DOMAIN: "RP.Example.org" }).envelope.returnPathDomain, "rp.example.org");
});
