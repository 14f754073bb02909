// What every command receives: its arguments after the command name, the parsed options and the
// config; and the helper that opens the store for the commands that only read or change data.
import type { Config } from "../config/config.schema.js";
import { silentLogger } from "../shared/logger.js";
import { openStore } from "../store/store.js";
import { buildContainer, type Container } from "../app/container.js";

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
    stream?: string;
    domain?: string;
    reason?: string;
  };
  config: Config;
  /** Where the command prints its result. */
  out: (text: string) => void;
}

/** A command: resolves with the process exit code. */
export type Command = (input: CommandInput) => Promise<number>;

/** Runs `fn` with the domain objects over a migrated store (a small pool: commands are short). */
export async function withContainer(config: Config, fn: (container: Container) => Promise<void>): Promise<number> {
  const store = openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, poolSize: 2 });
  try {
    await store.migrate();
    await fn(buildContainer(store, config, silentLogger()));
    return 0;
  } finally {
    await store.close();
  }
}
