import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DestinationLimitsError, DestinationLimitsTable, parseLimitsSpec, parseRate, type LimitsSpec } from "./destination-limits.js";
import { SHIPPED_DESTINATION_LIMITS } from "./destination-limits.defaults.js";
import { openDestinationLimits } from "./destination-limits.loader.js";

const shipped = () => new DestinationLimitsTable([parseLimitsSpec(SHIPPED_DESTINATION_LIMITS, "shipped")]);

describe("destination limits: which entry applies", () => {
  const table = shipped();
  const cases: Array<{ domain: string; mx: string[]; entry: string | null; maxConnections: number; perConnection: number }> = [
    { domain: "gmail.com", mx: ["gmail-smtp-in.l.google.com"], entry: "google", maxConnections: 5, perConnection: 50 },
    { domain: "GoogleMail.com", mx: [], entry: "google", maxConnections: 5, perConnection: 50 },
    { domain: "workspace-customer.example", mx: ["aspmx.l.google.com", "alt1.aspmx.l.google.com"], entry: "google", maxConnections: 5, perConnection: 50 },
    { domain: "new-workspace.example", mx: ["smtp.google.com"], entry: "google", maxConnections: 5, perConnection: 50 },
    { domain: "hotmail.com", mx: ["hotmail-com.olc.protection.outlook.com"], entry: "outlook", maxConnections: 5, perConnection: 50 },
    { domain: "contoso.example", mx: ["contoso-example.mail.protection.outlook.com"], entry: "office365", maxConnections: 5, perConnection: 50 },
    { domain: "yahoo.com", mx: ["mta5.am0.yahoodns.net"], entry: "yahoo", maxConnections: 10, perConnection: 20 },
    { domain: "aol.com", mx: ["mx-aol.mail.gm0.yahoodns.net"], entry: "yahoo", maxConnections: 10, perConnection: 20 },
    { domain: "icloud.com", mx: ["mx01.mail.icloud.com"], entry: "apple", maxConnections: 10, perConnection: 5 },
    { domain: "comcast.net", mx: ["mx1a1.comcast.net"], entry: "comcast.net", maxConnections: 25, perConnection: 1000 },
    { domain: "wanadoo.fr", mx: ["smtp-in.orange.fr"], entry: "orange.fr", maxConnections: 3, perConnection: 100 },
    { domain: "example.org", mx: ["mx.example.org"], entry: null, maxConnections: 10, perConnection: 100 },
    // A name that only ends like a provider's MX is not one of its hosts.
    { domain: "fake.example", mx: ["mx.notgoogle.com"], entry: null, maxConnections: 10, perConnection: 100 },
  ];
  for (const c of cases) {
    it(`${c.domain} via ${c.mx.join(",") || "(no MX)"} → ${c.entry ?? "defaults"}`, () => {
      const applied = table.lookup(c.domain, c.mx);
      assert.equal(applied.entry, c.entry);
      assert.equal(applied.limits.maxConnections, c.maxConnections);
      assert.equal(applied.limits.maxMessagesPerConnection, c.perConnection);
    });
  }

  it("requires TLS where an entry says so, and keeps RFC 5321 timeouts by default", () => {
    assert.equal(table.lookup("comcast.net", []).limits.requireTls, true);
    assert.equal(table.lookup("gmail.com", []).limits.requireTls, false);
    assert.deepEqual(table.defaults.timeouts, {
      connectMs: 30_000,
      greetingMs: 300_000,
      mailMs: 300_000,
      rcptMs: 300_000,
      dataInitMs: 120_000,
      dataBlockMs: 180_000,
      dataEndMs: 600_000,
    });
    assert.equal(table.lookup("yahoo.com", []).limits.throttle.pauseMs, 30 * 60_000);
  });
});

describe("destination limits: layers", () => {
  it("merges the operator's entries over the shipped ones field by field, and its defaults under every entry", () => {
    const operator: LimitsSpec = {
      defaults: { maxConnections: 4, messageRate: "600/min", timeouts: { dataEnd: "15m" } },
      destinations: {
        google: { maxMessagesPerConnection: 80 },
        "*.internal.example": { domains: ["*.internal.example"], requireTls: true, messageRate: null },
        partner: { domains: ["partner.example"], mx: ["*.partner-mx.example"], maxConnections: 2, messageBurst: 3, messageRate: "1/s" },
      },
    };
    const table = new DestinationLimitsTable([parseLimitsSpec(SHIPPED_DESTINATION_LIMITS, "shipped"), parseLimitsSpec(operator, "operator")]);
    const google = table.lookup("gmail.com", []).limits;
    assert.equal(google.maxConnections, 5, "shipped value kept");
    assert.equal(google.maxMessagesPerConnection, 80, "operator value");
    assert.deepEqual(google.messageRate, { messages: 600, perMs: 60_000, burst: 10 }, "operator default under the entry");
    assert.equal(google.timeouts.dataEndMs, 15 * 60_000);
    const other = table.lookup("example.org", []);
    assert.equal(other.entry, null);
    assert.equal(other.limits.maxConnections, 4);
    const internal = table.lookup("a.b.internal.example", []);
    assert.equal(internal.entry, "*.internal.example");
    assert.equal(internal.limits.requireTls, true);
    assert.equal(internal.limits.messageRate, null);
    assert.equal(table.lookup("internal.example", []).entry, null, "*. names subdomains only");
    const partner = table.lookup("hosted.example", ["mx2.partner-mx.example"]).limits;
    assert.deepEqual(partner.messageRate, { messages: 1, perMs: 1_000, burst: 3 });
    assert.equal(partner.maxConnections, 2);
  });

  it("prefers an exact domain entry over a wildcard one, and a domain entry over an MX one", () => {
    const table = new DestinationLimitsTable([
      parseLimitsSpec(
        {
          destinations: {
            hosting: { mx: ["*.hosting.example"], maxConnections: 7 },
            wild: { domains: ["*.shop.example"], maxConnections: 3 },
            "big.shop.example": { maxConnections: 9 },
          },
        },
        "test",
      ),
    ]);
    assert.equal(table.lookup("big.shop.example", ["mx.hosting.example"]).entry, "big.shop.example");
    assert.equal(table.lookup("small.shop.example", ["mx.hosting.example"]).entry, "wild");
    assert.equal(table.lookup("other.example", ["mx.hosting.example"]).entry, "hosting");
  });

  const invalid: Array<{ name: string; spec: unknown; problem: RegExp }> = [
    { name: "a misspelt field", spec: { defaults: { maxConnection: 5 } }, problem: /defaults: Unrecognized key.*maxConnection/ },
    { name: "a zero cap", spec: { destinations: { "a.example": { maxConnections: 0 } } }, problem: /destinations\.a\.example\.maxConnections/ },
    { name: "a bad rate", spec: { defaults: { messageRate: "fast" } }, problem: /defaults\.messageRate: "fast" is not a rate/ },
    { name: "a bad duration", spec: { defaults: { timeouts: { rcpt: "soon" } } }, problem: /defaults\.timeouts\.rcpt: "soon" is not a duration/ },
    { name: "a bad pattern", spec: { destinations: { x: { mx: ["mx .example"] } } }, problem: /destinations\.x\.mx\.0: must be a domain name/ },
    { name: "an entry that names nothing", spec: { destinations: { "Big Provider": { maxConnections: 2 } } }, problem: /destinations\.Big Provider: give "domains" or "mx"/ },
    { name: "not an object", spec: [1, 2], problem: /\(top level\)/ },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name} with a clear error`, () => {
      assert.throws(
        () => parseLimitsSpec(c.spec, "limits.json"),
        (err: unknown) => err instanceof DestinationLimitsError && /limits\.json/.test(err.message) && c.problem.test(err.message),
      );
    });
  }

  it("parses rates in seconds, minutes and hours", () => {
    assert.deepEqual(parseRate("50/s"), { messages: 50, perMs: 1_000 });
    assert.deepEqual(parseRate("600 / min"), { messages: 600, perMs: 60_000 });
    assert.deepEqual(parseRate("1000/hour"), { messages: 1000, perMs: 3_600_000 });
    assert.throws(() => parseRate("0/s"));
    assert.throws(() => parseRate("5/week"));
  });
});

describe("destination limits: the operator's file", () => {
  const logged = () => {
    const lines: Array<{ msg: string; obj: object }> = [];
    return { lines, logger: { info: (obj: object, msg: string) => void lines.push({ obj, msg }), warn: (obj: object, msg: string) => void lines.push({ obj, msg }) } };
  };

  it("applies the environment's defaults under the shipped entries when there is no file", () => {
    const source = openDestinationLimits({ file: null, defaults: { maxConnections: 3, maxMessagesPerConnection: 7 } });
    assert.equal(source.current().lookup("example.org", []).limits.maxConnections, 3);
    assert.equal(source.current().lookup("example.org", []).limits.maxMessagesPerConnection, 7);
    assert.equal(source.current().lookup("gmail.com", []).limits.maxConnections, 5);
    source.close();
  });

  it("fails at start on a missing or invalid file, naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "limits-"));
    try {
      assert.throws(() => openDestinationLimits({ file: join(dir, "absent.json") }), /absent\.json:\n {2}- cannot read the file/);
      writeFileSync(join(dir, "bad.json"), "{ not json");
      assert.throws(() => openDestinationLimits({ file: join(dir, "bad.json") }), /bad\.json:\n {2}- not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reloads a changed file, and keeps the limits in force when a new version is invalid", async () => {
    const dir = mkdtempSync(join(tmpdir(), "limits-"));
    const file = join(dir, "destinations.json");
    const { lines, logger } = logged();
    writeFileSync(file, JSON.stringify({ destinations: { "a.example": { maxConnections: 2 } } }));
    const source = openDestinationLimits({ file, logger, pollMs: 20 });
    try {
      assert.equal(source.current().lookup("a.example", []).limits.maxConnections, 2);
      // Written elsewhere and renamed over it, as editors and ConfigMaps do.
      writeFileSync(join(dir, "next.json"), JSON.stringify({ destinations: { "a.example": { maxConnections: 6 } } }));
      renameSync(join(dir, "next.json"), file);
      await until(() => source.current().lookup("a.example", []).limits.maxConnections === 6);
      writeFileSync(file, JSON.stringify({ destinations: { "a.example": { maxConnections: "many" } } }));
      await until(() => lines.some((l) => l.msg.includes("rejected")));
      assert.equal(source.current().lookup("a.example", []).limits.maxConnections, 6, "the last good limits stay");
      const rejected = lines.find((l) => l.msg.includes("rejected"))!.obj as { problems: string[] };
      assert.match(rejected.problems.join("\n"), /destinations\.a\.example\.maxConnections/);
    } finally {
      source.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function until(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
