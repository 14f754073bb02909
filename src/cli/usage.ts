// The command line's help text (all of it, or one command's), its version, and the error that
// answers a malformed command line.
import { readFileSync } from "node:fs";

/** Each command's forms, as `posthorn help <command>` prints them. */
const COMMANDS: Record<string, string> = {
  start: `  start [--print-config]                 run the roles in POSTHORN_ROLES (default: api,mta,smtp,worker);
                                         creates the data directory and database when they do not exist
`,
  migrate: `  migrate                                apply database migrations (creates the database when it does not exist)
`,
  workspace: `  workspace create NAME [--sandbox] [--json]
                                         create a workspace; prints its server token
  workspace list [--json]                list workspaces
  workspace update NAME --live|--sandbox switch a workspace between live and sandbox
  workspace webhook-secret NAME          the secret that signs the workspace's webhook posts
`,
  token: `  token create --workspace NAME          issue another server token for a workspace
  token create --account                 issue an account token
  token create --smtp --workspace NAME [--stream ID] [--json]
                                         an SMTP token pair (access key, secret key) for one stream
  token create --track --workspace NAME [--json]
                                         Track API site id and key, pipeline write key, App API key
  token create --app --workspace NAME [--json]
                                         another App API key (Bearer) only
`,
  queue: `  queue [--json]                         deliveries by state and the destinations with most waiting
  queue retry [--domain D]               make deferred deliveries due now
  queue purge --domain D [--reason R]    end all waiting deliveries to a domain as bounced
`,
  journeys: `  journeys test FILE --events EVENTS.json [--json] [--until TIME] [--webhook-responses FILE]
                                         run a journey document against events on a virtual clock
                                         (no database, nothing sent); prints each person's steps and
                                         the emails that would go out (docs/journeys.md)
`,
  user: `  user create EMAIL --role admin|viewer [--workspace NAME[,NAME…]] [--password-stdin] [--json]
                                         a dashboard user; without --password-stdin a password is
                                         made and printed once
  user list [--json]                     users, their roles and workspaces
  user grant|revoke EMAIL --workspace NAME[,NAME…]
                                         let a user see a workspace, or no longer
  user password EMAIL [--password-stdin] a new password (ends the user's sessions)
  user delete EMAIL                      remove a user and end their sessions
`,
  backup: `  backup FILE                            an online, consistent copy of the SQLite database while Posthorn
                                         runs (restore: docs/operations.md); on PostgreSQL use pg_dump
`,
  export: `  export FILE                            the whole installation (SQLite or DATABASE_URL), from one consistent
                                         snapshot, into one portable file (gzip'd JSON lines)
`,
  import: `  import FILE                            load an export into an empty database (SQLite or DATABASE_URL), in one
                                         transaction, verified by row counts and checksums (docs/operations.md)
`,
  help: `  help [COMMAND]                         this text, or one command's
`,
};

const FOOTER = `
Options:
  -h, --help                             print this help (also: posthorn help COMMAND)
  -v, --version                          print the version

Commands other than start, migrate, import and journeys test work on an existing database: the SQLite database in
POSTHORN_DATA_DIR (default ./data), or DATABASE_URL. Exit codes: 0 done, 1 failed, 2 usage error.
`;

export const USAGE = `Usage: posthorn <command> [options]

Commands:
${Object.values(COMMANDS).join("")}${FOOTER}`;

/** The usage of one command, or null when there is no such command. */
export function usageOf(command: string): string | null {
  if (!Object.hasOwn(COMMANDS, command)) return null;
  return `Usage: posthorn ${command === "help" ? "help [COMMAND]" : `${command} …`}\n\n${COMMANDS[command]}`;
}

/** The version in package.json (two levels above dist/src/cli/, where this file runs from). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/**
 * A command line that is not a valid command: exit code 2, the message and a pointer to the help
 * (of the command, when it is known).
 */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command: string | null = null,
  ) {
    super(message);
    this.name = "UsageError";
  }
}
