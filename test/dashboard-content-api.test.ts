// The dashboard's template and "Streams and tokens" calls over real HTTP against a running server,
// on SQLite and (with TEST_DATABASE_URL) PostgreSQL: templates created, listed, edited, previewed
// with a test model (syntax errors with their line), sent as a test through the one acceptance
// (readable through the Postmark API afterwards) and deleted; streams listed and created;
// credentials made once and working; the sandbox switch seen by the session. And the refusals:
// bad input (400 in the dashboard's error form), a viewer's change (403), another workspace
// (403, or 404 for another workspace's template by id), no session (401).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./support/server.js";
import { serverDatabases } from "./support/stores.js";

const PASSWORD = "correct horse battery staple";
/** Answers are read field by field as each test asserts them; their types are the contracts' business. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

interface Session {
  cookie: string;
  csrf: string;
}

for (const database of serverDatabases()) {
  describe(`dashboard templates and settings API (${database.name})`, () => {
    let server: TestServer;
    let drop: () => Promise<void>;
    let admin: Session;
    let viewer: Session;
    let shop = "";
    let shopToken = "";
    let rival = "";

    const call = async (session: Session | null, method: string, path: string, body?: unknown) => {
      const res = await fetch(server.url + "/api/app" + path, {
        method,
        headers: {
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...(session ? { cookie: session.cookie, "x-csrf-token": session.csrf } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as Json };
    };
    const signIn = async (email: string): Promise<Session> => {
      const res = await fetch(server.url + "/api/app/session", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: PASSWORD }) });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { csrfToken: string };
      return { cookie: (res.headers.get("set-cookie") ?? "").split(";")[0]!, csrf: body.csrfToken };
    };
    const refusedWith = (answer: { status: number; body: Json }, status: number, code: string) => {
      assert.equal(answer.status, status, JSON.stringify(answer.body));
      assert.equal(answer.body.error.code, code, JSON.stringify(answer.body));
      assert.equal(typeof answer.body.error.message, "string");
    };

    before(async () => {
      const db = await database.open();
      drop = db.drop;
      server = await startTestServer(db.env);
      const services = server.app.services;
      const made = await services.workspaces.create("shop", { sandbox: false });
      shop = made.workspace.id;
      shopToken = made.serverToken;
      rival = (await services.workspaces.create("rival", { sandbox: false })).workspace.id;
      await services.users.create({ email: "ann@example.com", password: PASSWORD, role: "admin", workspaces: ["shop"] });
      await services.users.create({ email: "vic@example.com", password: PASSWORD, role: "viewer", workspaces: ["shop"] });
      admin = await signIn("ann@example.com");
      viewer = await signIn("vic@example.com");
    });
    after(async () => {
      await server?.close();
      await drop?.();
    });

    it("refuses every call without a session (401)", async () => {
      refusedWith(await call(null, "GET", `/workspaces/${shop}/templates`), 401, "SESSION_REQUIRED");
      refusedWith(await call(null, "GET", `/workspaces/${shop}/settings`), 401, "SESSION_REQUIRED");
      refusedWith(await call(null, "POST", `/workspaces/${shop}/credentials`, { kind: "server" }), 401, "SESSION_REQUIRED");
    });

    it("creates, lists, reads and edits a template; the kind never changes", async () => {
      const created = await call(admin, "POST", `/workspaces/${shop}/templates`, { name: "Welcome", alias: "welcome", subject: "Hi {{name}}", htmlBody: "<p>Hello {{name}}</p>" });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      assert.equal(created.body.kind, "standard");
      assert.equal(created.body.textBody, null);
      assert.ok(created.body.updatedAt > 0);
      const layout = await call(admin, "POST", `/workspaces/${shop}/templates`, { name: "Base", alias: "base", kind: "layout", htmlBody: "<div>{{{ @content }}}<p>{{company}}</p></div>" });
      assert.equal(layout.status, 200, JSON.stringify(layout.body));

      const list = await call(viewer, "GET", `/workspaces/${shop}/templates`);
      assert.equal(list.status, 200);
      assert.deepEqual(list.body.templates.map((t: { alias: string; kind: string }) => [t.alias, t.kind]).sort(), [["base", "layout"], ["welcome", "standard"]]);
      const layouts = await call(viewer, "GET", `/workspaces/${shop}/templates?kind=layout`);
      assert.deepEqual(layouts.body.templates.map((t: { alias: string }) => t.alias), ["base"]);

      const edited = await call(admin, "PUT", `/workspaces/${shop}/templates/${created.body.id}`, { subject: "Welcome, {{name}}", layoutAlias: "base", textBody: "Hello {{name}}" });
      assert.equal(edited.status, 200, JSON.stringify(edited.body));
      assert.equal(edited.body.subject, "Welcome, {{name}}");
      assert.equal(edited.body.layoutAlias, "base");
      assert.equal(edited.body.htmlBody, "<p>Hello {{name}}</p>", "a field left out stays as it was");
      assert.ok(edited.body.updatedAt > created.body.updatedAt);
      const read = await call(viewer, "GET", `/workspaces/${shop}/templates/${created.body.id}`);
      assert.deepEqual(read.body, edited.body);
    });

    it("previews with the test model inside the layout, reports syntax errors with their line, and suggests a model", async () => {
      const good = await call(viewer, "POST", `/workspaces/${shop}/templates/preview`, {
        subject: "Hi {{name}}",
        htmlBody: "<p>Hello {{name}}</p>",
        textBody: null,
        layoutAlias: "base",
        testModel: { name: "Ada <3", company: "ACME" },
      });
      assert.equal(good.status, 200, JSON.stringify(good.body));
      assert.equal(good.body.allValid, true);
      assert.equal(good.body.subject.rendered, "Hi Ada <3");
      assert.equal(good.body.htmlBody.rendered, "<div><p>Hello Ada &lt;3</p><p>ACME</p></div>", "HTML is escaped and placed in the layout");
      assert.equal(good.body.textBody.rendered, null);
      assert.deepEqual(Object.keys(good.body.suggestedModel).sort(), ["company", "name"]);

      const bad = await call(viewer, "POST", `/workspaces/${shop}/templates/preview`, { subject: "ok", htmlBody: "<p>\n{{#each items}}{{name}}</p>", textBody: "{{ a b }}", testModel: null });
      assert.equal(bad.status, 200);
      assert.equal(bad.body.allValid, false);
      assert.deepEqual(bad.body.htmlBody.errors, [{ message: "The block '{{#each items}}' is never closed.", line: 2, character: 1 }]);
      assert.equal(bad.body.htmlBody.rendered, null);
      assert.equal(bad.body.textBody.valid, false);
      assert.equal(bad.body.subject.rendered, "ok");

      refusedWith(await call(viewer, "POST", `/workspaces/${shop}/templates/preview`, { subject: "s", htmlBody: "x", textBody: null, testModel: [1, 2] }), 400, "DASHBOARD_REQUEST_INVALID");
      refusedWith(await call(viewer, "POST", `/workspaces/${shop}/templates/preview`, { subject: "s", htmlBody: "x", textBody: null, layoutAlias: "nope", testModel: null }), 404, "TEMPLATE_NOT_FOUND");
    });

    it("sends a test of the saved template through acceptance: the Postmark API then shows the rendered message", async () => {
      const welcome = (await call(admin, "GET", `/workspaces/${shop}/templates`)).body.templates.find((t: { alias: string }) => t.alias === "welcome");
      const sent = await call(admin, "POST", `/workspaces/${shop}/templates/${welcome.id}/test`, { from: "team@shop.example", to: "ada@example.org", testModel: { name: "Ada", company: "ACME" } });
      assert.equal(sent.status, 200, JSON.stringify(sent.body));
      assert.deepEqual(sent.body.to, ["ada@example.org"]);
      const details = await fetch(`${server.url}/messages/outbound/${sent.body.messageId}/details`, { headers: { accept: "application/json", "x-postmark-server-token": shopToken } });
      assert.equal(details.status, 200);
      const message = (await details.json()) as { Subject: string; HtmlBody: string };
      assert.equal(message.Subject, "Welcome, Ada");
      assert.match(message.HtmlBody, /<p>Hello Ada<\/p><p>ACME<\/p>/);

      refusedWith(await call(admin, "POST", `/workspaces/${shop}/templates/${welcome.id}/test`, { from: "team@shop.example", to: "not an address" }), 400, "MESSAGE_INVALID");
      refusedWith(await call(admin, "POST", `/workspaces/${shop}/templates/${welcome.id}/test`, { to: "ada@example.org" }), 400, "DASHBOARD_REQUEST_INVALID");
      refusedWith(await call(admin, "POST", `/workspaces/${shop}/templates/${welcome.id}/test`, { from: "team@shop.example", to: "ada@example.org", stream: "inbound" }), 400, "STREAM_NOT_SENDABLE");
      refusedWith(await call(viewer, "POST", `/workspaces/${shop}/templates/${welcome.id}/test`, { from: "team@shop.example", to: "ada@example.org" }), 403, "NOT_PERMITTED");
    });

    it("refuses bad template input, a viewer's changes, and other workspaces' templates", async () => {
      refusedWith(await call(admin, "POST", `/workspaces/${shop}/templates`, { name: 7 }), 400, "DASHBOARD_REQUEST_INVALID");
      refusedWith(await call(admin, "POST", `/workspaces/${shop}/templates`, { name: "n", subject: "s", htmlBody: "{{#items}}x" }), 400, "TEMPLATE_FIELD_INVALID");
      refusedWith(await call(admin, "GET", `/workspaces/${shop}/templates/not-a-number`), 400, "DASHBOARD_REQUEST_INVALID");
      refusedWith(await call(admin, "GET", `/workspaces/${shop}/templates?kind=fancy`), 400, "DASHBOARD_REQUEST_INVALID");
      refusedWith(await call(viewer, "POST", `/workspaces/${shop}/templates`, { name: "v", subject: "s", htmlBody: "x" }), 403, "NOT_PERMITTED");
      const welcome = (await call(admin, "GET", `/workspaces/${shop}/templates`)).body.templates.find((t: { alias: string }) => t.alias === "welcome");
      refusedWith(await call(viewer, "PUT", `/workspaces/${shop}/templates/${welcome.id}`, { name: "mine" }), 403, "NOT_PERMITTED");
      refusedWith(await call(viewer, "DELETE", `/workspaces/${shop}/templates/${welcome.id}`), 403, "NOT_PERMITTED");

      refusedWith(await call(admin, "GET", `/workspaces/${rival}/templates`), 403, "NOT_PERMITTED");
      const theirs = await server.app.services.templates.create(rival, { name: "Theirs", subject: "s", htmlBody: "secret" });
      refusedWith(await call(admin, "GET", `/workspaces/${shop}/templates/${theirs.id}`), 404, "TEMPLATE_NOT_FOUND");
      refusedWith(await call(admin, "PUT", `/workspaces/${shop}/templates/${theirs.id}`, { name: "taken" }), 404, "TEMPLATE_NOT_FOUND");
      refusedWith(await call(admin, "DELETE", `/workspaces/${shop}/templates/${theirs.id}`), 404, "TEMPLATE_NOT_FOUND");
      assert.equal((await server.app.services.templates.get(rival, { id: theirs.id })).name, "Theirs");
    });

    it("deletes a template, but not a layout in use", async () => {
      const templates = (await call(admin, "GET", `/workspaces/${shop}/templates`)).body.templates as Array<{ id: number; alias: string }>;
      const base = templates.find((t) => t.alias === "base")!;
      const welcome = templates.find((t) => t.alias === "welcome")!;
      refusedWith(await call(admin, "DELETE", `/workspaces/${shop}/templates/${base.id}`), 409, "LAYOUT_IN_USE");
      assert.equal((await call(admin, "DELETE", `/workspaces/${shop}/templates/${welcome.id}`)).status, 204);
      refusedWith(await call(admin, "GET", `/workspaces/${shop}/templates/${welcome.id}`), 404, "TEMPLATE_NOT_FOUND");
    });

    it("lists the workspace's streams in our words and creates one; the streams service's rules hold", async () => {
      const settings = await call(viewer, "GET", `/workspaces/${shop}/settings`);
      assert.equal(settings.status, 200);
      assert.deepEqual(settings.body.workspace, { id: shop, name: "shop", sandbox: false });
      assert.deepEqual(settings.body.streams.map((s: { id: string; type: string }) => [s.id, s.type]).sort(), [["broadcast", "broadcast"], ["inbound", "inbound"], ["outbound", "transactional"]]);
      assert.deepEqual(
        settings.body.tokens.map((t: Json) => Object.keys(t).sort().join() + ` ${t.kind} ${t.hint}`),
        [`createdAt,hint,id,kind,stream server ${shopToken.slice(-4)}`],
        "tokens are listed by kind and hint, never with a secret or a hash",
      );

      const created = await call(admin, "POST", `/workspaces/${shop}/streams`, { id: "news", name: "Newsletter", type: "broadcast", trackOpens: true, trackLinks: "html-only" });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      assert.deepEqual([created.body.type, created.body.unsubscribeHandling, created.body.trackOpens, created.body.trackLinks], ["broadcast", "posthorn", true, "html-only"]);
      const again = await call(viewer, "GET", `/workspaces/${shop}/settings`);
      assert.ok(again.body.streams.some((s: { id: string }) => s.id === "news"));

      refusedWith(await call(admin, "POST", `/workspaces/${shop}/streams`, { id: "news", name: "Again", type: "transactional" }), 409, "STREAM_EXISTS");
      refusedWith(await call(admin, "POST", `/workspaces/${shop}/streams`, { id: "Bad ID", name: "x", type: "transactional" }), 400, "STREAM_INVALID");
      refusedWith(await call(admin, "POST", `/workspaces/${shop}/streams`, { id: "in2", name: "x", type: "inbound" }), 409, "INBOUND_STREAM_EXISTS");
      refusedWith(await call(admin, "POST", `/workspaces/${shop}/streams`, { id: "x", name: "x", type: "Transactional" }), 400, "DASHBOARD_REQUEST_INVALID");
      refusedWith(await call(viewer, "POST", `/workspaces/${shop}/streams`, { id: "mine", name: "x", type: "transactional" }), 403, "NOT_PERMITTED");
      refusedWith(await call(admin, "GET", `/workspaces/${rival}/settings`), 403, "NOT_PERMITTED");
      refusedWith(await call(admin, "POST", `/workspaces/${rival}/streams`, { id: "theirs", name: "x", type: "transactional" }), 403, "NOT_PERMITTED");
    });

    it("makes credentials once: a server token that works on the Postmark API, Track API and App API keys", async () => {
      const made = await call(admin, "POST", `/workspaces/${shop}/credentials`, { kind: "server" });
      assert.equal(made.status, 200, JSON.stringify(made.body));
      assert.equal(made.headers.get("cache-control"), "no-store");
      const token = made.body.values[0].value as string;
      const postmark = await fetch(`${server.url}/server`, { headers: { accept: "application/json", "x-postmark-server-token": token } });
      assert.equal(postmark.status, 200);
      assert.equal(((await postmark.json()) as { Name: string }).Name, "shop");

      const track = await call(admin, "POST", `/workspaces/${shop}/credentials`, { kind: "track" });
      assert.equal(track.status, 200);
      const [siteId, apiKey] = track.body.values as Array<{ value: string; secret: boolean }>;
      assert.equal(siteId!.secret, false);
      assert.equal((await server.app.services.workspaces.authenticateTrack(siteId!.value, apiKey!.value))?.id, shop);
      const app = await call(admin, "POST", `/workspaces/${shop}/credentials`, { kind: "app" });
      assert.equal((await server.app.services.workspaces.authenticateAppKey(app.body.values[0].value))?.id, shop);

      const listed = (await call(viewer, "GET", `/workspaces/${shop}/settings`)).body.tokens.map((t: Json) => `${t.kind} ${t.hint}`).sort();
      assert.deepEqual(listed, [`app ${app.body.values[0].value.slice(-4)}`, `app ${track.body.values[3].value.slice(-4)}`, `pipeline ${track.body.values[2].value.slice(-4)}`, `server ${shopToken.slice(-4)}`, `server ${token.slice(-4)}`, `track ${siteId!.value.slice(-4)}`].sort());

      refusedWith(await call(admin, "POST", `/workspaces/${shop}/credentials`, { kind: "root" }), 400, "DASHBOARD_REQUEST_INVALID");
      refusedWith(await call(viewer, "POST", `/workspaces/${shop}/credentials`, { kind: "server" }), 403, "NOT_PERMITTED");
      refusedWith(await call(admin, "POST", `/workspaces/${rival}/credentials`, { kind: "server" }), 403, "NOT_PERMITTED");
      const withoutCsrf = await fetch(`${server.url}/api/app/workspaces/${shop}/credentials`, { method: "POST", headers: { "content-type": "application/json", cookie: admin.cookie }, body: JSON.stringify({ kind: "server" }) });
      assert.equal(withoutCsrf.status, 403);
    });

    it("switches the workspace to sandbox and back; the session's workspace list follows", async () => {
      const switched = await call(admin, "PUT", `/workspaces/${shop}/sandbox`, { sandbox: true });
      assert.equal(switched.status, 200, JSON.stringify(switched.body));
      assert.equal(switched.body.workspace.sandbox, true);
      const session = await call(viewer, "GET", "/session");
      assert.equal(session.body.workspaces.find((w: { id: string }) => w.id === shop).sandbox, true);

      refusedWith(await call(admin, "PUT", `/workspaces/${shop}/sandbox`, { sandbox: "yes" }), 400, "DASHBOARD_REQUEST_INVALID");
      refusedWith(await call(viewer, "PUT", `/workspaces/${shop}/sandbox`, { sandbox: false }), 403, "NOT_PERMITTED");
      refusedWith(await call(admin, "PUT", `/workspaces/${rival}/sandbox`, { sandbox: true }), 403, "NOT_PERMITTED");
      assert.equal((await server.app.services.workspaces.findById(rival))?.sandbox, false);

      assert.equal((await call(admin, "PUT", `/workspaces/${shop}/sandbox`, { sandbox: false })).body.workspace.sandbox, false);
      assert.equal((await call(admin, "GET", "/session")).body.workspaces[0].sandbox, false);
    });
  });
}
