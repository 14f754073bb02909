// The README's configuration table and the composed schema name the same keys.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { CONFIG_KEYS } from "../src/config/config.schema.js";

const README = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");

/** The keys named in the first column of the table under "## Configuration". */
function documentedKeys(): string[] {
  const section = README.split(/^## /m).find((s) => s.startsWith("Configuration\n"));
  assert.ok(section, "README.md has a Configuration section");
  const firstCells = section.split("\n").filter((line) => line.startsWith("| `")).map((line) => line.split("|")[1]!);
  return firstCells.flatMap((cell) => [...cell.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!));
}

test("README.md's configuration table lists every key of the schema", () => {
  const documented = new Set(documentedKeys());
  assert.deepEqual([...CONFIG_KEYS.keys()].filter((key) => !documented.has(key)), []);
});

test("README.md's configuration table lists no key the schema does not have", () => {
  assert.deepEqual(documentedKeys().filter((key) => !CONFIG_KEYS.has(key)), []);
});
