// A data removal is durable: requested from a process that runs no worker, the process is killed
// with kill -9, and the restarted server (with its worker role) carries the request out. The
// lease hand-over of a worker that dies mid-way is proven in src/data-removals/data-removals.service.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { AccountClient, ServerClient } from "postmark";
import { MAIN_JS, spawnServer, tempDir } from "./support/server.js";
import { eventually } from "./support/eventually.js";

const ADA = "ada@example.test";

function cli(env: Record<string, string>, ...args: string[]): string {
  return execFileSync(process.execPath, [MAIN_JS, ...args], { env: { PATH: process.env.PATH ?? "", ...env } }).toString().trim();
}

test("a removal requested before a kill -9 is done after the restart", { timeout: 90_000 }, async () => {
  const dir = tempDir();
  const env = { POSTHORN_DATA_DIR: dir.path, POSTHORN_HTTP_PORT: "0", POSTHORN_HOSTNAME: "crash.test" };
  try {
    cli(env, "migrate");
    const serverToken = cli(env, "workspace", "create", "acme", "--sandbox");
    const accountToken = cli(env, "token", "create", "--account");

    // First life: the API only, so nothing can carry the request out before the kill.
    const first = await spawnServer({ ...env, POSTHORN_ROLES: "api" });
    const host = first.url!.replace(/^http:\/\//, "");
    const pm = new ServerClient(serverToken, { useHttps: false, requestHost: host });
    await pm.sendEmail({ From: "shop@acme.test", To: ADA, Subject: "only hers", TextBody: "x" });
    const shared = (await pm.sendEmail({ From: "shop@acme.test", To: `bob@example.test, ${ADA}`, Subject: "shared", TextBody: "x" })).MessageID;
    const removal = await new AccountClient(accountToken, { useHttps: false, requestHost: host }).requestDataRemoval({ RequestedBy: "dpo@acme.test", RequestedFor: ADA, NotifyWhenCompleted: false });
    assert.equal(removal.Status, "Pending");
    first.child.kill("SIGKILL");
    await first.exited;

    // Second life, every role: the worker finds the request and does it.
    const second = await spawnServer(env);
    try {
      const host2 = second.url!.replace(/^http:\/\//, "");
      const account = new AccountClient(accountToken, { useHttps: false, requestHost: host2 });
      await eventually(async () => (await account.getDataRemovalStatus(removal.ID)).Status === "Done", 30_000);
      const pm2 = new ServerClient(serverToken, { useHttps: false, requestHost: host2 });
      const left = await pm2.getOutboundMessages({ count: 10, offset: 0 });
      assert.deepEqual(left.Messages.map((m) => m.Subject), ["shared"]);
      const details = await pm2.getOutboundMessageDetails(shared);
      assert.deepEqual(details.To.map((t) => t.Email), ["bob@example.test", "erased@erased.invalid"]);
      assert.ok(!JSON.stringify(details).toLowerCase().includes(ADA));
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  } finally {
    dir.remove();
  }
});
