// Bulk sends (POST /email/bulk, GET /email/bulk/{id}) with the official client: one message per
// recipient, rendered with the recipient's model, counted in the status as the worker goes; the
// request checked whole before it is stored; a kill -9 mid-way repeats and loses no recipient.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { ServerClient } from "postmark";
import { startTestServer, spawnServer, tempDir, MAIN_JS, type TestServer } from "./support/server.js";
import { failure } from "../src/api/postmark/testing/client-failure.js";
import { serverDatabases } from "./support/stores.js";

function client(url: string, token: string): ServerClient {
  return new ServerClient(token, { useHttps: false, requestHost: url.replace(/^http:\/\//, "") });
}

async function completed(api: ServerClient, id: string, timeoutMs = 30_000): Promise<Awaited<ReturnType<ServerClient["getBulkEmailStatus"]>>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const status = await api.getBulkEmailStatus(id);
    if (status.Status === "Completed" || status.Status === "Failed") return status;
    if (Date.now() > until) throw new Error(`bulk send still ${status.Status} at ${status.PercentageCompleted}%`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function allMessages(api: ServerClient): Promise<Array<{ Subject: string; Recipients: string[]; Metadata: Record<string, string> }>> {
  const found: Array<{ Subject: string; Recipients: string[]; Metadata: Record<string, string> }> = [];
  for (let offset = 0; ; offset += 500) {
    const page = await api.getOutboundMessages({ count: 500, offset });
    found.push(...(page.Messages as unknown as typeof found));
    if (page.Messages.length < 500) return found;
  }
}

for (const target of serverDatabases()) describe(`bulk sends (${target.name})`, () => {
  let server: TestServer;
  let api: ServerClient;
  let other: ServerClient;
  let drop: () => Promise<void>;

  before(async () => {
    const database = await target.open();
    drop = database.drop;
    // No MTA: the accepted messages wait in the queue, which is all these tests read.
    server = await startTestServer({ POSTHORN_ROLES: "api,worker", ...database.env });
    assert.equal(server.app.services.store.dialect, target.name);
    api = client(server.url, await server.createWorkspace("acme"));
    other = client(server.url, await server.createWorkspace("other"));
  });

  after(async () => {
    await server.close();
    await drop();
  });

  test("one message per recipient, each rendered with its own model, with the shared and own metadata", async () => {
    const messages = Array.from({ length: 250 }, (_, i) => ({ To: `user${i}@example.test`, TemplateModel: { name: `User ${i}` }, Metadata: { index: String(i) } }));
    const sent = await api.sendBulkEmail({
      From: "news@acme.test",
      Subject: "Hello {{name}}",
      HtmlBody: "<p>Dear {{ name }}</p>",
      TextBody: "Dear {{name}}",
      Metadata: { campaign: "launch" },
      MessageStream: "broadcast",
      Messages: messages,
    });
    assert.equal(sent.Status, "Accepted");
    assert.match(sent.SubmittedAt, /^\d{4}-\d\d-\d\dT/);
    const status = await completed(api, sent.Id);
    assert.equal(status.Status, "Completed");
    assert.equal(status.TotalMessages, 250);
    assert.equal(status.PercentageCompleted, 100);
    assert.equal(status.Subject, "Hello {{name}}");

    const stored = await allMessages(api);
    assert.equal(stored.length, 250);
    const bySubject = new Map(stored.map((m) => [m.Subject, m]));
    for (let i = 0; i < 250; i++) {
      const m = bySubject.get(`Hello User ${i}`);
      assert.ok(m, `no message for recipient ${i}`);
      assert.deepEqual(m.Recipients, [`user${i}@example.test`]);
      assert.deepEqual(m.Metadata, { campaign: "launch", index: String(i) });
    }
  });

  test("the request is checked whole before anything is stored: the first bad recipient is named", async () => {
    const bad = await failure(api.sendBulkEmail({ From: "news@acme.test", Subject: "s", TextBody: "t", Messages: [{ To: "a@example.test" }, { To: "a@example.test" }, { To: "not an address" }] }));
    assert.equal(bad.statusCode, 422);
    assert.equal(bad.code, 300);
    assert.match(bad.message, /^Messages\[2\]: /);

    const none = await failure(api.sendBulkEmail({ From: "news@acme.test", Subject: "s", TextBody: "t", Messages: [] }));
    assert.equal(none.code, 300);
    assert.match(none.message, /Messages/);

    const both = await failure(api.sendBulkEmail({ From: "news@acme.test", Subject: "s", TextBody: "t", TemplateAlias: "welcome", Messages: [{ To: "a@example.test" }] }));
    assert.equal(both.code, 300);

    const noBody = await failure(api.sendBulkEmail({ From: "news@acme.test", Subject: "s", Messages: [{ To: "a@example.test" }] }));
    assert.equal(noBody.code, 300);

    const attachment = await failure(api.sendBulkEmail({ From: "news@acme.test", Subject: "s", TextBody: "t", Attachments: [{ Name: "run.exe", Content: "AA==", ContentType: "application/octet-stream", ContentID: null }], Messages: [{ To: "a@example.test" }] }));
    assert.equal(attachment.code, 411);

    const tooMany = await failure(api.sendBulkEmail({ From: "news@acme.test", Subject: "s", TextBody: "t", Messages: [{ To: Array.from({ length: 51 }, (_, i) => `r${i}@example.test`).join(",") }] }));
    assert.equal(tooMany.code, 300);
    assert.match(tooMany.message, /^Messages\[0\]: Too many recipients/);

    const model = await failure(api.sendBulkEmail({ From: "news@acme.test", Subject: "s", TextBody: "t", Messages: [{ To: "a@example.test", TemplateModel: "x" as unknown as object }] }));
    assert.equal(model.code, 300);

    const stream = await failure(api.sendBulkEmail({ From: "news@acme.test", Subject: "s", TextBody: "t", MessageStream: "nope", Messages: [{ To: "a@example.test" }] }));
    assert.equal(stream.code, 1235);
  });

  test("with a stored template and a layout: each recipient's message rendered from it, CSS inlined", async () => {
    await api.createTemplate({ Name: "Frame", Alias: "frame", TemplateType: "Layout" as never, Subject: "", HtmlBody: "<html><head><style>p { color: red }</style></head><body>{{{ @content }}}</body></html>" } as never);
    await api.createTemplate({ Name: "News", Alias: "news", LayoutTemplate: "frame", Subject: "News for {{name}}", HtmlBody: "<p>Hi {{name}}</p>" } as never);
    const sent = await api.sendBulkEmail({ From: "news@acme.test", TemplateAlias: "news", MessageStream: "broadcast", Messages: [{ To: "t1@example.test", TemplateModel: { name: "Ann" } }, { To: "t2@example.test", TemplateModel: { name: "<Bob>" } }] });
    assert.equal((await completed(api, sent.Id)).Status, "Completed");
    const found = (await allMessages(api)).filter((m) => m.Subject.startsWith("News for"));
    assert.deepEqual(found.map((m) => m.Subject).sort(), ["News for <Bob>", "News for Ann"]);
    const bob = found.find((m) => m.Subject === "News for <Bob>")! as unknown as { MessageID: string };
    const details = await api.getOutboundMessageDetails(bob.MessageID);
    assert.match(details.HtmlBody ?? "", /<p style="color: red;?">Hi &lt;Bob&gt;<\/p>/);

    const unknown = await failure(api.sendBulkEmail({ From: "news@acme.test", TemplateAlias: "nope", Messages: [{ To: "a@example.test" }] }));
    assert.equal(unknown.code, 1101);
    const layout = await failure(api.sendBulkEmail({ From: "news@acme.test", TemplateAlias: "frame", Messages: [{ To: "a@example.test" }] }));
    assert.equal(layout.code, 1123);
    const syntax = await failure(api.sendBulkEmail({ From: "news@acme.test", Subject: "Hi {{#each x}}", TextBody: "t", Messages: [{ To: "a@example.test" }] }));
    assert.equal(syntax.code, 1122);
    assert.match(syntax.message, /^Subject: .*line 1/);
  });

  test("a send's status is its workspace's alone; an unknown id is Postmark's 701", async () => {
    const sent = await api.sendBulkEmail({ From: "news@acme.test", Subject: "s", TextBody: "t", Messages: [{ To: "only@example.test" }] });
    const elsewhere = await failure(other.getBulkEmailStatus(sent.Id));
    assert.equal(elsewhere.statusCode, 422);
    assert.equal(elsewhere.code, 701);
    const unknown = await failure(api.getBulkEmailStatus("00000000-0000-0000-0000-000000000000"));
    assert.equal(unknown.code, 701);
    await completed(api, sent.Id);
  });

  test("the test token validates a bulk request and stores nothing", async () => {
    const test = client(server.url, "POSTMARK_API_TEST");
    const sent = await test.sendBulkEmail({ From: "news@acme.test", Subject: "s", TextBody: "t", Messages: [{ To: "x@example.test" }] });
    assert.equal(sent.Status, "Accepted");
    const bad = await failure(test.sendBulkEmail({ From: "news@acme.test", Subject: "s", TextBody: "t", Messages: [{ To: "nope" }] }));
    assert.equal(bad.code, 300);
  });

  test("a recipient inactive on the stream is counted as handled, and the others are sent", async () => {
    const workspace = await server.app.services.workspaces.get("acme");
    await server.app.services.store.write((trx) => server.app.services.suppressions.suppress(trx, { workspaceId: workspace.id, stream: "outbound", email: "gone@example.test", reason: "ManualSuppression", origin: "Customer" }));
    const sent = await api.sendBulkEmail({ From: "news@acme.test", Subject: "inactive {{n}}", TextBody: "t", Messages: [{ To: "gone@example.test", TemplateModel: { n: 1 } }, { To: "here@example.test", TemplateModel: { n: 2 } }] });
    const status = await completed(api, sent.Id);
    assert.equal(status.Status, "Completed");
    assert.equal(status.PercentageCompleted, 100);
    const subjects = (await allMessages(api)).map((m) => m.Subject).filter((s) => s.startsWith("inactive"));
    assert.deepEqual(subjects, ["inactive 2"]);
  });
});

test("kill -9 while a bulk send is half done, then restart: every recipient gets exactly one message", { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const env = { POSTHORN_DATA_DIR: dir.path, POSTHORN_HTTP_PORT: "0", POSTHORN_HOSTNAME: "bulk.test", POSTHORN_ROLES: "api,worker", POSTHORN_LEASE_DURATION: "2s" };
  const run = (args: string[]) => execFileSync(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", ...env } }).toString().trim();
  try {
    run(["migrate"]);
    const token = run(["workspace", "create", "bulk"]);
    const first = await spawnServer(env);
    const api = client(first.url!, token);
    const total = 6000;
    const sent = await api.sendBulkEmail({ From: "news@bulk.test", Subject: "n{{i}}", TextBody: "x".repeat(500), Messages: Array.from({ length: total }, (_, i) => ({ To: `u${i}@example.test`, TemplateModel: { i } })) });
    for (;;) {
      const status = await api.getBulkEmailStatus(sent.Id);
      if (status.PercentageCompleted > 0) {
        assert.ok(status.PercentageCompleted < 100, "the send finished before the kill: nothing was tested");
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    first.child.kill("SIGKILL");
    await first.exited;

    const second = await spawnServer(env);
    try {
      const again = client(second.url!, token);
      const status = await completed(again, sent.Id, 90_000);
      assert.equal(status.Status, "Completed");
      const subjects = (await allMessages(again)).map((m) => m.Subject);
      assert.equal(subjects.length, total, "a recipient was repeated or lost");
      assert.equal(new Set(subjects).size, total);
    } finally {
      second.child.kill("SIGKILL");
      await second.exited;
    }
  } finally {
    dir.remove();
  }
});
