// X-Spam-* headers from authentication verdicts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_SPAM_THRESHOLD, hasSpamHeaders, SPAM_RULES, spamHeaders } from "./spam-headers.js";

const value = (headers: Array<{ Name: string; Value: string }>, name: string): string | undefined => headers.find((h) => h.Name === name)?.Value;

test("everything passes: score 0.0, status No, the informational tests listed and sorted", () => {
  const headers = spamHeaders({ spf: "pass", dkim: "pass", dmarc: "pass" });
  assert.deepEqual(
    headers.map((h) => h.Name),
    ["X-Spam-Checker-Version", "X-Spam-Status", "X-Spam-Score", "X-Spam-Tests"],
  );
  assert.equal(value(headers, "X-Spam-Status"), "No");
  assert.equal(value(headers, "X-Spam-Score"), "0.0");
  assert.equal(value(headers, "X-Spam-Tests"), "DKIM_SIGNED,DKIM_VALID,DMARC_PASS,SPF_PASS");
});

test("SPF fail, unsigned, no DMARC record: 1.0", () => {
  const headers = spamHeaders({ spf: "fail", dkim: "none", dmarc: "none" });
  assert.equal(value(headers, "X-Spam-Score"), "1.0");
  assert.equal(value(headers, "X-Spam-Tests"), "DMARC_MISSING,SPF_FAIL");
  assert.equal(value(headers, "X-Spam-Status"), "No");
});

test("softfail weighs 0.5, a failing DKIM signature 1.0, DMARC fail 2.0", () => {
  assert.equal(value(spamHeaders({ spf: "softfail", dkim: "none", dmarc: "pass" }), "X-Spam-Score"), "0.5");
  const bad = spamHeaders({ spf: "softfail", dkim: "fail", dmarc: "fail" });
  assert.equal(value(bad, "X-Spam-Score"), "3.5");
  assert.equal(value(bad, "X-Spam-Tests"), "DKIM_INVALID,DKIM_SIGNED,DMARC_FAIL,SPF_SOFTFAIL");
});

test("status is Yes when the score reaches the threshold", () => {
  const worst = { spf: "fail", dkim: "fail", dmarc: "fail" };
  assert.equal(value(spamHeaders(worst), "X-Spam-Score"), "4.0");
  assert.equal(value(spamHeaders(worst), "X-Spam-Status"), "No", `default threshold ${DEFAULT_SPAM_THRESHOLD}`);
  assert.equal(value(spamHeaders(worst, 4), "X-Spam-Status"), "Yes");
  assert.equal(value(spamHeaders(worst, 4.1), "X-Spam-Status"), "No");
  assert.equal(value(spamHeaders({ spf: "pass", dkim: "pass", dmarc: "pass" }, 0), "X-Spam-Status"), "Yes");
});

test("result words are matched without case; unknown or empty words fire nothing", () => {
  assert.equal(value(spamHeaders({ spf: " FAIL ", dkim: "Pass", dmarc: "NONE" }), "X-Spam-Tests"), "DKIM_SIGNED,DKIM_VALID,DMARC_MISSING,SPF_FAIL");
  const nothing = spamHeaders({ spf: "", dkim: "whatever", dmarc: undefined as unknown as string });
  assert.equal(value(nothing, "X-Spam-Tests"), "none");
  assert.equal(value(nothing, "X-Spam-Score"), "0.0");
});

test("mailauth's neutral, policy, permerror and temperror words have rules", () => {
  assert.equal(value(spamHeaders({ spf: "neutral", dkim: "neutral", dmarc: "temperror" }), "X-Spam-Tests"), "DKIM_NEUTRAL,DKIM_SIGNED,DMARC_TEMPERROR,SPF_NEUTRAL");
  assert.equal(value(spamHeaders({ spf: "permerror", dkim: "policy", dmarc: "permerror" }), "X-Spam-Score"), "0.8");
  assert.equal(value(spamHeaders({ spf: "temperror", dkim: "permerror", dmarc: "none" }), "X-Spam-Tests"), "DKIM_INVALID,DKIM_SIGNED,DMARC_MISSING,SPF_TEMPERROR");
});

test("the table is data: every rule names a check, words and a finite score; a custom table can be passed", () => {
  for (const rule of SPAM_RULES) {
    assert.ok(["spf", "dkim", "dmarc"].includes(rule.check));
    assert.ok(rule.results.length > 0 && rule.results.every((w) => w === w.toLowerCase()));
    assert.ok(Number.isFinite(rule.score) && /^[A-Z_]+$/.test(rule.test));
  }
  const custom = spamHeaders({ spf: "fail", dkim: "none", dmarc: "none" }, 5, [{ check: "spf", results: ["fail"], test: "MY_SPF", score: 7.25 }]);
  assert.equal(value(custom, "X-Spam-Score"), "7.3");
  assert.equal(value(custom, "X-Spam-Status"), "Yes");
  assert.equal(value(custom, "X-Spam-Tests"), "MY_SPF");
});

test("hasSpamHeaders looks for X-Spam-Status, -Score or -Tests in any case", () => {
  assert.equal(hasSpamHeaders([]), false);
  assert.equal(hasSpamHeaders([{ Name: "X-Spam-Checker-Version", Value: "x" }, { Name: "Received", Value: "y" }]), false);
  assert.equal(hasSpamHeaders([{ Name: "x-spam-score", Value: "1.2" }]), true);
  assert.equal(hasSpamHeaders([{ Name: "X-SPAM-STATUS", Value: "No" }]), true);
  assert.equal(hasSpamHeaders([{ Name: "X-Spam-Tests", Value: "none" }]), true);
  assert.equal(hasSpamHeaders(spamHeaders({ spf: "pass", dkim: "pass", dmarc: "pass" })), true);
});
