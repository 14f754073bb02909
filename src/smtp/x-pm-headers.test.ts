// SMTP mail through Postmark's X-PM-* dialect into the real acceptance over SQLite: what is read,
// what is removed, what is stored.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { openTempSqlite } from "../../test/support/stores.js";
import { FROM_RULE_OFF } from "../../test/support/server.js";
import { loadConfig } from "../config/config.schema.js";
import { silentLogger } from "../shared/logger.js";
import { buildContainer, type Container } from "../app/container.js";
import { isPosthornError } from "../shared/errors.js";
import type { Workspace } from "../workspaces/workspaces.service.js";
import type { Store } from "../store/store.js";
import { submissionFromSmtp, type SmtpMessage } from "./x-pm-headers.js";

let store: Store;
let services: Container;
let workspace: Workspace;

before(async () => {
  store = await openTempSqlite();
  services = buildContainer(store, loadConfig({ POSTHORN_HOSTNAME: "mx.posthorn.test", POSTHORN_ENCRYPTION_KEY: "11".repeat(32), ...FROM_RULE_OFF }), silentLogger());
  workspace = (await services.workspaces.create("raw", { sandbox: false })).workspace;
});
after(() => store.close());

/** An SMTP message through the SMTP dialect into acceptance, as the smtp role wires them. */
const acceptRaw = async (into: Workspace, m: SmtpMessage) => services.accept.acceptOne(into, submissionFromSmtp(m));

const message = (headers: string[], body = "Hello.\r\n") => Buffer.from(`${headers.join("\r\n")}\r\n\r\n${body}`);

test("X-PM headers are applied and removed; Posthorn sets Message-ID and Date", async () => {
  const raw = message([
    "From: =?UTF-8?Q?Caf=C3=A9?= <shop@brand.test>",
    "To: Ada <ada@example.test>",
    "Subject: =?UTF-8?Q?R=C3=A9sum=C3=A9?=",
    "Message-ID: <client-chosen@brand.test>",
    "X-PM-Message-Stream: broadcast",
    "X-PM-Tag: welcome",
    "X-PM-Metadata-Order-Id: 42",
    "X-PM-TrackOpens: true",
    "X-PM-TrackLinks: HtmlOnly",
    "X-Other:",
    " folded value",
  ]);
  const accepted = await acceptRaw(workspace, {
    envelopeFrom: "bounces@brand.test",
    recipients: ["ada@example.test", "hidden@example.test", "ADA@example.test"],
    raw,
    notifyFailure: true,
  });
  const row = await services.messages.details(workspace.id, accepted.messageId);
  const mime = row.mime.toString("latin1");
  assert.doesNotMatch(mime, /^X-PM-/im);
  assert.match(mime, new RegExp(`^Message-ID: <${accepted.messageId}@mx\\.posthorn\\.test>\\r$`, "m"));
  assert.doesNotMatch(mime, /client-chosen/);
  assert.match(mime, /^Date: /m);
  assert.match(mime, /^X-Other:\r\n folded value\r\n/m, "other fields pass through byte for byte");
  assert.ok(mime.endsWith("\r\n\r\nHello.\r\n"));
  assert.deepEqual(
    [row.stream, row.tag, row.metadata, row.trackOpens, row.linkTracking, row.failureNotices, row.subject, row.from, row.envelopeFrom],
    ["broadcast", "welcome", { "Order-Id": "42" }, true, "html-only", true, "Résumé", { email: "shop@brand.test", name: "Café" }, "bounces@brand.test"],
  );
  assert.deepEqual(row.bcc, [{ email: "hidden@example.test", name: "" }]);
  const deliveries = await services.messages.deliveries(store.db, accepted.messageId);
  assert.deepEqual(deliveries.map((d) => [d.recipient, d.state]), [["ada@example.test", "queued"], ["hidden@example.test", "queued"]]);
});

test("X-PM-KeepID keeps the client's Message-ID", async () => {
  const accepted = await acceptRaw(workspace, {
    envelopeFrom: "a@brand.test",
    recipients: ["b@example.test"],
    raw: message(["From: a@brand.test", "Message-ID: <mine@brand.test>", "X-PM-KeepID: true"]),
    notifyFailure: false,
  });
  const row = await services.messages.details(workspace.id, accepted.messageId);
  assert.match(row.mime.toString(), /^Message-ID: <mine@brand\.test>\r$/m);
});

test("inactive recipients are recorded as suppressed, even when all of them are", async () => {
  await store.write((trx) => services.suppressions.suppress(trx, { workspaceId: workspace.id, stream: "outbound", email: "gone@example.test", reason: "HardBounce", origin: "Recipient" }));
  const accepted = await acceptRaw(workspace, { envelopeFrom: "a@brand.test", recipients: ["gone@example.test"], raw: message(["From: a@brand.test"]), notifyFailure: false });
  assert.deepEqual(accepted.suppressed, ["gone@example.test"]);
  const deliveries = await services.messages.deliveries(store.db, accepted.messageId);
  assert.deepEqual(deliveries.map((d) => d.state), ["suppressed"]);
  assert.equal((await services.messages.details(workspace.id, accepted.messageId)).state, "finished");
});

test("bad submissions are refused with coded errors and store nothing", async () => {
  const count = async () => (await store.db.selectFrom("messages").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow()).n;
  const before = Number(await count());
  const cases: Array<[string, SmtpMessage]> = [
    ["MESSAGE_INVALID", { envelopeFrom: "a@brand.test", recipients: ["b@example.test"], raw: message(["Subject: no from"]), notifyFailure: false }],
    ["MESSAGE_INVALID", { envelopeFrom: "", recipients: ["b@example.test"], raw: message(["From: a@brand.test"]), notifyFailure: false }],
    ["MESSAGE_INVALID", { envelopeFrom: "a@brand.test", recipients: ["not an address"], raw: message(["From: a@brand.test"]), notifyFailure: false }],
    ["MESSAGE_INVALID", { envelopeFrom: "a@brand.test", recipients: Array.from({ length: 51 }, (_, i) => `r${i}@example.test`), raw: message(["From: a@brand.test"]), notifyFailure: false }],
    ["MESSAGE_INVALID", { envelopeFrom: "a@brand.test", recipients: ["b@example.test"], raw: message(["From: a@brand.test", "X-PM-TrackLinks: always"]), notifyFailure: false }],
    ["STREAM_NOT_FOUND", { envelopeFrom: "a@brand.test", recipients: ["b@example.test"], raw: message(["From: a@brand.test", "X-PM-Message-Stream: nope"]), notifyFailure: false }],
    ["MESSAGE_TOO_LARGE", { envelopeFrom: "a@brand.test", recipients: ["b@example.test"], raw: message(["From: a@brand.test"], "x".repeat(11 * 1024 * 1024)), notifyFailure: false }],
  ];
  for (const [code, submission] of cases) {
    await assert.rejects(acceptRaw(workspace, submission), (err: unknown) => isPosthornError(err, code), code);
  }
  assert.equal(Number(await count()), before);
});

test("a sandboxed workspace records the message as Processed and creates no delivery", async () => {
  const sandboxed = (await services.workspaces.create("raw-sandbox", { sandbox: true })).workspace;
  const accepted = await acceptRaw(sandboxed, { envelopeFrom: "a@brand.test", recipients: ["b@example.test"], raw: message(["From: a@brand.test", "Subject: test"]), notifyFailure: false });
  const row = await services.messages.details(sandboxed.id, accepted.messageId);
  assert.equal(row.state, "sandboxed");
  assert.equal(row.sandboxed, true);
  assert.deepEqual(await services.messages.deliveries(store.db, accepted.messageId), []);
});

test("an SMTP token pair's stream is used, and X-PM-Message-Stream may only repeat it", async () => {
  const submission = (headers: string[]) => ({ envelopeFrom: "a@brand.test", recipients: ["b@example.test"], raw: message(["From: a@brand.test", ...headers]), notifyFailure: false, stream: "broadcast" });
  const accepted = await acceptRaw(workspace, submission([]));
  assert.equal((await services.messages.details(workspace.id, accepted.messageId)).stream, "broadcast");
  await acceptRaw(workspace, submission(["X-PM-Message-Stream: broadcast"]));
  await assert.rejects(acceptRaw(workspace, submission(["X-PM-Message-Stream: outbound"])), (err: unknown) => isPosthornError(err, "STREAM_NOT_SENDABLE"));
});
