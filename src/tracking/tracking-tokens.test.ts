import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { TrackingTokens, isTrackableUrl, tokenMailbox, tokenOfMailbox, trackingKey } from "./tracking-tokens.js";

const tokens = new TrackingTokens(trackingKey(randomBytes(32)));
const messageId = randomUUID();

test("a token says what was signed, and an open token is short", () => {
  const open = tokens.sign({ kind: "open", messageId });
  assert.equal(open.length, 39);
  assert.deepEqual(tokens.verify(open), { kind: "open", messageId });
  const click = tokens.sign({ kind: "click", messageId, location: "text", url: "https://example.com/a?b=c#d" });
  assert.deepEqual(tokens.verify(click), { kind: "click", messageId, location: "text", url: "https://example.com/a?b=c#d" });
  assert.deepEqual(tokens.verify(tokens.sign({ kind: "unsubscribe", messageId })), { kind: "unsubscribe", messageId });
});

test("a token made for one delivery names it, and no token of the message alone can be turned into one", () => {
  const open = tokens.sign({ kind: "open", messageId, deliveryId: 281_474_976_710_655 });
  assert.equal(open.length, 47);
  assert.deepEqual(tokens.verify(open), { kind: "open", messageId, deliveryId: 281_474_976_710_655 });
  const click = tokens.sign({ kind: "click", messageId, deliveryId: 7, location: "html", url: "https://example.com/x" });
  assert.deepEqual(tokens.verify(click), { kind: "click", messageId, deliveryId: 7, location: "html", url: "https://example.com/x" });
  assert.deepEqual(tokens.verify(tokens.sign({ kind: "unsubscribe", messageId, deliveryId: 12 })), { kind: "unsubscribe", messageId, deliveryId: 12 });
  // The kind byte says whether a delivery follows, and the MAC covers it: flipping it, or cutting
  // the delivery out of a token, makes a token this installation never signed.
  const raw = Buffer.from(open, "base64url");
  const asMessageOnly = Buffer.concat([Buffer.of(1), raw.subarray(1, 17), raw.subarray(23)]).toString("base64url");
  assert.equal(tokens.verify(asMessageOnly), null);
  const flipped = Buffer.from(raw);
  flipped[0] = 1;
  assert.equal(tokens.verify(flipped.toString("base64url")), null);
  const other = Buffer.from(raw);
  other[17] = other[17]! ^ 1;
  assert.equal(tokens.verify(other.toString("base64url")), null, "another delivery's id under the same MAC");
});

test("every single-character change of a token is refused", () => {
  const click = tokens.sign({ kind: "click", messageId, location: "html", url: "https://example.com/" });
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (let i = 0; i < click.length; i++) {
    for (const c of ["A", "z", "-"]) {
      if (click[i] === c) continue;
      assert.equal(tokens.verify(click.slice(0, i) + c + click.slice(i + 1)), null, `position ${i} -> ${c}`);
    }
  }
  assert.ok(alphabet.length === 64);
});

test("cut, lengthened, re-spelt, foreign and malformed tokens are refused", () => {
  const open = tokens.sign({ kind: "open", messageId });
  const foreign = new TrackingTokens(trackingKey(randomBytes(32)));
  for (const bad of [open.slice(0, -1), `${open}A`, `${open}=`, open.replace(/.$/, (c) => (c === "A" ? "B" : "A")), foreign.sign({ kind: "open", messageId }), "", "../../etc", "a".repeat(10_000), "<script>"]) {
    assert.equal(tokens.verify(bad), null, bad.slice(0, 60));
  }
});

test("only absolute http(s) URLs of printable ASCII are trackable", () => {
  for (const ok of ["https://example.com", "http://example.com/a?b=1&c=2#x", "HTTPS://EXAMPLE.COM/"]) assert.equal(isTrackableUrl(ok), true, ok);
  for (const no of ["mailto:a@b.c", "javascript:alert(1)", "//example.com", "/relative", "https://", "https:///x", "data:text/html,x", "https://exa mple.com", "https://example.com/caf\u00e9", `https://example.com/${"a".repeat(2000)}`, "ftp://example.com"]) {
    assert.equal(isTrackableUrl(no), false, no);
  }
});

test("a token's mailbox form survives any letter case and comes back as the same token", () => {
  for (const token of [tokens.sign({ kind: "unsubscribe", messageId }), tokens.sign({ kind: "unsubscribe", messageId, deliveryId: 123_456 })]) {
    const mailbox = tokenMailbox(token);
    assert.match(mailbox, /^unsub\+[a-z2-7]+$/);
    assert.ok(mailbox.length <= 64, "within RFC 5321's local-part limit");
    assert.equal(tokenOfMailbox(mailbox), token);
    assert.equal(tokenOfMailbox(mailbox.toUpperCase()), token);
    assert.deepEqual(tokens.verify(tokenOfMailbox(mailbox)!), tokens.verify(token));
  }
  for (const bad of ["unsub+", "unsub+abc!", "bounce+abc", "unsub+" + "a".repeat(300), "unsub+01"]) assert.equal(tokenOfMailbox(bad), null, bad);
  // A changed letter is a token nobody signed.
  const mailbox = tokenMailbox(tokens.sign({ kind: "unsubscribe", messageId }));
  const changed = mailbox.slice(0, -3) + (mailbox.at(-3) === "a" ? "b" : "a") + mailbox.slice(-2);
  assert.equal(tokens.verify(tokenOfMailbox(changed) ?? ""), null);
});
