// The `posthorn` command as an operator uses it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { MAIN_JS, spawnServer, tempDir } from "./support/server.js";

function posthorn(args: string[], env: Record<string, string>, cwd?: string) {
  const result = spawnSync(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8", cwd });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** posthorn() without blocking, so that independent cases run at once (each start of the CLI costs about a second). */
function posthornAsync(args: string[], env: Record<string, string>, cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8", cwd }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

const PACKAGE_VERSION = (JSON.parse(readFileSync(resolve(import.meta.dirname, "../../package.json"), "utf8")) as { version: string }).version;
const ERRORS_MD = readFileSync(resolve(import.meta.dirname, "../../docs/errors.md"), "utf8");

test("workspaces and tokens from the command line", () => {
  const dir = tempDir();
  try {
    const env = { POSTHORN_DATA_DIR: dir.path };
    assert.equal(posthorn(["migrate"], env).code, 0);

    const created = posthorn(["workspace", "create", "acme", "--json"], env);
    assert.equal(created.code, 0, created.stderr);
    const json = JSON.parse(created.stdout) as { id: string; name: string; serverToken: string };
    assert.equal(json.name, "acme");
    assert.match(json.serverToken, /^[0-9a-f-]{36}$/);

    const plain = posthorn(["workspace", "create", "beta", "--sandbox"], env);
    assert.match(plain.stdout.trim(), /^[0-9a-f-]{36}$/);

    const duplicate = posthorn(["workspace", "create", "acme"], env);
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, /already exists/);

    const list = JSON.parse(posthorn(["workspace", "list", "--json"], env).stdout) as Array<{ name: string; sandbox: boolean }>;
    assert.deepEqual(
      list.map((w) => [w.name, w.sandbox]),
      [
        ["acme", false],
        ["beta", true],
      ],
    );

    assert.match(posthorn(["workspace", "update", "beta", "--live"], env).stdout, /beta is now live/);
    const secret = posthorn(["workspace", "webhook-secret", "acme"], env).stdout;
    assert.match(secret, /^whsec_[A-Za-z0-9_-]{43}\n$/);
    assert.notEqual(posthorn(["workspace", "webhook-secret", "beta"], env).stdout, secret, "one secret per workspace");
    const token = posthorn(["token", "create", "--workspace", "acme"], env);
    assert.equal(token.code, 0);
    assert.notEqual(token.stdout.trim(), json.serverToken);
    assert.equal(posthorn(["token", "create", "--workspace", "nope"], env).code, 1);
    assert.match(posthorn(["token", "create", "--account"], env).stdout.trim(), /^[0-9a-f-]{36}$/);

    const track = posthorn(["token", "create", "--track", "--workspace", "acme", "--json"], env);
    assert.equal(track.code, 0, track.stderr);
    const keys = JSON.parse(track.stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(keys).sort(), ["apiKey", "appKey", "siteId", "writeKey"]);
    assert.equal(new Set(Object.values(keys)).size, 4);
    assert.match(posthorn(["token", "create", "--track", "--workspace", "acme"], env).stdout, /^Track API site id \(Basic username\): [0-9a-f]{20}\n/);
    assert.equal(posthorn(["token", "create", "--track"], env).code, 2);
  } finally {
    dir.remove();
  }
});

test("bad usage and bad configuration fail with a clear message", () => {
  const dir = tempDir();
  try {
    const unknown = posthorn(["frobnicate"], { POSTHORN_DATA_DIR: dir.path });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);

    const badConfig = posthorn(["start"], { POSTHORN_DATA_DIR: dir.path, POSTHORN_HTTP_PORT: "x", DATABASE_URL: "mysql://" });
    assert.equal(badConfig.code, 1);
    assert.match(badConfig.stderr, /POSTHORN_HTTP_PORT/);
    assert.match(badConfig.stderr, /DATABASE_URL/);
  } finally {
    dir.remove();
  }
});

test("--print-config prints the effective config with secrets redacted", () => {
  const printed = posthorn(["start", "--print-config"], { DATABASE_URL: "postgres://u:topsecret@127.0.0.1:1/db", POSTHORN_HTTP_PORT: "9999" });
  assert.equal(printed.code, 0);
  const config = JSON.parse(printed.stdout) as { http: { port: number }; databaseUrl: string };
  assert.equal(config.http.port, 9999);
  assert.equal(printed.stdout.includes("topsecret"), false);
});

test("--version and -v print the version in package.json", () => {
  for (const flag of ["--version", "-v"]) {
    const printed = posthorn([flag], {});
    assert.deepEqual(printed, { code: 0, stdout: `posthorn ${PACKAGE_VERSION}\n`, stderr: "" }, flag);
  }
});

test("help, --help, -h and help COMMAND print the usage; help of no command is a usage error", () => {
  for (const args of [["help"], ["--help"], ["-h"]]) {
    const printed = posthorn(args, {});
    assert.equal(printed.code, 0, args.join(" "));
    assert.match(printed.stdout, /^Usage: posthorn <command>/);
    for (const command of ["start", "migrate", "workspace", "token", "queue", "help"]) assert.match(printed.stdout, new RegExp(`^  ${command}\\b`, "m"));
  }
  for (const args of [["help", "queue"], ["queue", "--help"]]) {
    const printed = posthorn(args, {});
    assert.equal(printed.code, 0, args.join(" "));
    assert.match(printed.stdout, /queue purge --domain D/);
    assert.doesNotMatch(printed.stdout, /workspace create/);
  }
  const unknown = posthorn(["help", "frobnicate"], {});
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, 'posthorn: no command "frobnicate"\nRun "posthorn help" for usage.\n');
});

test("an unknown command or option is one line and a pointer to the help, exit code 2, never a stack trace", async () => {
  const cases: Array<[string[], string]> = [
    [["frobnicate"], 'posthorn: unknown command "frobnicate"\nRun "posthorn help" for usage.\n'],
    [["--frobnicate"], 'posthorn: unknown option "--frobnicate"\nRun "posthorn help" for usage.\n'],
    [["workspace", "list", "-x"], 'posthorn: unknown option "-x"\nRun "posthorn help" for usage.\n'],
    [["token", "create", "--workspace"], 'posthorn: option --workspace needs a value\nRun "posthorn help" for usage.\n'],
    [["queue", "purge"], 'posthorn: queue purge needs --domain D\nRun "posthorn help queue" for usage.\n'],
    [["workspace", "frobnicate"], 'posthorn: workspace create NAME | workspace list | workspace update NAME --live|--sandbox | workspace webhook-secret NAME\nRun "posthorn help workspace" for usage.\n'],
  ];
  const dir = tempDir();
  try {
    // Usage is checked before the store is opened: the same answer where there is no database.
    const answers = await Promise.all(cases.map(([args]) => posthornAsync(args, { POSTHORN_DATA_DIR: join(dir.path, "none") })));
    cases.forEach(([args, stderr], i) => assert.deepEqual(answers[i], { code: 2, stdout: "", stderr }, args.join(" ")));
    const bare = posthorn([], {});
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /^Usage: posthorn <command>/);
    assert.deepEqual(readdirSync(dir.path), []);
  } finally {
    dir.remove();
  }
});

test("commands other than start, migrate and workspace create create no data directory and say where they looked", async () => {
  const dir = tempDir();
  try {
    const expected = `posthorn: no Posthorn database in ${join(dir.path, "data")} (set POSTHORN_DATA_DIR or run posthorn start there)\n`;
    const commands = [
      ["workspace", "list"],
      ["workspace", "update", "acme", "--live"],
      ["token", "create", "--account"],
      ["queue"],
      ["queue", "retry"],
    ];
    // No POSTHORN_DATA_DIR: the default ./data, relative to where the command runs, named absolute.
    const answers = await Promise.all(commands.map((args) => posthornAsync(args, {}, dir.path)));
    commands.forEach((args, i) => assert.deepEqual(answers[i], { code: 1, stdout: "", stderr: expected }, args.join(" ")));
    assert.equal(existsSync(join(dir.path, "data")), false, "a command created ./data");
    assert.deepEqual(posthorn(["queue"], { POSTHORN_DATA_DIR: "elsewhere/db" }, dir.path).stderr, expected.replace(join(dir.path, "data"), join(dir.path, "elsewhere", "db")));
    assert.deepEqual(readdirSync(dir.path), []);

    assert.equal(posthorn(["migrate"], {}, dir.path).code, 0);
    assert.equal(existsSync(join(dir.path, "data", "posthorn.db")), true);
    assert.deepEqual(posthorn(["workspace", "list"], {}, dir.path), { code: 0, stdout: "", stderr: "" });

    // Creating a workspace is how an installation is provisioned before its first start (scripts,
    // images, the benchmark harness): it creates the database where it is told to.
    const fresh = tempDir();
    try {
      const created = posthorn(["workspace", "create", "acme"], {}, fresh.path);
      assert.equal(created.code, 0, created.stderr);
      assert.equal(existsSync(join(fresh.path, "data", "posthorn.db")), true);
    } finally {
      fresh.remove();
    }
  } finally {
    dir.remove();
  }
});

test("docs/errors.md's exit-code table has a row for each code the command exits with", () => {
  const section = ERRORS_MD.split(/^## /m).find((s) => s.startsWith("Exit codes of the `posthorn` command"));
  assert.ok(section, "docs/errors.md has its exit-code section");
  const rows = section.split("\n").filter((line) => /^\| \d+ \|/.test(line)).map((line) => Number(line.split("|")[1]));
  assert.deepEqual(rows, [0, 1, 2]);
});

/** Starts the real server, waits for its "started" log line, stops it, and returns everything it printed. */
async function startOutput(env: Record<string, string>): Promise<string> {
  const dir = tempDir();
  try {
    const server = await spawnServer({ POSTHORN_DATA_DIR: dir.path, POSTHORN_HTTP_PORT: "0", POSTHORN_HOSTNAME: "logs.test", LOG_LEVEL: "info", ...env });
    const until = Date.now() + 10_000;
    while (!/started/.test(server.output().split("Posthorn is running.")[1] ?? "") && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    server.child.kill("SIGTERM");
    await server.exited;
    return server.output();
  } finally {
    dir.remove();
  }
}

/** The banner's indented lines that follow "Posthorn is running." with nothing between them. */
function bannerBlock(output: string): string {
  const block = /^Posthorn is running\.\n((?: {2}\S.*\n)+)/m.exec(output);
  assert.ok(block, output);
  return block[1]!;
}

test("LOG_FORMAT=pretty renders log lines for a person; the banner stays one block and names the relay", { timeout: 60_000 }, async () => {
  const output = await startOutput({ LOG_FORMAT: "pretty", POSTHORN_SMTP_RELAY: "smtp://127.0.0.1:2599" });
  const lines = output.split("\n").filter((line) => line !== "");
  assert.deepEqual(lines.filter((line) => line.startsWith("{")), [], "no JSON line");
  const started = lines.filter((line) => / started /.test(line));
  assert.equal(started.length, 1, output);
  assert.match(started[0]!, /^\d\d:\d\d:\d\d INFO {2}posthorn started roles=api,mta,smtp,worker http=http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(output, /^\d\d:\d\d:\d\d INFO {2}smtp-submission SMTP submission listening thread=submission host=\S+ port=\d+ implicitTls=false$/m);
  assert.match(output, /^\d\d:\d\d:\d\d INFO {2}posthorn shutting down: draining in-flight work signal=SIGTERM$/m);

  const block = bannerBlock(output);
  for (const label of ["roles", "database", "API", "SMTP", "relay", "TLS"]) assert.match(block, new RegExp(`^  ${label}: `, "m"), `${label} in the banner block:\n${output}`);
  assert.match(block, /^ {2}relay: {4}smtp:\/\/127\.0\.0\.1:2599 /m);
  // What the main thread logs while the roles start is written after the banner.
  assert.ok(output.indexOf("Posthorn is running.") < output.indexOf(started[0]!), output);
});

test("without a terminal the logs stay JSON lines, and the banner has no relay line when none is set", { timeout: 60_000 }, async () => {
  const output = await startOutput({});
  const logLines = output.split("\n").filter((line) => line.startsWith("{"));
  const entries = logLines.map((line) => JSON.parse(line) as { level: number; msg: string; name: string });
  assert.ok(entries.some((e) => e.msg === "started" && e.level === 30 && e.name === "posthorn"), output);
  assert.doesNotMatch(output, /^\d\d:\d\d:\d\d /m);
  assert.doesNotMatch(bannerBlock(output), /relay/);
});
