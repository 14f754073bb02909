// The `posthorn` command: parses arguments and config, then runs one command from src/cli/.
// Exit codes (docs/errors.md): 0 done, 1 failed, 2 usage error.
import { parseArgs } from "node:util";
import { loadConfig, ConfigError } from "./config/config.schema.js";
import { isPosthornError } from "./shared/errors.js";
import { DestinationLimitsError } from "./mta/shaping/destination-limits.js";
import { USAGE, UsageError, usageOf, version } from "./cli/usage.js";
import { CommandFailed, type Command } from "./cli/command.js";

// Each command's module is loaded only when it runs: `start` pulls in every role, and loading it
// for `--version`, `help` or a data command cost about a second of CPU per invocation.
const COMMANDS: Record<string, () => Promise<Command>> = {
  start: async () => (await import("./cli/start.js")).start,
  migrate: async () => (await import("./cli/migrate.js")).migrate,
  workspace: async () => (await import("./cli/workspace.js")).workspace,
  token: async () => (await import("./cli/token.js")).token,
  queue: async () => (await import("./cli/queue.js")).queue,
  journeys: async () => (await import("./cli/journeys.js")).journeys,
  user: async () => (await import("./cli/user.js")).user,
  backup: async () => (await import("./cli/backup.js")).backup,
  export: async () => (await import("./cli/export.js")).exportCommand,
  import: async () => (await import("./cli/import.js")).importCommand,
};

// Everything this process writes — the database and its -wal and -shm, keys, the generated TLS
// certificate, temporary files — is for its owner alone, whatever umask it was started with.
// The store and the key file set their modes themselves too (store/data-dir.ts); this is the net
// for code that writes with a default mode. Set here, on the main thread, before any file is
// opened: worker threads share the process's umask (and may not change it).
process.umask(0o077);

const EXIT_USAGE = 2;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv);
  const { help, version: askedVersion, ...options } = values;
  if (askedVersion) {
    process.stdout.write(`posthorn ${version()}\n`);
    return 0;
  }
  const [name, ...args] = positionals;
  if (name === "help" || help) {
    // `posthorn help`, `posthorn help queue`, `posthorn --help`, `posthorn queue --help`.
    const topic = name === "help" ? args[0] : name;
    if (name === "help" && args.length > 1) throw new UsageError("help takes one command at most");
    const text = topic === undefined ? USAGE : usageOf(topic);
    if (text === null) throw new UsageError(`no command "${topic}"`);
    process.stdout.write(text);
    return 0;
  }
  if (name === undefined) {
    process.stderr.write(USAGE);
    return EXIT_USAGE;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name]! : null;
  if (!load) throw new UsageError(`unknown command "${name}"`);
  const config = loadConfig(process.env);
  const command = await load();
  return command({ args, options, config, out: (text) => process.stdout.write(text) });
}

/** The options every command may take; an option no command knows is a usage error, not a stack trace. */
function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
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
        track: { type: "boolean" },
        app: { type: "boolean" },
        stream: { type: "string" },
        domain: { type: "string" },
        reason: { type: "string" },
        events: { type: "string" },
        until: { type: "string" },
        "webhook-responses": { type: "string" },
        role: { type: "string" },
        "password-stdin": { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (err) {
    throw usageErrorOf(err);
  }
}

/** parseArgs' errors (ERR_PARSE_ARGS_*) in our words: its own messages run to three sentences. */
function usageErrorOf(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  const message = (err as Error)?.message ?? "";
  const option = /'(-[^' ]*)/.exec(message)?.[1] ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return new UsageError(`unknown option "${option}"`);
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    return new UsageError(/argument missing/.test(message) ? `option ${option} needs a value` : `option ${option} takes no value`);
  }
  if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) return new UsageError(message.split(". ")[0]!);
  return err;
}

/** One line on stderr for every expected failure; a stack trace only for what is a bug. */
function report(err: unknown): number {
  if (err instanceof UsageError) {
    const help = err.command ? `posthorn help ${err.command}` : "posthorn help";
    process.stderr.write(`posthorn: ${err.message}\nRun "${help}" for usage.\n`);
    return EXIT_USAGE;
  }
  // A system call's failure (a port in use, a directory that cannot be written) is the machine's
  // state, not a bug: its message names the call and the path or address.
  const systemError = typeof (err as NodeJS.ErrnoException)?.syscall === "string";
  if (err instanceof ConfigError || err instanceof DestinationLimitsError || err instanceof CommandFailed || isPosthornError(err) || systemError) {
    process.stderr.write(`posthorn: ${(err as Error).message}\n`);
  } else {
    process.stderr.write(`posthorn: ${(err as Error)?.stack ?? String(err)}\n`);
  }
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = report(err);
  },
);
