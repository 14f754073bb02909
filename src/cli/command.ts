// What every command receives: its arguments after the command name, the parsed options and the
// config; and the helper that opens the store for the commands that only read or change data.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Config } from "../config/config.schema.js";
import { databaseFile } from "../store/data-dir.js";
import type { Container } from "../app/container.js";
import type { AdminServices } from "../app/admin-services.js";
import type { Store } from "../store/store.js";
import type { Logger } from "../shared/logger.js";

export interface CommandInput {
  /** Positional arguments after the command name (e.g. ["create", "acme"]). */
  args: string[];
  options: {
    "print-config"?: boolean;
    sandbox?: boolean;
    live?: boolean;
    json?: boolean;
    workspace?: string;
    account?: boolean;
    smtp?: boolean;
    track?: boolean;
    app?: boolean;
    stream?: string;
    domain?: string;
    reason?: string;
    /** journeys test */
    events?: string;
    until?: string;
    "webhook-responses"?: string;
    /** user create */
    role?: string;
    "password-stdin"?: boolean;
  };
  config: Config;
  /** Where the command prints its result. */
  out: (text: string) => void;
}

/** A command: resolves with the process exit code. */
export type Command = (input: CommandInput) => Promise<number>;

/** A command that could not do its work, explained in one line: exit code 1, no stack trace. */
export class CommandFailed extends Error {
  override name = "CommandFailed";
}

/**
 * Runs `fn` with the domain objects over a migrated store (a small pool: commands are short).
 * Only `start`, `migrate` and `workspace create` (which provisions an installation before its
 * first start) create the SQLite database (and its directory): any other command
 * run where there is none — most often from the wrong directory — would otherwise create an
 * empty one there and report an empty world, so it names the directory it looked in instead.
 */
export async function withContainer(
  config: Config,
  fn: (container: Container) => Promise<void>,
  options: { createDatabase?: boolean } = {},
): Promise<number> {
  // Loaded here, not at the top: main.ts imports this file for every command, --version included.
  const { buildContainer } = await import("../app/container.js");
  return withStore(config, options, (store, logger) => fn(buildContainer(store, config, logger)));
}

/**
 * withContainer for the commands that only administer workspaces and users: it builds those
 * services alone (admin-services.ts), without loading the other domains' code.
 */
export async function withAdminServices(
  config: Config,
  fn: (services: AdminServices) => Promise<void>,
  options: { createDatabase?: boolean } = {},
): Promise<number> {
  const [{ buildAdminServices }, { systemClock }] = await Promise.all([import("../app/admin-services.js"), import("../shared/clock.js")]);
  return withStore(config, options, (store, logger) => fn(buildAdminServices(store, config, logger, systemClock)));
}

async function withStore(config: Config, options: { createDatabase?: boolean }, fn: (store: Store, logger: Logger) => Promise<void>): Promise<number> {
  if (!config.databaseUrl && !options.createDatabase && !existsSync(databaseFile(config.dataDir))) {
    throw new CommandFailed(`no Posthorn database in ${resolve(config.dataDir)} (set POSTHORN_DATA_DIR or run posthorn start there)`);
  }
  const [{ openStore }, { silentLogger }] = await Promise.all([import("../store/store.js"), import("../shared/logger.js")]);
  const store = openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, namedStatements: config.databaseNamedStatements, poolSize: 2 });
  try {
    await store.migrate();
    await fn(store, silentLogger());
    return 0;
  } finally {
    await store.close();
  }
}
