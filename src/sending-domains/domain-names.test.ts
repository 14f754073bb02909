import { test } from "node:test";
import assert from "node:assert/strict";
import { isPosthornError } from "../shared/errors.js";
import { canonicalHostName, parseDomainName, parseReturnPathDomain } from "./domain-names.js";

test("host names are lower-cased, lose the root dot, and IDNs become A-labels", () => {
  const cases: Array<[string, string | null]> = [
    ["Example.COM", "example.com"],
    ["example.com.", "example.com"],
    ["  mail.example.co.uk ", "mail.example.co.uk"],
    ["bücher.example", "xn--bcher-kva.example"],
    ["a-b.example", "a-b.example"],
    ["x".repeat(63) + ".example", "x".repeat(63) + ".example"],
    ["localhost", null],
    ["", null],
    [".", null],
    ["-bad.example", null],
    ["bad-.example", null],
    ["under_score.example", null],
    ["two..dots.example", null],
    ["x".repeat(64) + ".example", null],
    [`${"a.".repeat(127)}com`, null],
    ["192.0.2.1", null],
    ["space d.example", null],
    ["user@example.com", null],
  ];
  for (const [input, expected] of cases) assert.equal(canonicalHostName(input), expected, input);
});

test("a missing or invalid Name is a DOMAIN_INVALID error naming the field", () => {
  for (const input of [undefined, null, 42, "", "not a domain"]) {
    assert.throws(
      () => parseDomainName(input),
      (err) => isPosthornError(err, "DOMAIN_INVALID") && /'Name'/.test(err.message),
    );
  }
});

test("the return-path domain defaults to pm-bounces.<domain> and must be a subdomain of it", () => {
  assert.equal(parseReturnPathDomain(undefined, "example.com"), "pm-bounces.example.com");
  assert.equal(parseReturnPathDomain(null, "example.com"), "pm-bounces.example.com");
  assert.equal(parseReturnPathDomain("  ", "example.com"), "pm-bounces.example.com");
  assert.equal(parseReturnPathDomain("Bounce.Example.com", "example.com"), "bounce.example.com");
  assert.equal(parseReturnPathDomain("a.b.example.com", "example.com"), "a.b.example.com");
  for (const bad of ["example.com", "bounce.example.org", "bounceexample.com", "not valid", 7]) {
    assert.throws(
      () => parseReturnPathDomain(bad, "example.com"),
      (err) => isPosthornError(err, "DOMAIN_INVALID") && /'ReturnPathDomain'/.test(err.message),
      String(bad),
    );
  }
});
