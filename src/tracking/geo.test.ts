import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { geoDatabase, noGeo } from "./geo.js";
import { writeTestMmdb } from "./testing/mmdb-writer.js";

test("a local MaxMind-format database places an address, and only the addresses it covers", async () => {
  const dir = mkdtempSync(join(tmpdir(), "posthorn-geo-"));
  try {
    const path = join(dir, "city.mmdb");
    writeTestMmdb(path, "203.0.113.0/24", {
      country: { iso_code: "NZ", names: { en: "New Zealand" } },
      subdivisions: [{ iso_code: "WGN", names: { en: "Wellington" } }],
      city: { names: { en: "Wellington" } },
      postal: { code: "6011" },
      location: { latitude: { double: -41.28 }, longitude: { double: 174.77 } },
    });
    const geo = geoDatabase(path);
    assert.deepEqual(await geo.lookup("203.0.113.9"), {
      countryIso: "NZ",
      country: "New Zealand",
      regionIso: "WGN",
      region: "Wellington",
      city: "Wellington",
      zip: "6011",
      coords: "-41.28,174.77",
    });
    assert.deepEqual(await geo.lookup("::ffff:203.0.113.200"), await geo.lookup("203.0.113.200"));
    assert.equal(await geo.lookup("198.51.100.1"), null);
    assert.equal(await geo.lookup("not an address"), null);
    assert.equal(await geo.lookup(null), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("without a database there is no place, and a missing file fails at start", async () => {
  assert.equal(await noGeo.lookup("203.0.113.9"), null);
  assert.equal(geoDatabase(null), noGeo);
  assert.throws(() => geoDatabase("/nonexistent/city.mmdb"));
});
