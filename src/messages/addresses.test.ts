import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isPosthornError } from "../shared/errors.js";
import { isValidEmail, parseAddress, parseAddressList } from "./addresses.js";
import { addressKey, domainOf, normalizeEmail } from "../shared/email-address.js";
import type { Address } from "./message.types.js";

const a = (email: string, name = ""): Address => ({ email, name });

describe("parseAddressList accepts what Postmark accepts", () => {
  const cases: Array<[input: string, expected: Address[]]> = [
    ["a@b.com", [a("a@b.com")]],
    ["John Doe <john@example.com>", [a("john@example.com", "John Doe")]],
    ['"Last, First" <a@b.com>, c@d.com', [a("a@b.com", "Last, First"), a("c@d.com")]],
    ["  a@b.com  ,\tc@d.com \r\n", [a("a@b.com"), a("c@d.com")]],
    ["a@b.com,", [a("a@b.com")]],
    ["a@b.com,, ,c@d.com", [a("a@b.com"), a("c@d.com")]],
    ["", []],
    ["   ", []],
    ["<a@b.com>", [a("a@b.com")]],
    ["John Q. Public <jqp@example.com>", [a("jqp@example.com", "John Q. Public")]],
    ["John\r\n   Smith <js@example.com>", [a("js@example.com", "John Smith")]],
    ['"Quote \\" in" <q@example.com>', [a("q@example.com", 'Quote " in')]],
    ['Ana "the" Silva <ana@example.com>', [a("ana@example.com", "Ana the Silva")]],
    ["a@b.com (Ana Silva)", [a("a@b.com", "Ana Silva")]],
    ["Ana (work) <ana@example.com> (ignored)", [a("ana@example.com", "Ana")]],
    ["Ana.Silva+tag@Example.COM", [a("Ana.Silva+tag@example.com")]],
    ['"john doe"@example.com', [a('"john doe"@example.com')]],
    ["o'brien@example.ie", [a("o'brien@example.ie")]],
    ["x@sub-domain.example.co.uk", [a("x@sub-domain.example.co.uk")]],
    ["Zoë Ünïcode <zoe@bücher.de>", [a("zoe@xn--bcher-kva.de", "Zoë Ünïcode")]],
    ["info@例え.jp", [a("info@xn--r8jz45g.jp")]],
    ["x@xn--bcher-kva.de", [a("x@xn--bcher-kva.de")]],
    ["john@example.com <john@example.com>", [a("john@example.com", "john@example.com")]],
    ["a@b.com, \"B\" <b@c.com>, C <c@d.com>", [a("a@b.com"), a("b@c.com", "B"), a("c@d.com", "C")]],
    [`${"l".repeat(64)}@example.com`, [a(`${"l".repeat(64)}@example.com`)]],
    [`x@${"d".repeat(63)}.com`, [a(`x@${"d".repeat(63)}.com`)]],
    // 254 octets exactly
    [`${"l".repeat(64)}@${"d".repeat(63)}.${"d".repeat(63)}.${"d".repeat(57)}.com`, [a(`${"l".repeat(64)}@${"d".repeat(63)}.${"d".repeat(63)}.${"d".repeat(57)}.com`)]],
  ];
  for (const [input, expected] of cases) {
    it(JSON.stringify(input), () => {
      assert.deepEqual(parseAddressList(input, "To"), expected);
    });
  }
});

describe("parseAddressList rejects anything without a valid addr-spec", () => {
  const long = (n: number) => "x".repeat(n);
  const cases: Array<[input: string, quoted: string]> = [
    ["bad", "bad"],
    ["a@b.com, bad", "bad"],
    ["John Smith", "John Smith"],
    ["a@b", "a@b"],
    ["a@localhost", "a@localhost"],
    ["@b.com", "@b.com"],
    ["a@", "a@"],
    ["a@@b.com", "a@@b.com"],
    ["a..b@c.com", "a..b@c.com"],
    [".a@b.com", ".a@b.com"],
    ["a.@b.com", "a.@b.com"],
    ["a b@c.com", "a b@c.com"],
    ["a@-b.com", "a@-b.com"],
    ["a@b-.com", "a@b-.com"],
    ["a@b..com", "a@b..com"],
    ["a@b.com.", "a@b.com."],
    ["a@b_c.com", "a@b_c.com"],
    ["a@1.2.3.4", "a@1.2.3.4"],
    ["a@[192.0.2.1]", "a@[192.0.2.1]"],
    ["jöhn@example.com", "jöhn@example.com"],
    ["a@b.com;c@d.com", "a@b.com;c@d.com"],
    ["John <a@b.com", "John <a@b.com"],
    ["John a@b.com>", "John a@b.com>"],
    ['"unterminated <a@b.com>', '"unterminated <a@b.com>'],
    ["a@b.com (unclosed", "a@b.com (unclosed"],
    ["<a@b.com> trailing", "<a@b.com> trailing"],
    ["<a@b.com> <c@d.com>", "<a@b.com> <c@d.com>"],
    ["Name <>", "Name <>"],
    ["Team: a@b.com;", "Team: a@b.com;"],
    [`${long(65)}@example.com`, `${long(65)}@example.com`],
    [`x@${long(64)}.com`, `x@${long(64)}.com`],
    // 260 octets: each part within its own limit, the whole over 254
    [`${long(64)}@${long(63)}.${long(63)}.${long(63)}.com`, `${long(64)}@${long(63)}.${long(63)}.${long(63)}.com`],
  ];
  for (const [input, quoted] of cases) {
    it(JSON.stringify(input.length > 60 ? input.slice(0, 60) + "…" : input), () => {
      assert.throws(
        () => parseAddressList(input, "To"),
        (err) => isPosthornError(err, "MESSAGE_INVALID") && err.message === `Invalid 'To' address: '${quoted}'.`,
      );
    });
  }

  it("names the field as given", () => {
    assert.throws(() => parseAddressList("nope", "Bcc"), { message: "Invalid 'Bcc' address: 'nope'." });
  });
});

describe("parseAddress", () => {
  it("returns the single mailbox", () => {
    assert.deepEqual(parseAddress("Shop <orders@shop.example>", "From"), a("orders@shop.example", "Shop"));
  });
  it("rejects an empty From the way Postmark words it", () => {
    assert.throws(() => parseAddress("", "From"), { message: "Invalid 'From' address: ''." });
  });
  it("rejects more than one mailbox", () => {
    assert.throws(() => parseAddress("a@b.com, c@d.com", "From"), { message: "Invalid 'From' address: 'a@b.com, c@d.com'." });
  });
});

describe("address helpers", () => {
  const cases: Array<[input: string, domain: string, normalized: string, key: string]> = [
    ["Ana@Example.COM", "example.com", "Ana@example.com", "ana@example.com"],
    ["  ana@example.com  ", "example.com", "ana@example.com", "ana@example.com"],
    ["Ana@BÜCHER.de", "xn--bcher-kva.de", "Ana@xn--bcher-kva.de", "ana@xn--bcher-kva.de"],
    ['"A@B"@Example.com', "example.com", '"A@B"@example.com', '"a@b"@example.com'],
    ["no-at-sign", "", "no-at-sign", "no-at-sign"],
  ];
  for (const [input, domain, normalized, key] of cases) {
    it(`${JSON.stringify(input)}: domain, normalized form and key`, () => {
      assert.equal(domainOf(input), domain);
      assert.equal(normalizeEmail(input), normalized);
      assert.equal(addressKey(input), key);
    });
  }

  it("a Unicode domain and its A-label give the same key", () => {
    assert.equal(addressKey("x@bücher.de"), addressKey("X@XN--BCHER-KVA.DE"));
  });

  it("isValidEmail checks one bare addr-spec", () => {
    assert.equal(isValidEmail("a@b.com"), true);
    assert.equal(isValidEmail("A <a@b.com>"), false);
    assert.equal(isValidEmail("a@b"), false);
  });
});

describe("parsing stays linear on hostile input", () => {
  const hostile = [
    '"'.repeat(200_000),
    "(".repeat(200_000),
    "<".repeat(200_000) + ">",
    "a".repeat(1_000_000) + "@",
    "a.".repeat(300_000) + "@b.com",
    "x@" + "a-".repeat(300_000),
    "a@b.com,".repeat(100_000),
    '"\\'.repeat(200_000),
  ];
  for (const input of hostile) {
    it(`${JSON.stringify(input.slice(0, 12))}… (${input.length} chars) in well under a second`, () => {
      const start = performance.now();
      try {
        parseAddressList(input, "To");
      } catch (err) {
        assert.ok(isPosthornError(err, "MESSAGE_INVALID"));
      }
      assert.ok(performance.now() - start < 500, "took too long");
    });
  }
});
