import { test } from "node:test";
import assert from "node:assert/strict";
import { receivedField } from "./compose.step.js";

const DATE = new Date(Date.UTC(2024, 9, 1, 8, 0, 2));

test("the Received field names the EHLO name, an address literal (IPv6 tagged, IPv4-mapped unwrapped), us, the protocol, the id and the date", () => {
  assert.equal(
    receivedField({ helo: "app.client.test", clientAddress: "192.0.2.1", protocol: "ESMTPSA" }, "smtp.posthorn.test", "m-1", DATE),
    "Received: from app.client.test ([192.0.2.1])\r\n\tby smtp.posthorn.test (Posthorn) with ESMTPSA id m-1;\r\n\tTue, 01 Oct 2024 08:00:02 +0000",
  );
  assert.match(receivedField({ helo: "x", clientAddress: "2001:db8::1", protocol: "ESMTP" }, "h", "i", DATE), /^Received: from x \(\[IPv6:2001:db8::1\]\)/);
  assert.match(receivedField({ helo: "x", clientAddress: "::ffff:10.0.0.1", protocol: "ESMTP" }, "h", "i", DATE), /\(\[10\.0\.0\.1\]\)/);
});

test("an EHLO name cannot break the field: characters outside domain and address-literal syntax are dropped, none becomes 'unknown'", () => {
  assert.match(receivedField({ helo: "evil);(by x", clientAddress: "192.0.2.1", protocol: "SMTP" }, "h", "i", DATE), /^Received: from evilbyx \(/);
  assert.match(receivedField({ helo: "", clientAddress: "192.0.2.1", protocol: "SMTP" }, "h", "i", DATE), /^Received: from unknown \(/);
  assert.match(receivedField({ helo: "[192.0.2.9]", clientAddress: "192.0.2.1", protocol: "SMTP" }, "h", "i", DATE), /^Received: from \[192\.0\.2\.9\] \(/);
});
