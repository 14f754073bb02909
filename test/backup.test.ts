// `posthorn backup FILE`: an online, consistent copy of the SQLite database taken while a server
// accepts mail over HTTP; what the write-ahead log holds is in it; bad targets and PostgreSQL are
// refused in one line with exit code 1 (2 for a malformed command line).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { MAIN_JS, spawnServer, tempDir, type ChildServer } from "./support/server.js";
import { backupSqlite } from "../src/cli/backup.js";

const FROM_RULE_OFF = { POSTHORN_REQUIRE_VERIFIED_FROM: "false" };

function posthorn(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function posthornAsync(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : null) : 0, stdout, stderr });
    });
  });
}

/** Sends one message after another until `stop()` is true; pushes the MessageID of each 200. */
async function sendUntil(url: string, token: string, loop: number, accepted: string[], stop: () => boolean): Promise<void> {
  for (let i = 0; !stop(); i++) {
    const response = await fetch(`${url}/email`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", "x-postmark-server-token": token },
      body: JSON.stringify({ From: "backup@sender.test", To: `r${loop}-${i}@example.test`, Subject: `backup ${loop}-${i}`, TextBody: "x".repeat(2000) }),
    });
    const body = (await response.json()) as { MessageID?: string; ErrorCode: number; Message: string };
    assert.equal(response.status, 200, body.Message);
    accepted.push(body.MessageID!);
  }
}

test("a backup taken while the API accepts mail holds every message accepted before it began, and passes integrity_check", { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const env: Record<string, string> = { POSTHORN_DATA_DIR: dir.path, POSTHORN_HTTP_PORT: "0", POSTHORN_HOSTNAME: "backup.test", POSTHORN_ROLES: "api", ...FROM_RULE_OFF };
  let server: ChildServer | undefined;
  try {
    assert.equal(posthorn(["migrate"], env).code, 0);
    const created = posthorn(["workspace", "create", "acme", "--json"], env);
    assert.equal(created.code, 0, created.stderr);
    const token = (JSON.parse(created.stdout) as { serverToken: string }).serverToken;
    server = await spawnServer(env);
    const accepted: string[] = [];
    let stop = false;
    const senders = [0, 1, 2, 3].map((loop) => sendUntil(server!.url!, token, loop, accepted, () => stop));
    while (accepted.length < 300) await new Promise((r) => setTimeout(r, 20));

    // What got its 200 before the backup started must be in the copy; mail keeps arriving during it.
    const acceptedBefore = [...accepted];
    const file = join(dir.path, "..", `${dir.path.split("/").pop()}-copy.db`);
    const result = await posthornAsync(["backup", file], env);
    const acceptedDuring = accepted.length - acceptedBefore.length;
    stop = true;
    await Promise.all(senders);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^backed up .*posthorn\.db to .*-copy\.db \(\d+ pages, \d+ bytes\)\nkeep .*\/encryption\.key with it: the copy's DKIM keys are sealed with that key\n$/);
    assert.ok(acceptedDuring > 0, "mail was accepted while the backup ran, so it was online");
    assert.equal((statSync(file).mode & 0o777).toString(8), "600", "the copy holds every message: owner only, like the database");
    assert.deepEqual(readdirSync(join(file, "..")).filter((f) => f.includes(".partial-")), [], "no partial file left behind");

    const copy = new SQLite(file, { readonly: true });
    try {
      assert.equal(copy.pragma("integrity_check", { simple: true }), "ok");
      const inCopy = new Set((copy.prepare("select id from messages").all() as Array<{ id: string }>).map((r) => r.id));
      const missing = acceptedBefore.filter((id) => !inCopy.has(id));
      assert.deepEqual(missing, [], `${missing.length} of ${acceptedBefore.length} messages accepted before the backup are missing`);
      // Each message's delivery rows came with it (one transaction): the copy is a state the server was in.
      const orphans = copy.prepare("select count(*) as n from messages m where not exists (select 1 from deliveries d where d.message_id = m.id)").get() as { n: number };
      assert.equal(orphans.n, 0);
    } finally {
      copy.close();
    }
    // Posthorn starts on the copy as it is: a restore is putting it in place of posthorn.db.
    const restored = tempDir();
    try {
      copyFileSync(file, join(restored.path, "posthorn.db"));
      const list = posthorn(["workspace", "list", "--json"], { POSTHORN_DATA_DIR: restored.path });
      assert.equal(list.code, 0, list.stderr);
      assert.ok((JSON.parse(list.stdout) as Array<{ name: string }>).some((w) => w.name === "acme"));
    } finally {
      restored.remove();
    }
    rmSync(file);
  } finally {
    server?.child.kill("SIGKILL");
    dir.remove();
  }
});

test("the copy includes commits still in the write-ahead log, which copying the database file misses", async () => {
  const dir = tempDir();
  try {
    const source = join(dir.path, "posthorn.db");
    const db = new SQLite(source);
    db.pragma("journal_mode = WAL");
    // No checkpoint: every row below stays in posthorn.db-wal, as between the server's checkpoints.
    db.pragma("wal_autocheckpoint = 0");
    db.exec("create table t (n integer)");
    const insert = db.prepare("insert into t values (?)");
    for (let n = 0; n < 1000; n++) insert.run(n);
    assert.ok(statSync(`${source}-wal`).size > 0, "the rows are in the WAL");

    // The naive copy (cp of the database file alone) has not a single row.
    copyFileSync(source, join(dir.path, "cp.db"));
    const naive = new SQLite(join(dir.path, "cp.db"), { readonly: true });
    assert.throws(() => naive.prepare("select count(*) from t").get(), /no such table/);
    naive.close();

    const result = await backupSqlite(source, join(dir.path, "backup.db"));
    db.close();
    const copy = new SQLite(result.file, { readonly: true });
    try {
      assert.equal((copy.prepare("select count(*) as n from t").get() as { n: number }).n, 1000);
      assert.equal(copy.pragma("integrity_check", { simple: true }), "ok");
    } finally {
      copy.close();
    }
  } finally {
    dir.remove();
  }
});

test("bad targets, a missing database and PostgreSQL get one clear line and exit code 1; a malformed command line exit code 2", async () => {
  const dir = tempDir();
  try {
    const env = { POSTHORN_DATA_DIR: join(dir.path, "data") };
    const noDatabase = posthorn(["backup", join(dir.path, "b.db")], env);
    assert.equal(noDatabase.code, 1);
    assert.match(noDatabase.stderr, /^posthorn: no Posthorn database in .*data \(set POSTHORN_DATA_DIR\)\n$/);
    assert.equal(existsSync(join(dir.path, "data")), false, "backup creates no database");

    assert.equal(posthorn(["migrate"], env).code, 0);
    const cases: Array<[string, RegExp]> = [
      [join(dir.path, "no-such-dir", "b.db"), /^posthorn: cannot write .*no-such-dir\/b\.db: the directory .*no-such-dir does not exist\n$/],
      [join(dir.path, "exists.db"), /^posthorn: .*exists\.db already exists; a backup does not overwrite a file/],
      [join(dir.path, "data", "posthorn.db"), /^posthorn: .*posthorn\.db is the live database \(or its WAL\); choose a file outside it\n$/],
      [join(dir.path, "a-file", "b.db"), /^posthorn: cannot write .*a-file\/b\.db: .*a-file is not a directory\n$/],
    ];
    writeFileSync(join(dir.path, "exists.db"), "precious");
    writeFileSync(join(dir.path, "a-file"), "");
    const answers = await Promise.all(cases.map(([file]) => posthornAsync(["backup", file], env)));
    answers.forEach((answer, i) => {
      assert.equal(answer.code, 1, answer.stderr);
      assert.match(answer.stderr, cases[i]![1]);
    });
    assert.equal(statSync(join(dir.path, "exists.db")).size, "precious".length, "the existing file is untouched");

    // A directory it may not write into: SQLite's own reason, in one line.
    mkdirSync(join(dir.path, "locked"), { mode: 0o500 });
    if (process.getuid?.() !== 0) {
      const locked = posthorn(["backup", join(dir.path, "locked", "b.db")], env);
      assert.equal(locked.code, 1);
      assert.match(locked.stderr, /^posthorn: backup to .*locked\/b\.db failed: .+\n$/);
    }

    const usage = await Promise.all([posthornAsync(["backup"], env), posthornAsync(["backup", "a.db", "b.db"], env)]);
    for (const answer of usage) {
      assert.equal(answer.code, 2);
      assert.match(answer.stderr, /^posthorn: backup takes one argument: the file to write\nRun "posthorn help backup" for usage\.\n$/);
    }

    const postgres = posthorn(["backup", join(dir.path, "pg.db")], { ...env, DATABASE_URL: "postgres://posthorn:secret@db.example:5432/posthorn" });
    assert.equal(postgres.code, 1);
    assert.match(postgres.stderr, /uses PostgreSQL \(DATABASE_URL\)\. Back it up with PostgreSQL's own tool: pg_dump --format=custom --file=posthorn\.dump "\$DATABASE_URL"/);
    assert.doesNotMatch(postgres.stderr, /secret/, "the password is not printed");
    assert.equal(existsSync(join(dir.path, "pg.db")), false);
  } finally {
    dir.remove();
  }
});
