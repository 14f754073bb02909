// Every coded error is documented in docs/errors.md, and every one the Postmark API can raise has
// a row in its mapping table (so no domain error reaches a client as a bare 500).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { errorCatalogue, PosthornError } from "../src/shared/errors.js";
import { toPostmarkError } from "../src/api/postmark/postmark.errors.js";
// Importing the modules registers their codes in the catalogue.
import "../src/messages/messages.errors.js";
import "../src/messages/accept.errors.js";
import "../src/workspaces/workspaces.errors.js";
import "../src/api/postmark/postmark.edge-errors.js";
import "../src/sending-domains/sending-domains.errors.js";
import "../src/mta/queue/queue.errors.js";
import "../src/inbound/inbound.errors.js";

const CLI_ONLY = new Set(["WORKSPACE_NOT_FOUND", "WORKSPACE_EXISTS", "WORKSPACE_NAME_INVALID"]);

test("docs/errors.md lists every error code", () => {
  const doc = readFileSync(resolve(import.meta.dirname, "../../docs/errors.md"), "utf8");
  const missing = errorCatalogue().filter((e) => !doc.includes(`\`${e.code}\``));
  assert.deepEqual(missing.map((e) => e.code), []);
});

test("every error the API can raise maps to a Postmark status and ErrorCode", () => {
  for (const { code } of errorCatalogue()) {
    if (CLI_ONLY.has(code)) continue;
    const reply = toPostmarkError(new PosthornError(code, "x"));
    assert.notEqual(reply.status, 500, `${code} has no row in the Postmark error table`);
  }
});
