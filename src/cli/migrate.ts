// posthorn migrate: applies the database migrations (start does it too; this is for deployments
// that migrate as a separate step before rolling out new processes).
import { UsageError } from "./usage.js";
import { withContainer, type Command } from "./command.js";

export const migrate: Command = async ({ args, config, out }) => {
  if (args.length > 0) throw new UsageError("migrate takes no arguments", "migrate");
  return withContainer(
    config,
    async () => {
      out("migrations applied\n");
    },
    { createDatabase: true },
  );
};
