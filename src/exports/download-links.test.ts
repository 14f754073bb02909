import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { DownloadLinks, downloadLinkKey } from "./download-links.js";

const links = new DownloadLinks(downloadLinkKey(Buffer.alloc(32, 7)));
const claim = { workspaceId: "ws_1", exportId: 12, expiresAt: 1_700_000_000 };

test("a signed link verifies to what was signed", () => {
  assert.deepEqual(links.verify(links.sign(claim)), claim);
});

test("a link signed with another key, or changed anywhere, is refused", () => {
  const other = new DownloadLinks(downloadLinkKey(Buffer.alloc(32, 8)));
  assert.equal(links.verify(other.sign(claim)), null);
  const token = links.sign(claim);
  const [body, mac] = token.split(".") as [string, string];
  const forgedBody = Buffer.from(JSON.stringify(["ws_2", 12, 1_700_000_000])).toString("base64url");
  assert.equal(links.verify(`${forgedBody}.${mac}`), null, "another workspace under the same MAC");
  const later = Buffer.from(JSON.stringify(["ws_1", 12, 1_800_000_000])).toString("base64url");
  assert.equal(links.verify(`${later}.${mac}`), null, "a later expiry under the same MAC");
  const flipped = (mac[0] === "A" ? "B" : "A") + mac.slice(1);
  assert.equal(links.verify(`${body}.${flipped}`), null);
  assert.equal(links.verify(body), null);
  assert.equal(links.verify(`${body}.${mac}.x`), null);
  assert.equal(links.verify(""), null);
  assert.equal(links.verify("a".repeat(5_000)), null);
});

test("a well-signed body that is not [workspace, id, expiry] is refused", () => {
  const key = downloadLinkKey(Buffer.alloc(32, 7));
  for (const value of [{ a: 1 }, ["ws", "12", 1], ["ws", 1.5, 1], [1, 2, 3], ["ws", 1]]) {
    const body = Buffer.from(JSON.stringify(value)).toString("base64url");
    const mac = createHmac("sha256", key).update(body).digest().subarray(0, 16).toString("base64url");
    assert.equal(links.verify(`${body}.${mac}`), null, JSON.stringify(value));
  }
});
