import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isAscii } from "node:buffer";
import { simpleParser } from "mailparser";
import { contentNeeds, toSevenBit } from "./seven-bit.js";

const crlf = (s: string) => Buffer.from(s.replace(/\r?\n/g, "\r\n"), "utf8");

function converted(raw: Buffer): Buffer {
  const result = toSevenBit(raw);
  assert.ok("mime" in result, "impossible" in result ? result.impossible : "");
  assert.ok(isAscii(result.mime), "every byte is 7-bit");
  assert.ok(result.mime.toString("latin1").split("\r\n").every((l) => l.length <= 998), "no line above 998 octets");
  return result.mime;
}

describe("contentNeeds", () => {
  it("is null for an all-ASCII message, and tells 8-bit bodies from UTF-8 headers", () => {
    assert.equal(contentNeeds(crlf("Subject: hi\n\nhello\n")), null);
    assert.deepEqual(contentNeeds(crlf("Subject: hi\n\nGrüße\n")), { eightBit: true, utf8Headers: false });
    assert.deepEqual(contentNeeds(crlf("Subject: Grüße\n\nhello\n")), { eightBit: true, utf8Headers: true });
  });
});

describe("toSevenBit", () => {
  it("returns an all-ASCII message as it is", () => {
    const raw = crlf("Subject: hi\n\nhello\n");
    assert.equal(toSevenBit(raw).constructor, Object);
    assert.equal((toSevenBit(raw) as { mime: Buffer }).mime, raw);
  });

  it("re-encodes an 8-bit text body as quoted-printable and says so in Content-Transfer-Encoding", async () => {
    const raw = crlf("From: a@shop.test\nSubject: plain\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGrüße aus Köln\n.\nEnde\n");
    const mime = converted(raw);
    assert.match(mime.toString(), /^Content-Transfer-Encoding: quoted-printable$/m);
    assert.doesNotMatch(mime.toString(), /8bit/);
    assert.equal((await simpleParser(mime)).text, (await simpleParser(raw)).text);
  });

  it("walks multiparts: only the 8-bit parts change, a binary attachment goes base64", async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00, 0x80]);
    const raw = Buffer.concat([
      crlf(
        'From: a@shop.test\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\nContent-Transfer-Encoding: 8bit\n\npreamble ä\n--b1\nContent-Type: text/plain; charset=us-ascii\n\nascii part\n--b1\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n<p>Grüße</p>\n--b1\nContent-Type: image/png\nContent-Disposition: attachment; filename="bild-ü.png"\nContent-Transfer-Encoding: binary\n\n',
      ),
      png,
      crlf("\n--b1--\n"),
    ]);
    const mime = converted(raw);
    const text = mime.toString();
    assert.match(text, /--b1\r\nContent-Type: text\/plain; charset=us-ascii\r\n\r\nascii part\r\n--b1\r\n/, "the ASCII part is untouched");
    const before = await simpleParser(raw);
    const after = await simpleParser(mime);
    assert.equal(after.html, before.html);
    assert.equal(after.text, before.text);
    assert.equal(after.attachments.length, 1);
    assert.deepEqual(after.attachments[0]!.content, png);
    assert.equal(after.attachments[0]!.filename, "bild-ü.png");
  });

  it("writes UTF-8 header fields as encoded words and IDN domains as A-labels", async () => {
    const raw = crlf('From: "Jürgen Müller, Dr." <juergen@bücher.test>\nTo: Zoë <zoe@shop.test>, plain@shop.test\nSubject: Grüße aus Köln — ein ziemlich langer Betreff, der gefaltet werden muss\n\nhello\n');
    const mime = converted(raw);
    const parsed = await simpleParser(mime);
    assert.equal(parsed.subject, "Grüße aus Köln — ein ziemlich langer Betreff, der gefaltet werden muss");
    assert.match(mime.toString(), /<juergen@xn--bcher-kva\.test>/);
    // mailparser shows the A-label as its U-label again.
    assert.deepEqual(parsed.from?.value, [{ address: "juergen@bücher.test", name: "Jürgen Müller, Dr." }]);
    assert.deepEqual(
      (Array.isArray(parsed.to) ? parsed.to[0] : parsed.to)?.value.map((a) => [a.name, a.address]),
      [
        ["Zoë", "zoe@shop.test"],
        ["", "plain@shop.test"],
      ],
    );
    assert.equal(parsed.text?.trim(), "hello");
  });

  it("refuses what only SMTPUTF8 can carry: a UTF-8 local part", () => {
    const result = toSevenBit(crlf("From: a@shop.test\nTo: Zoë <zoë@shop.test>\n\nhello\n"));
    assert.ok("impossible" in result);
    assert.match(result.impossible, /zoë@shop\.test in To needs SMTPUTF8/);
  });
});
