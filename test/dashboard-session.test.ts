// Dashboard users and sessions end to end: users made with the real `posthorn user` command, then
// a running server's /api/app/ calls over real HTTP: sign-in (wrong password, unknown address,
// throttling), the session cookie's flags, CSRF and Origin checks on changes, sign-out, the
// workspaces a session sees, and a refusal without a session before the body is read.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { MAIN_JS, startTestServer, tempDir, type TestServer } from "./support/server.js";

const ANN_PASSWORD = "correct horse battery staple";

function cli(dataDir: string, args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", POSTHORN_DATA_DIR: dataDir }, encoding: "utf8" }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(stdin ?? "");
  });
}

describe("dashboard users and sessions", () => {
  const dir = tempDir("posthorn-dashboard-");
  const dataDir = join(dir.path, "data");
  let server: TestServer;
  let viewerPassword = "";

  const call = (method: string, path: string, options: { cookie?: string; csrf?: string; origin?: string; body?: unknown } = {}) =>
    fetch(server.url + path, {
      method,
      headers: {
        ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
        ...(options.cookie ? { cookie: options.cookie } : {}),
        ...(options.csrf ? { "x-csrf-token": options.csrf } : {}),
        ...(options.origin ? { origin: options.origin } : {}),
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
  const signIn = async (email: string, password: string) => {
    const res = await call("POST", "/api/app/session", { body: { email, password } });
    const body = (await res.json()) as { csrfToken: string; workspaces: Array<{ name: string }>; user: { email: string; role: string }; error?: { code: string } };
    const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0]!;
    return { res, body, cookie };
  };

  before(async () => {
    for (const name of ["acme", "other"]) assert.equal((await cli(dataDir, ["workspace", "create", name])).code, 0);
    const ann = await cli(dataDir, ["user", "create", "Ann@Example.com", "--role", "admin", "--workspace", "acme", "--password-stdin"], `${ANN_PASSWORD}\n`);
    assert.equal(ann.code, 0, ann.stderr);
    const vic = await cli(dataDir, ["user", "create", "vic@example.com", "--role", "viewer", "--workspace", "acme,other", "--json"]);
    assert.equal(vic.code, 0, vic.stderr);
    viewerPassword = (JSON.parse(vic.stdout) as { password: string }).password;
    assert.ok(viewerPassword.length >= 20, "a made password is long");
    server = await startTestServer({ POSTHORN_DATA_DIR: dataDir });
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  it("the command refuses bad users with one line and exit code 1, and lists users with their workspaces", async () => {
    const short = await cli(dataDir, ["user", "create", "bob@example.com", "--role", "admin", "--password-stdin"], "short\n");
    assert.equal(short.code, 1);
    assert.match(short.stderr, /12 to 1024 characters/);
    const twice = await cli(dataDir, ["user", "create", "ann@example.com", "--role", "viewer"]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /already exists/);
    const unknown = await cli(dataDir, ["user", "create", "cy@example.com", "--role", "viewer", "--workspace", "nope"]);
    assert.equal(unknown.code, 1);
    const role = await cli(dataDir, ["user", "create", "cy@example.com", "--role", "root"]);
    assert.equal(role.code, 2, "a role that does not exist is a usage error");
    const list = JSON.parse((await cli(dataDir, ["user", "list", "--json"])).stdout) as Array<{ email: string; role: string; workspaces: string[] }>;
    assert.deepEqual(list, [
      { email: "ann@example.com", role: "admin", workspaces: ["acme"] },
      { email: "vic@example.com", role: "viewer", workspaces: ["acme", "other"] },
    ]);
  });

  it("stores no password and no session token, only their hashes", async () => {
    const { cookie } = await signIn("ann@example.com", ANN_PASSWORD);
    const db = server.app.services.store.db;
    const users = await db.selectFrom("users").selectAll().execute();
    assert.ok(users.every((u) => u.password_hash.startsWith("scrypt$") && !u.password_hash.includes(ANN_PASSWORD)));
    const token = cookie.split("=")[1]!;
    const sessions = await db.selectFrom("sessions").select("token_hash").execute();
    assert.ok(sessions.length > 0 && sessions.every((s) => s.token_hash !== token && s.token_hash.length === 64));
  });

  it("signs in with the right password only, the same refusal for an unknown address, and sets a strict HttpOnly cookie", async () => {
    const wrong = await signIn("ann@example.com", "not the password at all");
    assert.equal(wrong.res.status, 401);
    assert.equal(wrong.body.error?.code, "SIGN_IN_FAILED");
    assert.equal(wrong.res.headers.get("set-cookie"), null);
    const nobody = await signIn("nobody@example.com", "not the password at all");
    assert.equal(nobody.res.status, 401);
    assert.equal(nobody.body.error?.code, "SIGN_IN_FAILED");
    const ok = await signIn("ANN@example.com", ANN_PASSWORD);
    assert.equal(ok.res.status, 200);
    const cookie = ok.res.headers.get("set-cookie")!;
    assert.match(cookie, /^posthorn_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/, "no Secure over plain HTTP");
    assert.deepEqual(ok.body.user.email, "ann@example.com");
    assert.deepEqual(
      ok.body.workspaces.map((w) => w.name),
      ["acme"],
      "only the granted workspace",
    );
    const again = await call("GET", "/api/app/session", { cookie: ok.cookie });
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { csrfToken: string }).csrfToken, ok.body.csrfToken);
    const viewer = await signIn("vic@example.com", viewerPassword);
    assert.deepEqual(
      viewer.body.workspaces.map((w) => w.name),
      ["acme", "other"],
    );
  });

  it("answers nothing without a session, even a path that does not exist", async () => {
    for (const [method, path] of [
      ["GET", "/api/app/session"],
      ["GET", "/api/app/workspaces"],
      ["GET", "/api/app/no/such/call"],
      ["DELETE", "/api/app/session"],
    ] as const) {
      const res = await call(method, path, { cookie: "posthorn_session=forged-token-value" });
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.deepEqual(((await res.json()) as { error: { code: string } }).error.code, "SESSION_REQUIRED");
    }
    const { cookie } = await signIn("ann@example.com", ANN_PASSWORD);
    const unknown = await call("GET", "/api/app/no/such/call", { cookie });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, "DASHBOARD_NOT_FOUND");
  });

  it("refuses a call without a session before reading its body", async () => {
    // Headers announce 10 MB; only the first chunk is sent: the answer must come anyway.
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(server.url);
      const req = httpRequest({ host: url.hostname, port: url.port, method: "POST", path: "/api/app/workspaces", headers: { "content-type": "application/json", "content-length": String(10_000_000) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.write("{".padEnd(1_000, " "));
    });
    assert.equal(status, 401);
  });

  it("a change needs the session's CSRF token and this host's Origin; sign-out ends the session", async () => {
    const { cookie, body } = await signIn("ann@example.com", ANN_PASSWORD);
    const noToken = await call("DELETE", "/api/app/session", { cookie });
    assert.equal(noToken.status, 403);
    assert.equal(((await noToken.json()) as { error: { code: string } }).error.code, "CSRF_FAILED");
    const wrongToken = await call("DELETE", "/api/app/session", { cookie, csrf: body.csrfToken.replace(/.$/, (c) => (c === "A" ? "B" : "A")) });
    assert.equal(wrongToken.status, 403);
    const otherSite = await call("DELETE", "/api/app/session", { cookie, csrf: body.csrfToken, origin: "https://evil.example" });
    assert.equal(otherSite.status, 403);
    const crossSiteSignIn = await fetch(`${server.url}/api/app/session`, { method: "POST", headers: { "content-type": "application/json", origin: "https://evil.example" }, body: JSON.stringify({ email: "ann@example.com", password: ANN_PASSWORD }) });
    assert.equal(crossSiteSignIn.status, 403, "no sign-in from another site's page");
    assert.equal((await call("GET", "/api/app/session", { cookie })).status, 200, "the refused changes changed nothing");
    const out = await call("DELETE", "/api/app/session", { cookie, csrf: body.csrfToken, origin: server.url });
    assert.equal(out.status, 204);
    assert.match(out.headers.get("set-cookie") ?? "", /^posthorn_session=; .*Max-Age=0/);
    assert.equal((await call("GET", "/api/app/session", { cookie })).status, 401);
  });

  it("a new password ends the user's sessions", async () => {
    const { cookie } = await signIn("vic@example.com", viewerPassword);
    assert.equal((await call("GET", "/api/app/session", { cookie })).status, 200);
    const changed = await cli(dataDir, ["user", "password", "vic@example.com"]);
    assert.equal(changed.code, 0, changed.stderr);
    viewerPassword = /password \(shown once\): (\S+)/.exec(changed.stdout)![1]!;
    assert.equal((await call("GET", "/api/app/session", { cookie })).status, 401);
    assert.equal((await signIn("vic@example.com", viewerPassword)).res.status, 200);
  });

  it("throttles an address after 10 failed sign-ins, even with the right password, and says when to retry", async () => {
    await cli(dataDir, ["user", "create", "tess@example.com", "--role", "viewer", "--password-stdin"], "tess's long password\n");
    for (let i = 0; i < 10; i++) assert.equal((await signIn("tess@example.com", `guess number ${i}`)).res.status, 401);
    const blocked = await signIn("tess@example.com", "tess's long password");
    assert.equal(blocked.res.status, 429);
    assert.equal(blocked.body.error?.code, "SIGN_IN_THROTTLED");
    assert.equal(blocked.res.headers.get("retry-after"), "900");
    // Another address from the same client is not blocked by it.
    assert.equal((await signIn("ann@example.com", ANN_PASSWORD)).res.status, 200);
  });
});
