// posthorn workspace create | list | update: tenants, their sandbox switch, their first token.
import { UsageError } from "./usage.js";
import { withContainer, type Command } from "./command.js";

export const workspace: Command = ({ args, options, config, out }) =>
  withContainer(config, async ({ workspaces }) => {
    const [sub, name] = args;
    if (sub === "create" && name) {
      const { workspace, serverToken } = await workspaces.create(name, { sandbox: options.sandbox === true });
      out(options.json ? `${JSON.stringify({ id: workspace.id, name: workspace.name, serverToken })}\n` : `${serverToken}\n`);
    } else if (sub === "list") {
      const list = await workspaces.list();
      if (options.json) out(`${JSON.stringify(list.map((w) => ({ id: w.id, name: w.name, sandbox: w.sandbox })))}\n`);
      else for (const w of list) out(`${w.name}\t${w.sandbox ? "sandbox" : "live"}\t${w.id}\n`);
    } else if (sub === "update" && name && (options.live || options.sandbox) && !(options.live && options.sandbox)) {
      const w = await workspaces.setSandbox(name, options.sandbox === true);
      out(`${w.name} is now ${w.sandbox ? "in sandbox mode (nothing is delivered)" : "live"}\n`);
    } else {
      throw new UsageError("workspace create NAME | workspace list | workspace update NAME --live|--sandbox");
    }
  });
