// A running server on SQLite while another process holds the database's write lock, as a CLI
// command or an import does: the server keeps answering, and what it was asked to write is written
// once the lock is free. SQLite's busy handler used to sleep on the server's one thread until then,
// so that nothing at all was answered (src/store/store.ts, writeLock).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { startTestServer } from "./support/server.js";
import { DATABASE_FILE } from "../src/store/data-dir.js";

/** Another process with the write lock of `file`, held until commit() is called. */
async function holdWriteLock(file: string): Promise<{ commit(): Promise<void> }> {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const child = spawn(
    process.execPath,
    [
      "-e",
      `const db = new (require(${JSON.stringify(driver)}))(${JSON.stringify(file)});
       db.exec("begin immediate");
       process.stdout.write("locked\\n");
       process.stdin.once("data", () => { db.exec("commit"); db.close(); process.exit(0); });`,
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`the lock holder exited (${code}) before taking the lock`)));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    async commit() {
      child.stdin!.write("commit\n");
      await exited;
    },
  };
}

test("SQLite: while another process holds the write lock the server keeps answering, and accepts once it is free", async () => {
  const server = await startTestServer();
  try {
    const token = await server.createWorkspace("shop");
    const holder = await holdWriteLock(join(server.dataDir, DATABASE_FILE));
    let answered = false;
    const sent = fetch(`${server.url}/email`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-postmark-server-token": token },
      body: JSON.stringify({ From: "shop@brand.test", To: "ann@example.test", Subject: "Hello", TextBody: "Hello there" }),
    }).then(async (res) => {
      answered = true;
      return { status: res.status, body: (await res.json()) as { ErrorCode: number; MessageID: string } };
    });
    // The holder lets go only when told, so an answer here means the server was not asleep in
    // SQLite's busy handler: the request was read, routed and answered meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(answered, false, "the acceptance waits for the lock: a 200 means committed");
    await holder.commit();
    const { status, body } = await sent;
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.ErrorCode, 0);
    const details = await fetch(`${server.url}/messages/outbound/${body.MessageID}/details`, { headers: { accept: "application/json", "x-postmark-server-token": token } });
    assert.equal(details.status, 200, "the message was stored");
  } finally {
    await server.close();
  }
});
