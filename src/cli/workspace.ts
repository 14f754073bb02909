// posthorn workspace create | list | update | webhook-secret: tenants, their sandbox switch, their
// first token, and the secret their webhook posts are signed with (src/webhooks/webhook-signature.ts).
import { UsageError } from "./usage.js";
import { signingSecret } from "../webhooks/webhook-signature.js";
import { withAdminServices, type Command } from "./command.js";

const FORMS = "workspace create NAME | workspace list | workspace update NAME --live|--sandbox | workspace webhook-secret NAME";

export const workspace: Command = async ({ args, options, config, out }) => {
  const [sub, name] = args;
  // The form is checked before the store is opened: a malformed line is a usage error wherever it runs.
  const valid =
    (sub === "create" && name && args.length === 2) ||
    (sub === "list" && args.length === 1) ||
    (sub === "webhook-secret" && name && args.length === 2) ||
    (sub === "update" && name && args.length === 2 && Boolean(options.live) !== Boolean(options.sandbox));
  if (!valid) throw new UsageError(FORMS, "workspace");
  // Creating a workspace provisions an installation before its first start (scripts, images):
  // it may create the database; listing and updating need one to exist.
  return withAdminServices(
    config,
    async ({ workspaces, encryptionKey }) => {
      if (sub === "create") {
        const { workspace, serverToken } = await workspaces.create(name!, { sandbox: options.sandbox === true });
        out(options.json ? `${JSON.stringify({ id: workspace.id, name: workspace.name, serverToken })}\n` : `${serverToken}\n`);
      } else if (sub === "list") {
        const list = await workspaces.list();
        if (options.json) out(`${JSON.stringify(list.map((w) => ({ id: w.id, name: w.name, sandbox: w.sandbox })))}\n`);
        else for (const w of list) out(`${w.name}\t${w.sandbox ? "sandbox" : "live"}\t${w.id}\n`);
      } else if (sub === "webhook-secret") {
        // Derived, not stored: the same every time, in every process, until the encryption key changes.
        out(`${signingSecret(encryptionKey, (await workspaces.get(name!)).id)}\n`);
      } else {
        const w = await workspaces.setSandbox(name!, options.sandbox === true);
        out(`${w.name} is now ${w.sandbox ? "in sandbox mode (nothing is delivered)" : "live"}\n`);
      }
    },
    { createDatabase: sub === "create" },
  );
};
