import { test } from "node:test";
import assert from "node:assert/strict";
import { composeForDelivery } from "./per-delivery.compose.js";
import { decodePerDelivery, encodePerDelivery, needsPerDelivery } from "../messages/per-delivery.js";
import { PublicDeliveryIds } from "../messages/public-delivery-ids.js";

const tracking = {
  openUrl: () => "https://t.example/o",
  clickUrl: () => "https://t.example/c",
  unsubscribeUrl: () => "https://t.example/u",
  unsubscribeMailto: () => null,
};
const ids = new PublicDeliveryIds(Buffer.alloc(32, 7));
const mime = Buffer.from("CIO-Delivery-ID: 1-stamped-for-the-first-recipient\r\nFrom: a@example.test\r\nSubject: Hi\r\n\r\nBody\r\n");

test("each delivery's copy carries its own CIO-Delivery-ID, replacing any the stored message had", () => {
  const compose = composeForDelivery(tracking, ids);
  const spec = { opens: false, links: "none" as const, unsubscribe: false, deliveryId: true };
  const first = compose(mime, "m1", 41, spec).toString();
  const second = compose(mime, "m1", 42, spec).toString();
  assert.equal([...first.matchAll(/^CIO-Delivery-ID: /gim)].length, 1);
  assert.ok(first.startsWith(`CIO-Delivery-ID: ${ids.format(41)}\r\n`));
  assert.ok(second.startsWith(`CIO-Delivery-ID: ${ids.format(42)}\r\n`));
  assert.equal(ids.parse(ids.format(42)), 42);
  assert.match(first, /\r\nSubject: Hi\r\n\r\nBody\r\n$/, "the rest of the message as it was");
  // Without the flag (Postmark mail to several), no field is added.
  assert.doesNotMatch(compose(Buffer.from("From: a@example.test\r\n\r\nx"), "m1", 41, { opens: false, links: "none", unsubscribe: true }).toString(), /CIO-Delivery-ID/);
});

test("the flag survives storage, and alone makes a message composed per delivery", () => {
  const spec = { opens: false, links: "none" as const, unsubscribe: false, deliveryId: true };
  assert.equal(needsPerDelivery(spec), true);
  assert.deepEqual(decodePerDelivery(encodePerDelivery(spec)), spec);
  assert.deepEqual(decodePerDelivery(encodePerDelivery({ opens: true, links: "none", unsubscribe: false })), { opens: true, links: "none", unsubscribe: false });
  assert.equal(needsPerDelivery({ opens: false, links: "none", unsubscribe: false }), false);
});
