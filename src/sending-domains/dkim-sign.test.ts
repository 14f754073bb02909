// Our DKIM signatures (dkim-sign.ts) on the messages that trip canonicalization up — folded and
// repeated header fields, whitespace runs and trailing whitespace, trailing empty lines, an empty
// body, 8-bit bytes — each verified by two verifiers written independently of it: mailauth and,
// where Debian's python3-dkim is installed (CI installs it), dkimpy. RSA and Ed25519 both.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { dkimVerify } from "mailauth/lib/dkim/verify.js";
import { generateDkimKeySet, type DkimKeySet } from "./dkim-keys.js";
import { dkimSignatures, relaxedBody, type DkimKey } from "./dkim-sign.js";
import { dkimpyVerify, findDkimpy } from "./testing/dkimpy.js";

const HEADERS = ["From", "To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "Received"];

const MESSAGES: Record<string, string> = {
  plain: "From: a@brand.test\r\nTo: b@example.test\r\nSubject: hi\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n\r\nhello\r\n",
  "folded and repeated fields, odd spacing": [
    "Received: from one by two; Sun, 22 Nov 2026 10:00:00 +0000",
    "Received: from three\r\n\tby four; Sun, 22 Nov 2026 10:00:01 +0000",
    "From:   \"Brand\"   <a@brand.test>  ",
    "To: b@example.test,\r\n  c@example.test",
    "subject:\tMixed\t  case\t name",
    "Date: Sun, 22 Nov 2026 10:00:00 +0000",
    "",
    "line with  two  spaces   \t",
    "\ttab at start",
    "",
    "",
    "",
  ].join("\r\n"),
  "an empty body": "From: a@brand.test\r\nTo: b@example.test\r\nSubject: empty\r\n\r\n",
  "no line break at the end": "From: a@brand.test\r\nTo: b@example.test\r\nSubject: x\r\n\r\nlast line without CRLF",
  "8-bit bytes": "From: =?UTF-8?Q?Caf=C3=A9?= <a@brand.test>\r\nTo: b@example.test\r\nSubject: Grüße\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln\r\n",
};

describe("DKIM signatures", async () => {
  let set: DkimKeySet;
  const records: Record<string, string> = {};
  const keys = (): DkimKey[] => [
    { domain: "brand.test", selector: set.selector, algorithm: "rsa-sha256", key: createPrivateKey(set.rsa.privateKeyPem) },
    { domain: "brand.test", selector: set.ed25519Selector, algorithm: "ed25519-sha256", key: createPrivateKey(set.ed25519.privateKeyPem) },
  ];
  const resolver = async (name: string, rrtype: string) => {
    const value = records[name.toLowerCase().replace(/\.$/, "")];
    if (rrtype !== "TXT" || value === undefined) throw Object.assign(new Error(`no ${rrtype} for ${name}`), { code: "ENOTFOUND" });
    return [[value]];
  };

  test("set up keys", async () => {
    set = await generateDkimKeySet("ph20261205");
    records[`${set.selector}._domainkey.brand.test`] = `v=DKIM1; k=rsa; p=${set.rsa.publicKey}`;
    records[`${set.ed25519Selector}._domainkey.brand.test`] = `v=DKIM1; k=ed25519; p=${set.ed25519.publicKey}`;
  });

  for (const [name, text] of Object.entries(MESSAGES)) {
    test(`${name}: both signatures verify with mailauth and dkimpy`, async (t) => {
      const raw = Buffer.from(text, "utf8");
      const signed = Buffer.concat([Buffer.from(dkimSignatures(raw, keys(), HEADERS, 1_796_450_000), "latin1"), raw]);
      for (const line of signed.toString("latin1").split("\r\n")) assert.ok(line.length <= 78 || !line.startsWith("DKIM") , `folded: ${line}`);
      const results = (await dkimVerify(signed, { resolver })).results.map((r) => `${r.status.result}:${r.signingDomain}`);
      assert.deepEqual(results, ["pass:brand.test", "pass:brand.test"]);
      const python = findDkimpy();
      if (!python) {
        if (process.env.CI) assert.fail("python3-dkim is not installed (apt-get install -y python3-dkim)");
        t.skip("python3-dkim not installed");
        return;
      }
      assert.deepEqual(dkimpyVerify(python, signed, records).map((r) => [r.algorithm, r.ok]), [["rsa-sha256", true], ["ed25519-sha256", true]]);
      // A changed body fails both.
      const tampered = Buffer.from(signed.toString("latin1").replace(/\r\n\r\n([\s\S]*)$/, "\r\n\r\nchanged\r\n"), "latin1");
      assert.deepEqual(dkimpyVerify(python, tampered, records).map((r) => r.ok), [false, false]);
    });
  }

  test("relaxed body canonicalization (RFC 6376 §3.4.4 and its examples in §3.4.5)", () => {
    const canonical = (s: string) => relaxedBody(Buffer.from(s, "latin1")).toString("latin1");
    assert.equal(canonical(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n");
    assert.equal(canonical(""), "");
    assert.equal(canonical("\r\n\r\n"), "");
    assert.equal(canonical("x"), "x\r\n");
  });
});
