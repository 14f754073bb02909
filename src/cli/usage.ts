// The command line's help text, and the error that answers a malformed command with it.
export const USAGE = `Usage: posthorn <command> [options]

Commands:
  start [--print-config]                 run the roles in POSTHORN_ROLES (default: api,mta,smtp,worker)
  migrate                                apply database migrations
  workspace create NAME [--sandbox] [--json]
                                         create a workspace; prints its server token
  workspace list [--json]                list workspaces
  workspace update NAME --live|--sandbox switch a workspace between live and sandbox
  token create --workspace NAME          issue another server token for a workspace
  token create --account                 issue an account token
  token create --smtp --workspace NAME [--stream ID] [--json]
                                         an SMTP token pair (access key, secret key) for one stream
  queue [--json]                         deliveries by state and the destinations with most waiting
  queue retry [--domain D]               make deferred deliveries due now
  queue purge --domain D [--reason R]    end all waiting deliveries to a domain as bounced
`;

/** A command line that does not name a valid command: exit code 2 and the usage. */
export class UsageError extends Error {}
