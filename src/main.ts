// The `posthorn` command: parses arguments and config, then runs one command.
import { parseArgs } from "node:util";
import { loadConfig, redactedConfig, ConfigError, type Config } from "./config/config.schema.js";
import { createLogger, silentLogger } from "./shared/logger.js";
import { isPosthornError } from "./shared/errors.js";
import { openStore } from "./store/store.js";
import { buildServices, startApp } from "./app/app.js";
import { DestinationLimitsError } from "./mta/destination-limits.js";

const USAGE = `Usage: posthorn <command> [options]

Commands:
  start [--print-config]                 run the roles in POSTHORN_ROLES (default: api,mta,smtp)
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
  const [command, sub, arg] = positionals;
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const config = loadConfig(process.env);

  switch (command) {
    case "start":
      if (values["print-config"]) {
        process.stdout.write(`${JSON.stringify(redactedConfig(config), null, 2)}\n`);
        return 0;
      }
      return start(config);
    case "migrate":
      return withServices(config, async () => {
        process.stdout.write("migrations applied\n");
      });
    case "workspace":
      return withServices(config, async ({ workspaces }) => {
        if (sub === "create" && arg) {
          const { workspace, serverToken } = await workspaces.create(arg, { sandbox: values.sandbox === true });
          process.stdout.write(values.json ? `${JSON.stringify({ id: workspace.id, name: workspace.name, serverToken })}\n` : `${serverToken}\n`);
        } else if (sub === "list") {
          const list = await workspaces.list();
          if (values.json) process.stdout.write(`${JSON.stringify(list.map((w) => ({ id: w.id, name: w.name, sandbox: w.sandbox })))}\n`);
          else for (const w of list) process.stdout.write(`${w.name}\t${w.sandbox ? "sandbox" : "live"}\t${w.id}\n`);
        } else if (sub === "update" && arg && (values.live || values.sandbox) && !(values.live && values.sandbox)) {
          const w = await workspaces.setSandbox(arg, values.sandbox === true);
          process.stdout.write(`${w.name} is now ${w.sandbox ? "in sandbox mode (nothing is delivered)" : "live"}\n`);
        } else {
          throw new UsageError("workspace create NAME | workspace list | workspace update NAME --live|--sandbox");
        }
      });
    case "token":
      return withServices(config, async ({ workspaces }) => {
        if (sub !== "create" || (!values.workspace && !values.account)) throw new UsageError("token create --workspace NAME | token create --account | token create --smtp --workspace NAME [--stream ID]");
        if (values.smtp) {
          if (!values.workspace) throw new UsageError("token create --smtp --workspace NAME [--stream ID]");
          const pair = await workspaces.createSmtpToken(values.workspace, values.stream ?? "outbound");
          if (values.json) process.stdout.write(`${JSON.stringify(pair)}\n`);
          else process.stdout.write(`access key (SMTP username): ${pair.accessKey}\nsecret key (SMTP password, shown once): ${pair.secretKey}\nstream: ${pair.stream}\n`);
          return;
        }
        const token = values.account ? await workspaces.createAccountToken() : await workspaces.createServerToken(values.workspace!);
        process.stdout.write(`${token}\n`);
      });
    case "queue":
      return withServices(config, async ({ queue }) => {
        if (sub === undefined) {
          const summary = await queue.summary();
          if (values.json) {
            process.stdout.write(`${JSON.stringify(summary)}\n`);
            return;
          }
          const states = Object.entries(summary.states).map(([state, n]) => `${state} ${n}`);
          process.stdout.write(`deliveries: ${states.length > 0 ? states.join(", ") : "none"}\n`);
          if (summary.destinations.length > 0) process.stdout.write("waiting by destination:\n");
          for (const d of summary.destinations) {
            process.stdout.write(`  ${d.domain}\tqueued ${d.queued}\tdeferred ${d.deferred}\toldest ${new Date(d.oldestCreatedAt).toISOString()}\n`);
          }
        } else if (sub === "retry") {
          process.stdout.write(`${await queue.retryNow({ domain: values.domain })} deferred deliveries are due now\n`);
        } else if (sub === "purge") {
          if (!values.domain) throw new UsageError("queue purge needs --domain D");
          process.stdout.write(`${await queue.purge({ domain: values.domain, reason: values.reason })} deliveries purged\n`);
        } else {
          throw new UsageError("queue | queue retry [--domain D] | queue purge --domain D [--reason R]");
        }
      });
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

class UsageError extends Error {}

async function withServices(config: Config, fn: (services: ReturnType<typeof buildServices>) => Promise<void>): Promise<number> {
  const store = openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, poolSize: 2 });
  try {
    await store.migrate();
    await fn(buildServices(store, config, silentLogger()));
    return 0;
  } finally {
    await store.close();
  }
}

async function start(config: Config): Promise<number> {
  const logger = createLogger(config.logLevel);
  const app = await startApp(config, logger);
  const created = await app.services.workspaces.ensureDefault();
  const sandboxed = (await app.services.workspaces.list()).filter((w) => w.sandbox).map((w) => w.name);
  printBanner(config, app, created, sandboxed);

  let signals = 0;
  const onSignal = (signal: string) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, "second signal: exiting at once");
      process.exit(1);
    }
    logger.info({ signal }, "shutting down: draining in-flight work");
    app.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  logger.info({ roles: config.roles, http: app.httpUrl }, "posthorn started");
  return new Promise<number>(() => undefined);
}

function printBanner(
  config: Config,
  app: Awaited<ReturnType<typeof startApp>>,
  created: Awaited<ReturnType<ReturnType<typeof buildServices>["workspaces"]["ensureDefault"]>>,
  sandboxed: string[],
) {
  const lines = ["", "Posthorn is running.", `  roles:    ${config.roles.join(", ")}`];
  lines.push(`  database: ${config.databaseUrl ? "PostgreSQL" : `SQLite in ${config.dataDir}`}`);
  const httpUrl = app.httpUrl;
  if (httpUrl) lines.push(`  API:      ${httpUrl}  (Postmark-compatible; health at ${httpUrl}/healthz)`);
  for (const listener of app.smtp?.submission ?? []) {
    lines.push(`  SMTP:     port ${listener.port}  (submission; AUTH with the server token as username and password)`);
  }
  if (app.smtp?.inbound) lines.push(`  MX:       port ${app.smtp.inbound.port}  (inbound: bounces, complaints, inbound streams)`);
  const fingerprint = app.smtp?.submission[0]?.fingerprint256;
  if (fingerprint) lines.push(`  TLS:      SHA-256 fingerprint ${fingerprint}`);
  if (created) {
    lines.push(
      "",
      `Created the workspace "default". Its server token (shown only this once; it is stored hashed):`,
      `  ${created.serverToken}`,
      "",
    );
  }
  if (sandboxed.length > 0) {
    lines.push(
      "",
      `In SANDBOX mode (messages are accepted and recorded, nothing is delivered): ${sandboxed.join(", ")}`,
      `Make a workspace live with:  npx posthorn workspace update ${sandboxed[0]} --live`,
    );
  }
  process.stdout.write(`${lines.join("\n")}\n\n`);
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
