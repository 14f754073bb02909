import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { AuthRateLimiter, rateLimitKey } from "./auth.rate-limit.js";

function limiter() {
  const clock = { t: 1_000_000, now() { return this.t; } };
  const policy = { maxFailures: 3, windowMs: 60_000, lockoutMs: 300_000, maxTrackedAddresses: 2 };
  return { clock, limiter: new AuthRateLimiter(clock, policy) };
}

describe("AUTH rate limit per client address", () => {
  test("locks an address out after maxFailures within the window, until the lockout ends", () => {
    const { clock, limiter: l } = limiter();
    assert.equal(l.recordFailure("192.0.2.1"), false);
    assert.equal(l.recordFailure("192.0.2.1"), false);
    assert.equal(l.isLocked("192.0.2.1"), false);
    assert.equal(l.recordFailure("192.0.2.1"), true);
    assert.equal(l.isLocked("192.0.2.1"), true);
    assert.equal(l.isLocked("192.0.2.2"), false);
    clock.t += 299_999;
    assert.equal(l.isLocked("192.0.2.1"), true);
    clock.t += 1;
    assert.equal(l.isLocked("192.0.2.1"), false);
  });

  test("failures older than the window do not count", () => {
    const { clock, limiter: l } = limiter();
    l.recordFailure("192.0.2.1");
    l.recordFailure("192.0.2.1");
    clock.t += 60_000;
    assert.equal(l.recordFailure("192.0.2.1"), false);
    assert.equal(l.isLocked("192.0.2.1"), false);
  });

  test("a success forgets the failures", () => {
    const { limiter: l } = limiter();
    l.recordFailure("192.0.2.1");
    l.recordFailure("192.0.2.1");
    l.recordSuccess("192.0.2.1");
    assert.equal(l.recordFailure("192.0.2.1"), false);
  });

  test("counts IPv6 clients per /64 and IPv4-mapped addresses as IPv4", () => {
    assert.equal(rateLimitKey("2001:db8:1:2:aaaa::1"), rateLimitKey("2001:db8:1:2:bbbb::2"));
    assert.notEqual(rateLimitKey("2001:db8:1:2::1"), rateLimitKey("2001:db8:1:3::1"));
    assert.equal(rateLimitKey("::ffff:192.0.2.1"), "192.0.2.1");
  });

  test("tracks at most maxTrackedAddresses, dropping the least recently failed", () => {
    const { limiter: l } = limiter();
    l.recordFailure("192.0.2.1");
    l.recordFailure("192.0.2.1");
    l.recordFailure("192.0.2.2");
    l.recordFailure("192.0.2.3"); // evicts 192.0.2.1
    assert.equal(l.recordFailure("192.0.2.1"), false);
  });
});
