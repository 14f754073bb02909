import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { PublicDeliveryIds } from "./public-delivery-ids.js";

test("a public delivery id names its row only with the MAC of this installation's key", () => {
  const ids = new PublicDeliveryIds(randomBytes(32));
  const shown = ids.format(42);
  assert.match(shown, /^42-[A-Za-z0-9_-]{22}$/);
  assert.equal(ids.parse(shown), 42);
  const mac = shown.slice(3);
  // One character of the MAC changed, always to a different one (a fixed "A" would equal it one time in 64).
  const lastChanged = mac.slice(0, -1) + (mac.endsWith("A") ? "B" : "A");
  for (const forged of ["42", "43-" + mac, `42-${lastChanged}`, `42-${mac}x`, "0-" + mac, "", "-" + mac, `${"9".repeat(17)}-${mac}`]) {
    assert.equal(ids.parse(forged), null, forged);
  }
  assert.equal(new PublicDeliveryIds(randomBytes(32)).parse(shown), null, "another installation's key");
});
