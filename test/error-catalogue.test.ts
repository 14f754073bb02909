// Every coded error is documented in docs/errors.md, and every one the Postmark API can raise has
// a row in its mapping table (so no domain error reaches a client as a bare 500). The errors files
// are found by walking dist/src, so a new one cannot be left out.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { errorCatalogue, PosthornError } from "../src/shared/errors.js";
import { toPostmarkError } from "../src/api/postmark/postmark.errors.js";
import { mappedErrorCodes } from "../src/smtp/smtp.errors-map.js";
import { toCustomerIoError } from "../src/api/customerio/customerio.errors.js";
import { DASHBOARD_STATUS } from "../src/api/dashboard/dashboard.edge-errors.js";

/** dist/src: the compiled code whose errors files are found here, not listed. */
const SRC = resolve(import.meta.dirname, "../src");
/** How the tree names a file of error definitions: x.errors.ts, x.edge-errors.ts (x-errors.ts would fit too). */
const ERRORS_FILE = /[.-]errors\.js$/;

function compiledFiles(dir = SRC, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) compiledFiles(path, out);
    else if (entry.name.endsWith(".js") && !entry.name.endsWith(".test.js")) out.push(path);
  }
  return out.sort();
}

const errorsFiles = compiledFiles().filter((f) => ERRORS_FILE.test(f));

before(async () => {
  // Importing the modules registers their codes in the catalogue.
  for (const file of errorsFiles) await import(pathToFileURL(file).href);
});

test("codes are defined only in errors files, so importing those registers every code", () => {
  const elsewhere = compiledFiles()
    .filter((f) => !ERRORS_FILE.test(f) && f !== join(SRC, "shared/errors.js"))
    .filter((f) => /\bdefineError\(/.test(readFileSync(f, "utf8")))
    .map((f) => relative(SRC, f));
  assert.deepEqual(elsewhere, []);
  // A walk that went astray (a moved dist/) would find nothing and prove nothing.
  assert.ok(errorsFiles.some((f) => f.endsWith("messages.errors.js")), `errors files found: ${errorsFiles.map((f) => relative(SRC, f)).join(", ")}`);
});

const CLI_ONLY = new Set(["WORKSPACE_NOT_FOUND", "WORKSPACE_EXISTS", "WORKSPACE_NAME_INVALID"]);
/** Codes only the Track API edge raises: it answers them in Customer.io's form (checked below), never Postmark's. */
const TRACK_ONLY = /^TRACK_/;
/** Codes of domains the Postmark API never calls (people, segments, journeys, broadcasts, outreach mail, Liquid, exports, the App API: the Customer.io and Segment-spec edges map them). */
const NOT_POSTMARK = /^(PEOPLE|SEGMENT|APP|JOURNEY|BROADCAST|OUTREACH|TRANSACTIONAL|LIQUID|EXPORT)_/;

/** Codes of dashboard users and the dashboard API: answered in its own form (dashboard.edge-errors.ts), never Postmark's. */
const DASHBOARD_ONLY = new Set(["USER_INVALID", "USER_EXISTS", "USER_NOT_FOUND", "SIGN_IN_FAILED", "SIGN_IN_THROTTLED", "SESSION_REQUIRED", "CSRF_FAILED", "NOT_PERMITTED", "DASHBOARD_REQUEST_INVALID", "DASHBOARD_NOT_FOUND", "TOKEN_NOT_FOUND", "TOKEN_LAST_SERVER"]);

test("every dashboard code has its own status in the dashboard API's table", () => {
  for (const code of DASHBOARD_ONLY) assert.ok(DASHBOARD_STATUS[code] !== undefined, `${code} has no dashboard status`);
  const defined = new Set(errorCatalogue().map((e) => e.code));
  for (const code of DASHBOARD_ONLY) assert.ok(defined.has(code), `${code} is not defined`);
});

test("docs/errors.md lists every error code", () => {
  const doc = readFileSync(resolve(import.meta.dirname, "../../docs/errors.md"), "utf8");
  const missing = errorCatalogue().filter((e) => !doc.includes(`\`${e.code}\``));
  assert.deepEqual(missing.map((e) => e.code), []);
});

test("every error the API can raise maps to a Postmark status and ErrorCode", () => {
  for (const { code } of errorCatalogue()) {
    if (CLI_ONLY.has(code) || TRACK_ONLY.test(code) || NOT_POSTMARK.test(code) || DASHBOARD_ONLY.has(code)) continue;
    const reply = toPostmarkError(new PosthornError(code, "x"));
    assert.notEqual(reply.status, 500, `${code} has no row in the Postmark error table`);
  }
});

test("every code of the Track API edge maps to a Customer.io status other than 500", () => {
  const codes = errorCatalogue().filter((e) => TRACK_ONLY.test(e.code));
  assert.ok(codes.length >= 5, "the Track API's errors file was found");
  for (const { code } of codes) assert.notEqual(toCustomerIoError(new PosthornError(code, "x")).status, 500, code);
});

test("every row of the SMTP reply table names a defined code", () => {
  const defined = new Set(errorCatalogue().map((e) => e.code));
  assert.deepEqual(mappedErrorCodes().filter((code) => !defined.has(code)), []);
});
