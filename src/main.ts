// The `posthorn` command: parses arguments and config, then runs one command from src/cli/.
import { parseArgs } from "node:util";
import { loadConfig, ConfigError } from "./config/config.schema.js";
import { isPosthornError } from "./shared/errors.js";
import { DestinationLimitsError } from "./mta/shaping/destination-limits.js";
import { USAGE, UsageError } from "./cli/usage.js";
import type { Command } from "./cli/command.js";
import { start } from "./cli/start.js";
import { migrate } from "./cli/migrate.js";
import { workspace } from "./cli/workspace.js";
import { token } from "./cli/token.js";
import { queue } from "./cli/queue.js";

const COMMANDS: Record<string, Command> = { start, migrate, workspace, token, queue };

// Everything this process writes — the database and its -wal and -shm, keys, the generated TLS
// certificate, temporary files — is for its owner alone, whatever umask it was started with.
// The store and the key file set their modes themselves too (store/data-dir.ts); this is the net
// for code that writes with a default mode. Set here, on the main thread, before any file is
// opened: worker threads share the process's umask (and may not change it).
process.umask(0o077);

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "print-config": { type: "boolean" },
      sandbox: { type: "boolean" },
      live: { type: "boolean" },
      json: { type: "boolean" },
      workspace: { type: "string" },
      account: { type: "boolean" },
      smtp: { type: "boolean" },
      stream: { type: "string" },
      domain: { type: "string" },
      reason: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [name, ...args] = positionals;
  if (values.help || !name) {
    process.stdout.write(USAGE);
    return name || values.help ? 0 : 2;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name]! : null;
  if (!command) throw new UsageError(`unknown command "${name}"`);
  return command({ args, options: values, config: loadConfig(process.env), out: (text) => process.stdout.write(text) });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof DestinationLimitsError) process.stderr.write(`posthorn: ${err.message}\n`);
    else if (err instanceof UsageError) process.stderr.write(`posthorn: ${err.message}\n\n${USAGE}`);
    else if (isPosthornError(err)) process.stderr.write(`posthorn: ${err.message}\n`);
    else process.stderr.write(`posthorn: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
