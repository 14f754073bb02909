// posthorn user …: dashboard users (src/users/). A password comes from standard input
// (--password-stdin, so it is never in the shell's history or the process list) or is made here
// and printed once.
import { randomBytes } from "node:crypto";
import { UsageError } from "./usage.js";
import { withAdminServices, type Command } from "./command.js";
import type { Role } from "../users/users.service.js";

export const user: Command = async ({ args, options, config, out }) => {
  const [verb, email] = args;
  const workspaces = (options.workspace ?? "")
    .split(",")
    .map((w) => w.trim())
    .filter(Boolean);
  if (verb === "list" && args.length === 1) {
    return withAdminServices(config, async ({ users, workspaces: all }) => {
      const names = new Map((await all.list()).map((w) => [w.id, w.name]));
      const list = (await users.list()).map((u) => ({ email: u.email, role: u.role, workspaces: u.workspaceIds.map((id) => names.get(id) ?? id).sort() }));
      if (options.json) out(`${JSON.stringify(list)}\n`);
      else for (const u of list) out(`${u.email}\t${u.role}\t${u.workspaces.join(", ")}\n`);
    });
  }
  if (email === undefined || args.length !== 2) throw new UsageError("user create|list|grant|revoke|password|delete …", "user");
  switch (verb) {
    case "create": {
      if (options.role !== "admin" && options.role !== "viewer") throw new UsageError("user create EMAIL --role admin|viewer [--workspace NAME[,NAME…]] [--password-stdin]", "user");
      const role: Role = options.role;
      const { password, made } = await passwordOf(options["password-stdin"] === true);
      return withAdminServices(config, async ({ users }) => {
        const created = await users.create({ email, password, role, workspaces });
        if (options.json) out(`${JSON.stringify({ email: created.email, role: created.role, ...(made ? { password } : {}) })}\n`);
        else out(`user ${created.email} (${created.role}) created${made ? `\npassword (shown once): ${password}` : ""}\n`);
      });
    }
    case "grant":
    case "revoke": {
      if (workspaces.length === 0) throw new UsageError(`user ${verb} EMAIL --workspace NAME[,NAME…]`, "user");
      return withAdminServices(config, async ({ users }) => {
        for (const w of workspaces) await (verb === "grant" ? users.grant(email, w) : users.revoke(email, w));
        out(`${verb === "grant" ? "granted" : "revoked"}: ${workspaces.join(", ")}\n`);
      });
    }
    case "password": {
      const { password, made } = await passwordOf(options["password-stdin"] === true);
      return withAdminServices(config, async ({ users }) => {
        await users.setPassword(email, password);
        out(made ? `password (shown once): ${password}\n` : "password changed\n");
      });
    }
    case "delete":
      return withAdminServices(config, async ({ users }) => {
        await users.delete(email);
        out(`user ${email} deleted\n`);
      });
    default:
      throw new UsageError("user create|list|grant|revoke|password|delete …", "user");
  }
};

async function passwordOf(fromStdin: boolean): Promise<{ password: string; made: boolean }> {
  if (!fromStdin) return { password: randomBytes(18).toString("base64url"), made: true };
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing line ending is the shell's (echo), not the password's.
  return { password: Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, ""), made: false };
}
