// Nothing accepted by SMTP is lost: kill -9 the server while sessions are submitting (submission
// port) and while remote MTAs are delivering inbound mail (MX port); after a restart every message
// that got its 250 is there, and inbound webhooks that were due are posted.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { execFileSync } from "node:child_process";
import { MAIN_JS, spawnServer, tempDir, type ChildServer } from "./support/server.js";
import { openSmtpDialog } from "../src/smtp/testing/smtp-dialog.js";
import { openStore } from "../src/store/store.js";
import { eventually } from "./support/eventually.js";

const SESSIONS = 10;

function port(server: ChildServer, label: "SMTP" | "MX"): number {
  const match = new RegExp(`${label}:\\s+port (\\d+)`).exec(server.output());
  if (!match) throw new Error(`no ${label} port in the banner:\n${server.output()}`);
  return Number(match[1]);
}

/** One session sending messages until it is cut off; returns the ids answered 250 (the text after "queued as", or the Subject for inbound). */
async function submitUntilCut(smtpPort: number, session: number, to: (i: number) => string, from: string, accepted: string[] = []): Promise<string[]> {
  const dialog = await openSmtpDialog(smtpPort);
  try {
    await dialog.command("EHLO crash.client");
    for (let i = 0; i < 10_000; i++) {
      const subject = `s${session}-m${i}`;
      if (!(await dialog.command(`MAIL FROM:<${from}>`)).startsWith("250")) break;
      if (!(await dialog.command(`RCPT TO:<${to(i)}>`)).startsWith("250")) break;
      if (!(await dialog.command("DATA")).startsWith("354")) break;
      // ~1.5 kB of body in lines under SMTP's 998 octets (longer ones are refused since issue 9).
      const reply = await dialog.data(`From: ${from}\r\nTo: ${to(i)}\r\nSubject: ${subject}\r\n\r\n${"x".repeat(750)}\r\n${"x".repeat(748)}\r\n.\r\n`);
      if (!reply.startsWith("250")) break;
      accepted.push(/queued as (\S+)/.exec(reply)?.[1] ?? subject);
    }
  } catch {
    // the connection died with the server: what was answered 250 before is what counts
  } finally {
    dialog.close();
  }
  return accepted;
}

test("kill -9 during SMTP submission and inbound delivery loses no message that got its 250", { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const posted = new Set<string>();
  const hook = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      posted.add(String((JSON.parse(Buffer.concat(chunks).toString()) as { Subject: string }).Subject));
      res.end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
  const env: Record<string, string> = {
    POSTHORN_DATA_DIR: dir.path,
    POSTHORN_HTTP_PORT: "0",
    POSTHORN_HOSTNAME: "crash.test",
    // Webhooks are posted by the worker role; no mta: outbound mail only needs to be committed here.
    POSTHORN_ROLES: "api,smtp,worker",
    POSTHORN_SMTP_HOST: "127.0.0.1",
    POSTHORN_SMTP_TRUSTED_NETWORKS: "127.0.0.0/8=crash",
    POSTHORN_INBOUND_PORT: "0",
    POSTHORN_INBOUND_HOST: "127.0.0.1",
    POSTHORN_DNS_SERVERS: "127.0.0.1:9",
    POSTHORN_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.1/32", // the hook endpoint is on loopback
    // Claims of posts cut off by the kill come back after 3 × this.
    POSTHORN_INBOUND_HOOK_TIMEOUT: "2s", // nothing answers: SPF/DKIM/DMARC give temperror quickly
  };
  // Killed in the finally as well: a failed assertion before the kill would leave it running,
  // and the test process would wait for it for ever.
  let first: ChildServer | undefined;
  try {
    execFileSync(process.execPath, [MAIN_JS, "migrate"], { env: { PATH: process.env.PATH ?? "", ...env } }); // only start and migrate create the database
    execFileSync(process.execPath, [MAIN_JS, "workspace", "create", "crash"], { env: { PATH: process.env.PATH ?? "", ...env } });
    first = await spawnServer(env);
    const hash = await (async () => {
      const store = openStore({ dataDir: dir.path, databaseUrl: null });
      try {
        const row = await store.db.selectFrom("workspaces").select(["id", "inbound_hash"]).where("name", "=", "crash").executeTakeFirstOrThrow();
        return row.inbound_hash!;
      } finally {
        await store.close();
      }
    })();
    // The webhook URL is set through the API, as a user would.
    const token = execFileSync(process.execPath, [MAIN_JS, "token", "create", "--workspace", "crash"], { env: { PATH: process.env.PATH ?? "", ...env } }).toString().trim();
    const put = await fetch(`${first.url}/server`, {
      method: "PUT",
      headers: { "content-type": "application/json", accept: "application/json", "x-postmark-server-token": token },
      body: JSON.stringify({ InboundHookUrl: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook` }),
    });
    assert.equal(put.status, 200);

    const submissionPort = port(first, "SMTP");
    const mxPort = port(first, "MX");
    const acceptedOut: string[] = [];
    const acceptedIn: string[] = [];
    const outbound = Array.from({ length: SESSIONS / 2 }, (_, s) => submitUntilCut(submissionPort, s, (i) => `user${s}-${i}@example.test`, "app@crash.test", acceptedOut));
    const inbound = Array.from({ length: SESSIONS / 2 }, (_, s) => submitUntilCut(mxPort, 100 + s, (i) => `${hash}+m${i}@inbound.crash.test`, "someone@remote.test", acceptedIn));
    // Kill in the middle of steady traffic on both ports, however fast this machine is right now.
    await eventually(async () => acceptedOut.length >= 100 && acceptedIn.length >= 100, 30_000);
    first.child.kill("SIGKILL");
    await first.exited;
    await Promise.all([...outbound, ...inbound]);

    const store = openStore({ dataDir: dir.path, databaseUrl: null });
    try {
      const outIds = new Set((await store.db.selectFrom("messages").select("id").execute()).map((r) => r.id));
      const missingOut = acceptedOut.filter((id) => !outIds.has(id));
      assert.deepEqual(missingOut, [], `${missingOut.length} submitted messages answered 250 are missing`);
      const inSubjects = new Set((await store.db.selectFrom("inbound_messages").select("subject").execute()).map((r) => r.subject));
      const missingIn = acceptedIn.filter((subject) => !inSubjects.has(subject));
      assert.deepEqual(missingIn, [], `${missingIn.length} inbound messages answered 250 are missing`);
    } finally {
      await store.close();
    }

    // After the restart, the webhooks still due (and those whose claim died with the process, after its lease) are posted.
    const second = await spawnServer(env);
    try {
      const unposted = () => acceptedIn.filter((s) => !posted.has(s));
      await eventually(async () => unposted().length === 0, 90_000).catch(() => assert.fail(`${unposted().length} inbound webhooks never posted`));
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  } finally {
    if (first && first.child.exitCode === null && first.child.signalCode === null) {
      first.child.kill("SIGKILL");
      await first.exited;
    }
    await new Promise<void>((r) => hook.close(() => r()));
    dir.remove();
  }
});
