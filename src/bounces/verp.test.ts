import { test } from "node:test";
import assert from "node:assert/strict";
import { parseVerp, verpAddress, verpSecret } from "./verp.js";

const secret = verpSecret(Buffer.alloc(32, 1));

test("a VERP address names its delivery and round-trips", () => {
  const address = verpAddress(123456789, "pm-bounces.example.com", secret);
  assert.match(address, /^bounce\+[0-9a-z]+\.[0-9a-f]{10}@pm-bounces\.example\.com$/);
  assert.deepEqual(parseVerp(address, secret), { deliveryId: 123456789, domain: "pm-bounces.example.com" });
  // Mail systems may change the case of the local part; the address still parses.
  assert.deepEqual(parseVerp(address.toUpperCase(), secret), { deliveryId: 123456789, domain: "pm-bounces.example.com" });
});

test("forged, altered or foreign addresses are refused", () => {
  const address = verpAddress(42, "rp.test", secret);
  const [local, domain] = address.split("@") as [string, string];
  const cases = [
    `bounce+${(43).toString(36)}.${local.split(".")[1]}@${domain}`, // another delivery, same signature
    `${local.slice(0, -1)}${local.endsWith("0") ? "1" : "0"}@${domain}`, // signature altered
    verpAddress(42, "rp.test", verpSecret(Buffer.alloc(32, 2))), // another installation's key
    "postmaster@rp.test",
    "bounce+@rp.test",
    "bounce+zzzzzzzzzzzzzz.0000000000@rp.test",
    "no-at-sign",
  ];
  for (const candidate of cases) assert.equal(parseVerp(candidate, secret), null, candidate);
});
