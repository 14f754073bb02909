// The X-Spam-* headers of an inbound payload, derived from authentication results only.
//
// Postmark runs every inbound message through SpamAssassin and passes the verdict on as headers
// at the top of `Headers`. Posthorn runs no content filter, so it scores what it does know, the
// SPF, DKIM and DMARC verdicts of the receiving MTA, with the rule table below (data, so weights
// can be tuned without touching code). Rule names follow SpamAssassin's where it has one
// (SPF_FAIL, DKIM_INVALID, DKIM_VALID, ...) so that consumers matching on them keep working.
//
// Choices where Postmark's behaviour is observed, not documented (from real payloads published
// with client libraries, 2013-2015):
// - `X-Spam-Status` is the bare word "Yes" or "No", not SpamAssassin's long form
//   ("No, score=... required=... tests=..."): Postmark sends the bare word, and consumers compare
//   it with `=== "Yes"`. The score and the tests travel in their own headers.
// - `X-Spam-Score` has one decimal ("-0.8", "2.4"), as SpamAssassin's _SCORE_ tag.
// - `X-Spam-Tests` is a comma-separated list without spaces, sorted, as SpamAssassin's
//   _TESTS(,)_ tag; when no rule fired it is "none", the word SpamAssassin uses.
// - `X-Spam-Checker-Version` comes first, as in Postmark's payloads; it names Posthorn so that
//   nobody mistakes these headers for a content filter's.
// - Status is "Yes" when the score reaches the threshold (SpamAssassin: score >= required).
//
// Caution for callers: X-Spam-* headers already in a message may have been written by the
// sender. Keep them (hasSpamHeaders) only when the mail came through a relay that sets them and
// that you trust; SpamAssassin itself replaces any it finds.

/** Authentication result words (mailauth's): pass|fail|softfail|neutral|none|temperror|permerror|policy. */
export interface AuthVerdicts {
  spf: string;
  dkim: string;
  dmarc: string;
}

export interface SpamRule {
  /** Which verdict the rule looks at. */
  check: keyof AuthVerdicts;
  /** The result words that make it fire (lower case). */
  results: readonly string[];
  /** The test name listed in X-Spam-Tests. */
  test: string;
  /** Added to the score when the rule fires. */
  score: number;
}

/**
 * The scoring table. Zero-score rules are informational, like SpamAssassin's SPF_PASS and
 * DKIM_VALID, and are listed in X-Spam-Tests all the same. With these weights the worst case
 * (SPF fail, DKIM fail, DMARC fail) scores 4.0, under the default threshold of 5: failed
 * authentication alone does not mark a message as spam unless the workspace lowers its threshold.
 */
export const SPAM_RULES: readonly SpamRule[] = [
  { check: "spf", results: ["pass"], test: "SPF_PASS", score: 0 },
  { check: "spf", results: ["fail"], test: "SPF_FAIL", score: 1.0 },
  { check: "spf", results: ["softfail"], test: "SPF_SOFTFAIL", score: 0.5 },
  { check: "spf", results: ["neutral"], test: "SPF_NEUTRAL", score: 0.3 },
  { check: "spf", results: ["none"], test: "SPF_NONE", score: 0 },
  // A broken SPF record is the sender's fault; a DNS timeout is more likely ours.
  { check: "spf", results: ["permerror"], test: "SPF_PERMERROR", score: 0.3 },
  { check: "spf", results: ["temperror"], test: "SPF_TEMPERROR", score: 0 },
  // Any signature at all, whatever its outcome (SpamAssassin's DKIM_SIGNED).
  { check: "dkim", results: ["pass", "fail", "neutral", "policy", "permerror", "temperror"], test: "DKIM_SIGNED", score: 0 },
  { check: "dkim", results: ["pass"], test: "DKIM_VALID", score: 0 },
  // permerror is a malformed signature, as bad as one that does not verify.
  { check: "dkim", results: ["fail", "permerror"], test: "DKIM_INVALID", score: 1.0 },
  // mailauth says neutral for a body hash mismatch, a missing key or an expired signature.
  { check: "dkim", results: ["neutral"], test: "DKIM_NEUTRAL", score: 0.5 },
  // mailauth says policy for a key shorter than it accepts.
  { check: "dkim", results: ["policy"], test: "DKIM_POLICY", score: 0.5 },
  { check: "dkim", results: ["temperror"], test: "DKIM_TEMPERROR", score: 0 },
  { check: "dmarc", results: ["pass"], test: "DMARC_PASS", score: 0 },
  { check: "dmarc", results: ["fail"], test: "DMARC_FAIL", score: 2.0 },
  { check: "dmarc", results: ["none"], test: "DMARC_MISSING", score: 0 },
  { check: "dmarc", results: ["permerror"], test: "DMARC_PERMERROR", score: 0 },
  { check: "dmarc", results: ["temperror"], test: "DMARC_TEMPERROR", score: 0 },
];

export const DEFAULT_SPAM_THRESHOLD = 5;

/** The names of the spam headers Postmark's payload carries. */
const SPAM_HEADER_NAMES = new Set(["x-spam-status", "x-spam-score", "x-spam-tests"]);

/**
 * The X-Spam-* header values derived only from authentication results: the score is the sum of
 * the weights of the rules that fired, the tests their names, the status "Yes" when the score
 * reaches the threshold.
 */
export function spamHeaders(verdicts: AuthVerdicts, threshold: number = DEFAULT_SPAM_THRESHOLD, rules: readonly SpamRule[] = SPAM_RULES): Array<{ Name: string; Value: string }> {
  const fired = new Set<string>();
  let score = 0;
  for (const rule of rules) {
    const word = String(verdicts[rule.check] ?? "").trim().toLowerCase();
    if (!rule.results.includes(word)) continue;
    fired.add(rule.test);
    score += rule.score;
  }
  // Rounded before the comparison so that the status agrees with the score shown.
  const shown = score.toFixed(1);
  const tests = [...fired].sort();
  return [
    { Name: "X-Spam-Checker-Version", Value: "Posthorn (authentication results only)" },
    { Name: "X-Spam-Status", Value: Number(shown) >= threshold ? "Yes" : "No" },
    { Name: "X-Spam-Score", Value: shown },
    { Name: "X-Spam-Tests", Value: tests.length > 0 ? tests.join(",") : "none" },
  ];
}

/** True when the headers already hold any of X-Spam-Status, X-Spam-Score or X-Spam-Tests (names compared without case). */
export function hasSpamHeaders(headers: ReadonlyArray<{ Name: string; Value?: string }>): boolean {
  return headers.some((h) => SPAM_HEADER_NAMES.has(h.Name.trim().toLowerCase()));
}
