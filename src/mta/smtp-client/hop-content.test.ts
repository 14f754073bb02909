import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { contentForHop } from "./hop-content.js";
import type { DeliveryJob } from "../mta.types.js";

const raw = Buffer.from("Subject: Grüße\r\n\r\nhi\r\n");
const sevenBit = Buffer.from("Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\r\nhi\r\n");
const job = (over: Partial<DeliveryJob> = {}): DeliveryJob => ({
  domain: "dest.test",
  envelopeFrom: "s@sender.test",
  recipients: ["a@dest.test"],
  raw,
  needs: { eightBit: true, utf8Headers: true },
  sevenBit,
  ...over,
});
const none = { eightBitMime: false, smtpUtf8: false, dsn: false };
const all = { eightBitMime: true, smtpUtf8: true, dsn: false };

describe("contentForHop", () => {
  it("sends the message as accepted, with SMTPUTF8 and BODY=8BITMIME, to a hop that offers them", () => {
    const c = contentForHop(job(), all, "mx.dest.test");
    assert.ok(c.kind === "send");
    assert.equal(c.raw, raw);
    assert.deepEqual([c.options.eightBit, c.options.smtpUtf8], [true, true]);
  });

  it("sends the 7-bit form to a hop that offers neither", () => {
    const c = contentForHop(job(), none, "mx.dest.test");
    assert.ok(c.kind === "send");
    assert.equal(c.raw, sevenBit);
    assert.equal(c.options.eightBit, false);
  });

  it("sends an 8-bit body as it is to a hop with 8BITMIME, when the header is ASCII", () => {
    const c = contentForHop(job({ needs: { eightBit: true, utf8Headers: false } }), { ...none, eightBitMime: true }, "mx.dest.test");
    assert.ok(c.kind === "send");
    assert.equal(c.raw, raw);
    assert.equal(c.options.eightBit, true);
  });

  it("refuses a UTF-8 recipient address to a hop without SMTPUTF8 with 5.6.7, and sends to the others", () => {
    const c = contentForHop(job({ recipients: ["zoë@dest.test", "a@dest.test"] }), none, "mx.dest.test");
    assert.ok(c.kind === "send");
    assert.equal(c.refused.get("zoë@dest.test")?.enhanced, "5.6.7");
    assert.equal(c.refused.has("a@dest.test"), false);
  });

  it("refuses the whole message with 5.6.7 when its header cannot be written in ASCII", () => {
    const c = contentForHop(job({ sevenBit: { impossible: "the address zoë@dest.test in To needs SMTPUTF8 (RFC 6531)" } }), none, "mx.dest.test");
    assert.ok(c.kind === "refused");
    assert.equal(c.reply.code, 550);
    assert.equal(c.reply.enhanced, "5.6.7");
    assert.match(c.reply.text, /does not offer SMTPUTF8/);
  });

  it("leaves an all-ASCII message alone", () => {
    const c = contentForHop(job({ needs: undefined, sevenBit: undefined }), none, "mx.dest.test");
    assert.ok(c.kind === "send");
    assert.equal(c.options.eightBit, false);
  });
});
