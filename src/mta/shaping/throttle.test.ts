import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseSmtpReply } from "../smtp-client/smtp.session.js";
import { AdaptiveThrottle, throttleKindOf, TokenBucket } from "./throttle.js";

describe("throttle rules", () => {
  // Replies as providers send them (multi-line ones joined by "\n" as parseSmtpReply does).
  const cases: Array<[reply: string, expected: "connections" | "rate" | null]> = [
    ["421 4.7.0 Too many concurrent SMTP connections from this IP address; please try again later.", "connections"],
    ["421 mx.example.test Too many connected clients, try again in a moment", "connections"],
    ["421 4.3.2 Too many connections", "connections"],
    ["452 4.3.2 Connection limit exceeded for your IP", "connections"],
    ["550 5.7.1 Too many connections from your host", "connections"],
    ["421-4.7.28 [192.0.2.1] Our system has detected an unusual rate of\n421-4.7.28 unsolicited mail originating from your IP address. To protect our\n421 4.7.28 users from spam, mail sent from your IP address has been temporarily rate limited. - gsmtp", "rate"],
    ["421-4.7.0 Try again later, closing connection. (EHLO)\n421 4.7.0  https://support.google.com/mail/answer/7720 - gsmtp", "rate"],
    ["451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP reputation.", "rate"],
    ["451 4.7.500 Server busy. Please try again later from [192.0.2.1]. (S77719)", "rate"],
    ["421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1", "rate"],
    ["421 4.7.1 [TS01] Messages from 192.0.2.1 temporarily deferred due to user complaints", "rate"],
    ["450 4.7.1 You are sending too many messages, slow down", "rate"],
    ["451 Rate limit exceeded, try again later", "rate"],
    ["452 4.2.2 throttled: too much mail from your domain", "rate"],
    // Not about our volume: left to the bounce rules and the retry schedule.
    ["451 4.7.1 Greylisted, please try again later", null],
    ["450 4.7.1 <a@b.test>: Recipient address rejected: Greylisting in action, please come back later", null],
    ["452 4.5.3 Too many recipients", null],
    ["421 4.4.2 Idle timeout, closing", null],
    ["451 4.3.0 Temporary failure, try again", null],
    ["554 5.7.9 [TS03] All messages from 192.0.2.1 will be permanently deferred", null],
    ["550 5.1.1 The email account that you tried to reach does not exist.", null],
    ["250 2.0.0 OK rate limited? never mind", null],
  ];
  for (const [text, expected] of cases) {
    it(`${expected ?? "no slow-down"}: ${text.split("\n")[0]!.slice(0, 70)}`, () => {
      assert.equal(throttleKindOf(parseSmtpReply(text))?.kind ?? null, expected);
    });
  }
});

describe("adaptive throttle", () => {
  const settings = { pauseMs: 1_000, maxPauseMs: 4_000, recoveryMessages: 3 };

  it("halves the connections in use once per episode, and grows back by one per recoveryMessages deliveries", () => {
    let now = 0;
    const throttle = new AdaptiveThrottle(() => now, 500);
    assert.equal(throttle.connectionLimit(10), 10);
    assert.ok(throttle.onThrottle("connections", "t", settings, 10, 8));
    assert.equal(throttle.connectionLimit(10), 4, "half of the 8 in use");
    assert.equal(throttle.pausedUntil, null, "too many connections alone does not pause");
    assert.equal(throttle.onThrottle("connections", "t", settings, 10, 7), null, "same episode");
    now = 600;
    throttle.onThrottle("connections", "t", settings, 10, 4);
    assert.equal(throttle.connectionLimit(10), 2);
    for (let i = 0; i < 3; i += 1) throttle.onDelivered(settings, 10);
    assert.equal(throttle.connectionLimit(10), 3);
    for (let i = 0; i < 3 * 7; i += 1) throttle.onDelivered(settings, 10);
    assert.equal(throttle.connectionLimit(10), 10);
    assert.equal(throttle.isNeutral, true);
  });

  it("pauses on a rate-limit reply, longer each time until a message gets through, never below one connection", () => {
    let now = 0;
    const throttle = new AdaptiveThrottle(() => now, 0);
    throttle.onThrottle("rate", "t", settings, 1, 1);
    assert.equal(throttle.connectionLimit(1), 1);
    assert.equal(throttle.pausedUntil, 1_000);
    now = 1_000;
    assert.equal(throttle.pausedUntil, null);
    throttle.onThrottle("rate", "t", settings, 1, 1);
    assert.equal(throttle.pausedUntil, 3_000, "doubled");
    now = 3_000;
    throttle.pause(settings);
    assert.equal(throttle.pauseRemaining(), 4_000, "capped at maxPauseMs");
    now = 7_000;
    throttle.onDelivered(settings, 1);
    throttle.pause(settings);
    assert.equal(throttle.pauseRemaining(), 1_000, "back to the first pause after a delivery");
  });
});

describe("token bucket", () => {
  it("lets a burst through, then spaces messages at the rate, refusing waits beyond the limit", () => {
    let now = 0;
    const bucket = new TokenBucket({ messages: 10, perMs: 1_000, burst: 2 }, () => now);
    assert.equal(bucket.reserve(1_000), 0);
    assert.equal(bucket.reserve(1_000), 0);
    assert.equal(bucket.reserve(1_000), 100);
    assert.equal(bucket.reserve(1_000), 200);
    assert.equal(bucket.reserve(150), null, "would wait 300 ms");
    now = 300;
    assert.equal(bucket.reserve(1_000), 0);
    now = 10_000;
    bucket.setRate({ messages: 1, perMs: 1_000, burst: 1 });
    assert.equal(bucket.reserve(5_000), 0);
    assert.equal(bucket.reserve(5_000), 1_000);
  });
});
