import { test } from "node:test";
import assert from "node:assert/strict";
import { simpleParser } from "mailparser";
import { decodeQuotedPrintable, rewriteTextParts } from "./mime-text-rewrite.js";

const upper = (body: string, kind: string) => (kind === "html" ? body.replace("link", "LINK") : body.replace("text", "TEXT"));

test("each text part is rewritten in its own transfer encoding; attachments, preamble and other bytes stay", async () => {
  const mime = [
    "From: a@b.c",
    'Content-Type: multipart/mixed; boundary="m"',
    "",
    "preamble",
    "--m",
    'Content-Type: multipart/alternative; boundary="a"',
    "",
    "--a",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: base64",
    "",
    Buffer.from("some text ü").toString("base64"),
    "--a",
    "Content-Type: text/html; charset=iso-8859-1",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    "<p>a link caf=E9 and a long line =",
    "continued</p>",
    "--a--",
    "--m",
    'Content-Type: text/plain; name="notes.txt"',
    "Content-Disposition: attachment; filename=\"notes.txt\"",
    "",
    "an attached text link",
    "--m--",
    "epilogue",
  ].join("\r\n");
  const out = rewriteTextParts(Buffer.from(mime, "latin1"), upper);
  const parsed = await simpleParser(out);
  assert.equal(parsed.text?.trim(), "some TEXT ü");
  assert.equal(String(parsed.html).trim(), "<p>a LINK café and a long line continued</p>");
  assert.equal(parsed.attachments[0]?.content.toString(), "an attached text link");
  const text = out.toString("latin1");
  assert.match(text, /\r\n\r\npreamble\r\n--m\r\n/);
  assert.match(text, /--m--\r\nepilogue$/);
});

test("a message with nothing to change comes back as the same bytes", () => {
  const mime = Buffer.from("Content-Type: text/plain\r\n\r\nnothing here\r\n");
  assert.equal(rewriteTextParts(mime, (b) => b), mime);
  const utf16 = Buffer.from("Content-Type: text/plain; charset=utf-16\r\n\r\ntext\r\n");
  assert.equal(rewriteTextParts(utf16, upper), utf16, "a charset that is not ASCII-compatible is left alone");
});

test("quoted-printable decoding keeps malformed escapes as written", () => {
  assert.equal(decodeQuotedPrintable("a=3Db=\r\nc=ZZ=4").toString("latin1"), "a=bc=ZZ=4");
});

test("a 7bit part whose lines grow too long becomes quoted-printable", async () => {
  const mime = Buffer.from("Content-Type: text/html\r\nContent-Transfer-Encoding: 7bit\r\n\r\n<p>link</p>\r\n");
  const out = rewriteTextParts(mime, (body) => body.replace("link", "x".repeat(2000)));
  assert.match(out.toString("latin1"), /Content-Transfer-Encoding: quoted-printable/);
  assert.ok(out.toString("latin1").split("\r\n").every((line) => line.length <= 76 || line.startsWith("Content-")));
  assert.equal(String((await simpleParser(out)).html).trim(), `<p>${"x".repeat(2000)}</p>`);
});
