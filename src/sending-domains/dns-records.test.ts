import { test } from "node:test";
import assert from "node:assert/strict";
import { dmarcRecord, parseTagList, publishesDkimKey, spfIncludesMechanism, spfMechanism, spfRecord } from "./dns-records.js";
import { dkimTxtValue, ed25519SelectorFor, nextSelector } from "./dkim-keys.js";

test("the SPF mechanism names the server's host, or the configured include host", () => {
  assert.equal(spfMechanism({ hostname: "mta.example.net", spfInclude: null }), "a:mta.example.net");
  assert.equal(spfMechanism({ hostname: "mta.example.net", spfInclude: "_spf.example.net" }), "include:_spf.example.net");
  assert.deepEqual(spfRecord("example.com", { hostname: "mta.example.net", spfInclude: null }), {
    type: "TXT",
    host: "example.com",
    value: "v=spf1 a:mta.example.net ~all",
  });
});

test("SPF is verified only by exactly one policy containing the mechanism with a passing qualifier", () => {
  const m = "a:mta.example.net";
  const cases: Array<[string[], boolean]> = [
    [["v=spf1 a:mta.example.net ~all"], true],
    [["v=spf1 mx +a:MTA.example.net. -all"], true],
    [["google-site-verification=abc", "v=spf1 include:_spf.google.com a:mta.example.net ~all"], true],
    [["V=SPF1 a:mta.example.net -all"], true],
    [["v=spf1 include:_spf.google.com ~all"], false],
    [["v=spf1 -a:mta.example.net ~all"], false],
    [["v=spf1 ~a:mta.example.net ~all"], false],
    [["v=spf1 a:mta.example.net.evil ~all"], false],
    [["v=spf10 a:mta.example.net"], false],
    // Two policies: receivers answer permerror (RFC 7208 §4.5).
    [["v=spf1 a:mta.example.net ~all", "v=spf1 mx ~all"], false],
    [[], false],
  ];
  for (const [records, expected] of cases) assert.equal(spfIncludesMechanism(records, m), expected, records.join(" | "));
});

test("a DKIM key is found by its p= value, ignoring whitespace, with v= and k= checked", () => {
  const p = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA";
  const cases: Array<[string[], "rsa" | "ed25519", boolean]> = [
    [[dkimTxtValue("rsa", p)], "rsa", true],
    [[`k=rsa; p=${p.slice(0, 10)} ${p.slice(10)}`], "rsa", true],
    [[`p=${p}`], "rsa", true], // k defaults to rsa (RFC 6376 §3.6.1)
    [[`v=DKIM1;k=RSA;t=s;p=${p}`], "rsa", true],
    [[`v=DKIM1; k=rsa; p=${p}X`], "rsa", false],
    [[`v=DKIM2; k=rsa; p=${p}`], "rsa", false],
    [[`v=DKIM1; k=ed25519; p=${p}`], "rsa", false],
    [[`v=DKIM1; k=ed25519; p=${p}`], "ed25519", true],
    [[`v=DKIM1; k=rsa; p=`], "rsa", false],
    [["something else", `v=DKIM1; p=${p}`], "rsa", true],
  ];
  for (const [records, algorithm, expected] of cases) assert.equal(publishesDkimKey(records, algorithm, p), expected, records.join(" | "));
  assert.deepEqual([...parseTagList(" v = DKIM1 ; p=abc;; x")], [["v", "DKIM1"], ["p", "abc"]]);
});

test("the DMARC suggestion only monitors (p=none)", () => {
  assert.deepEqual(dmarcRecord("example.com"), {
    type: "TXT",
    host: "_dmarc.example.com",
    value: "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com",
  });
});

test("selectors are dated, unique per domain, and the Ed25519 family never collides with the RSA one", () => {
  const day = Date.UTC(2026, 10, 22, 23, 59);
  assert.equal(nextSelector(day, []), "ph20261122");
  assert.equal(nextSelector(day, ["ph20261122"]), "ph20261122-2");
  assert.equal(nextSelector(day, ["ph20261122", "ph20261122-2"]), "ph20261122-3");
  assert.equal(ed25519SelectorFor("ph20261122-2"), "ph20261122-2-ed");
});
