import { test } from "node:test";
import assert from "node:assert/strict";
import { ERASED_ADDRESS, redactText, redactJsonText, redactValue } from "./redaction.js";

const ADA = "ada@example.com";

test("an address goes in any case, with the display name written beside it", () => {
  assert.equal(redactText(`To: "Lovelace, Ada" <Ada@Example.COM>, bob@example.com`, ADA), `To: <${ERASED_ADDRESS}>, bob@example.com`);
  assert.equal(redactText("Cc: bob@example.com, Ada Lovelace <ada@example.com>", ADA), `Cc: bob@example.com, <${ERASED_ADDRESS}>`);
  assert.equal(redactText("write to ada@example.com today", ADA), `write to ${ERASED_ADDRESS} today`);
  assert.equal(redactText("nothing here", ADA), "nothing here");
});

test("a longer address containing it is not taken for it only by accident of case", () => {
  // A regular expression over the literal address: dots are not wildcards.
  assert.equal(redactText("adaXexample.com", ADA), "adaXexample.com");
});

test("JSON: the name beside the address is emptied, other entries kept", () => {
  const json = JSON.stringify([
    { address: "ADA@example.com", name: "Ada Lovelace" },
    { address: "bob@example.com", name: "Bob" },
  ]);
  assert.deepEqual(JSON.parse(redactJsonText(json, ADA)), [
    { address: ERASED_ADDRESS, name: "" },
    { address: "bob@example.com", name: "Bob" },
  ]);
  const inbound = JSON.stringify({ FromFull: { Email: ADA, Name: "Ada", MailboxHash: "" }, From: ADA, To: `"Ada" <${ADA}>` });
  assert.deepEqual(JSON.parse(redactJsonText(inbound, ADA)), { FromFull: { Email: ERASED_ADDRESS, Name: "", MailboxHash: "" }, From: ERASED_ADDRESS, To: `<${ERASED_ADDRESS}>` });
});

test("bytes keep every byte around the address", () => {
  const mime = Buffer.concat([Buffer.from("To: Ada <ada@example.com>\r\n\r\n"), Buffer.from([0xe9, 0x00, 0xff])]);
  const out = redactValue(mime, ADA) as Buffer;
  assert.ok(Buffer.isBuffer(out));
  assert.deepEqual(out, Buffer.concat([Buffer.from(`To: <${ERASED_ADDRESS}>\r\n\r\n`), Buffer.from([0xe9, 0x00, 0xff])]));
});
