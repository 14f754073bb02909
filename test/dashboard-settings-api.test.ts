// The dashboard's stream edits and token revocation over real HTTP against a running server, on
// SQLite and (with TEST_DATABASE_URL) PostgreSQL: a stream renamed and described, archived (the
// Postmark API then refuses mail to it in Postmark's form) and unarchived (accepted again), with
// Postmark's rules (default streams are not archived; an archived stream is not edited); a server
// token that works, is revoked and is refused by the very next request; the last server token
// kept. And the refusals: no session (401), bad input (400), a viewer (403), another workspace
// (403), another workspace's token or stream by id (404).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "./support/server.js";
import { serverDatabases } from "./support/stores.js";

const PASSWORD = "correct horse battery staple";
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

interface Session {
  cookie: string;
  csrf: string;
}

for (const database of serverDatabases()) {
  describe(`dashboard stream edits and token revocation (${database.name})`, () => {
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
        headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...(session ? { cookie: session.cookie, "x-csrf-token": session.csrf } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : null) as Json };
    };
    const signIn = async (email: string): Promise<Session> => {
      const res = await fetch(server.url + "/api/app/session", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: PASSWORD }) });
      assert.equal(res.status, 200);
      return { cookie: (res.headers.get("set-cookie") ?? "").split(";")[0]!, csrf: ((await res.json()) as { csrfToken: string }).csrfToken };
    };
    const refusedWith = (answer: { status: number; body: Json }, status: number, code: string) => {
      assert.equal(answer.status, status, JSON.stringify(answer.body));
      assert.equal(answer.body.error.code, code, JSON.stringify(answer.body));
    };
    /** A message through the Postmark API with a server token: its status and body. */
    const send = async (token: string, stream: string) => {
      const res = await fetch(`${server.url}/email`, {
        method: "POST",
        headers: { accept: "application/json", "content-type": "application/json", "x-postmark-server-token": token },
        body: JSON.stringify({ From: "team@shop.example", To: "ada@example.org", Subject: "Hello", TextBody: "Hi", MessageStream: stream }),
      });
      return { status: res.status, body: (await res.json()) as Json };
    };
    const serverCall = (token: string) => fetch(`${server.url}/server`, { headers: { accept: "application/json", "x-postmark-server-token": token } });

    before(async () => {
      const db = await database.open();
      drop = db.drop;
      server = await startTestServer(db.env);
      const services = server.app.services;
      const made = await services.workspaces.create("shop", { sandbox: true });
      shop = made.workspace.id;
      shopToken = made.serverToken;
      rival = (await services.workspaces.create("rival", { sandbox: true })).workspace.id;
      await services.users.create({ email: "ann@example.com", password: PASSWORD, role: "admin", workspaces: ["shop"] });
      await services.users.create({ email: "vic@example.com", password: PASSWORD, role: "viewer", workspaces: ["shop"] });
      admin = await signIn("ann@example.com");
      viewer = await signIn("vic@example.com");
      assert.equal((await call(admin, "POST", `/workspaces/${shop}/streams`, { id: "alerts", name: "Alerts", type: "transactional" })).status, 200);
      await services.streams.create(rival, { id: "theirs", name: "Theirs", type: "Transactional" });
    });
    after(async () => {
      await server?.close();
      await drop?.();
    });

    it("refuses the new calls without a session (401)", async () => {
      refusedWith(await call(null, "PATCH", `/workspaces/${shop}/streams/alerts`, { name: "x" }), 401, "SESSION_REQUIRED");
      refusedWith(await call(null, "POST", `/workspaces/${shop}/streams/alerts/archive`), 401, "SESSION_REQUIRED");
      refusedWith(await call(null, "DELETE", `/workspaces/${shop}/tokens/anything`), 401, "SESSION_REQUIRED");
    });

    it("renames and describes a stream; ID and type stay; bad input is refused", async () => {
      const edited = await call(admin, "PATCH", `/workspaces/${shop}/streams/alerts`, { name: "Alerts (ops)", description: "Pages for the on-call team" });
      assert.equal(edited.status, 200, JSON.stringify(edited.body));
      assert.deepEqual([edited.body.id, edited.body.type, edited.body.name, edited.body.description], ["alerts", "transactional", "Alerts (ops)", "Pages for the on-call team"]);
      const listed = (await call(viewer, "GET", `/workspaces/${shop}/settings`)).body.streams.find((s: Json) => s.id === "alerts");
      assert.equal(listed.name, "Alerts (ops)");
      const cleared = await call(admin, "PATCH", `/workspaces/${shop}/streams/alerts`, { description: null });
      assert.deepEqual([cleared.body.name, cleared.body.description], ["Alerts (ops)", null], "a field left out stays, null clears");

      refusedWith(await call(admin, "PATCH", `/workspaces/${shop}/streams/alerts`, { name: 7 }), 400, "DASHBOARD_REQUEST_INVALID");
      refusedWith(await call(admin, "PATCH", `/workspaces/${shop}/streams/alerts`, { type: "broadcast" }), 400, "DASHBOARD_REQUEST_INVALID");
      refusedWith(await call(admin, "PATCH", `/workspaces/${shop}/streams/alerts`, { name: "   " }), 400, "STREAM_INVALID");
      refusedWith(await call(admin, "PATCH", `/workspaces/${shop}/streams/${"x".repeat(31)}`, { name: "x" }), 400, "DASHBOARD_REQUEST_INVALID");
    });

    it("archives a stream: the Postmark API refuses mail to it in Postmark's form until it is unarchived", async () => {
      assert.equal((await send(shopToken, "alerts")).status, 200);
      const archived = await call(admin, "POST", `/workspaces/${shop}/streams/alerts/archive`);
      assert.equal(archived.status, 200, JSON.stringify(archived.body));
      assert.ok(archived.body.archivedAt > 0);
      const refused = await send(shopToken, "alerts");
      assert.equal(refused.status, 422);
      assert.equal(refused.body.ErrorCode, 1226);
      refusedWith(await call(admin, "PATCH", `/workspaces/${shop}/streams/alerts`, { name: "Renamed" }), 409, "STREAM_ARCHIVED");

      const back = await call(admin, "POST", `/workspaces/${shop}/streams/alerts/unarchive`);
      assert.equal(back.status, 200);
      assert.equal(back.body.archivedAt, null);
      assert.equal((await send(shopToken, "alerts")).status, 200, "accepted again at once");
    });

    it("keeps Postmark's rules and refuses viewers, other workspaces and their streams", async () => {
      for (const id of ["outbound", "inbound", "broadcast"]) refusedWith(await call(admin, "POST", `/workspaces/${shop}/streams/${id}/archive`), 409, "STREAM_NOT_ARCHIVABLE");
      refusedWith(await call(viewer, "PATCH", `/workspaces/${shop}/streams/alerts`, { name: "mine" }), 403, "NOT_PERMITTED");
      refusedWith(await call(viewer, "POST", `/workspaces/${shop}/streams/alerts/archive`), 403, "NOT_PERMITTED");
      refusedWith(await call(viewer, "POST", `/workspaces/${shop}/streams/alerts/unarchive`), 403, "NOT_PERMITTED");
      refusedWith(await call(admin, "POST", `/workspaces/${rival}/streams/theirs/archive`), 403, "NOT_PERMITTED");
      refusedWith(await call(admin, "PATCH", `/workspaces/${shop}/streams/theirs`, { name: "taken" }), 404, "STREAM_NOT_FOUND");
      refusedWith(await call(admin, "POST", `/workspaces/${shop}/streams/theirs/archive`), 404, "STREAM_NOT_FOUND");
      const theirs = await server.app.services.streams.get(rival, "theirs");
      assert.deepEqual([theirs.name, theirs.archivedAt], ["Theirs", null]);
    });

    it("revokes a server token: it works before and is refused by the very next request", async () => {
      const made = await call(admin, "POST", `/workspaces/${shop}/credentials`, { kind: "server" });
      const token = made.body.values[0].value as string;
      assert.equal((await serverCall(token)).status, 200, "works (and is now in the verified-token cache)");
      const listed = (await call(viewer, "GET", `/workspaces/${shop}/settings`)).body.tokens as Json[];
      const row = listed.find((t) => t.kind === "server" && t.hint === token.slice(-4))!;
      assert.deepEqual(Object.keys(row).sort(), ["createdAt", "hint", "id", "kind", "stream"], "never a secret or a hash");

      const revoked = await call(admin, "DELETE", `/workspaces/${shop}/tokens/${row.id}`);
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
      assert.deepEqual([revoked.body.revoked.id, revoked.body.revoked.kind, revoked.body.revoked.hint], [row.id, "server", token.slice(-4)]);
      const after = await serverCall(token);
      assert.equal(after.status, 401);
      assert.equal(((await after.json()) as Json).ErrorCode, 10);
      assert.equal((await send(token, "outbound")).status, 401);
      assert.equal((await serverCall(shopToken)).status, 200, "the other token still works");
      assert.ok(!(await call(viewer, "GET", `/workspaces/${shop}/settings`)).body.tokens.some((t: Json) => t.id === row.id));
      refusedWith(await call(admin, "DELETE", `/workspaces/${shop}/tokens/${row.id}`), 404, "TOKEN_NOT_FOUND");
    });

    it("keeps the last server token; revokes Track and App keys; refuses viewers and other workspaces' tokens", async () => {
      const tokens = (await call(admin, "GET", `/workspaces/${shop}/settings`)).body.tokens as Json[];
      const servers = tokens.filter((t) => t.kind === "server");
      assert.equal(servers.length, 1);
      refusedWith(await call(admin, "DELETE", `/workspaces/${shop}/tokens/${servers[0]!.id}`), 409, "TOKEN_LAST_SERVER");
      assert.equal((await serverCall(shopToken)).status, 200);

      const track = await call(admin, "POST", `/workspaces/${shop}/credentials`, { kind: "track" });
      const [siteId, apiKey, , appKey] = (track.body.values as Json[]).map((v) => v.value as string);
      const workspaces = server.app.services.workspaces;
      assert.equal((await workspaces.authenticateTrack(siteId!, apiKey!))?.id, shop);
      assert.equal((await workspaces.authenticateAppKey(appKey!))?.id, shop);
      const after = (await call(admin, "GET", `/workspaces/${shop}/settings`)).body.tokens as Json[];
      for (const kind of ["track", "app"]) {
        const row = after.find((t) => t.kind === kind)!;
        assert.equal((await call(admin, "DELETE", `/workspaces/${shop}/tokens/${row.id}`)).status, 200, kind);
      }
      assert.equal(await workspaces.authenticateTrack(siteId!, apiKey!), null, "refused at once, though it was just cached");
      assert.equal(await workspaces.authenticateAppKey(appKey!), null);

      const theirs = (await workspaces.tokens(rival)).find((t) => t.kind === "server")!;
      refusedWith(await call(admin, "DELETE", `/workspaces/${shop}/tokens/${theirs.id}`), 404, "TOKEN_NOT_FOUND");
      refusedWith(await call(admin, "DELETE", `/workspaces/${rival}/tokens/${theirs.id}`), 403, "NOT_PERMITTED");
      refusedWith(await call(viewer, "DELETE", `/workspaces/${shop}/tokens/${servers[0]!.id}`), 403, "NOT_PERMITTED");
      refusedWith(await call(admin, "DELETE", `/workspaces/${shop}/tokens/${"x".repeat(101)}`), 400, "DASHBOARD_REQUEST_INVALID");
      assert.equal((await workspaces.tokens(rival)).length, 1, "the other workspace's token is untouched");
    });
  });
}
