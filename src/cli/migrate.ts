// posthorn migrate: applies the database migrations (start does it too; this is for deployments
// that migrate as a separate step before rolling out new processes).
import { withContainer, type Command } from "./command.js";

export const migrate: Command = ({ config, out }) =>
  withContainer(config, async () => {
    out("migrations applied\n");
  });
