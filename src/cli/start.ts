// posthorn start: runs the roles of POSTHORN_ROLES until SIGTERM or SIGINT, after which in-flight
// work drains (a second signal exits at once). --print-config shows the parsed config, redacted.
import { redactedConfig, type Config } from "../config/config.schema.js";
import { redactUrl } from "../config/config.fragment.js";
import { createLogger, LogOutput } from "../shared/logger.js";
import { startApp, type RunningApp } from "../app/app.js";
import { looseDataPaths } from "../store/data-dir.js";
import type { Command } from "./command.js";
import { UsageError } from "./usage.js";

export const start: Command = async ({ args, options, config, out }) => {
  if (args.length > 0) throw new UsageError("start takes no arguments (only --print-config)", "start");
  if (options["print-config"]) {
    out(`${JSON.stringify(redactedConfig(config), null, 2)}\n`);
    return 0;
  }
  // Decided once, here, and handed to the threads with the config: a worker thread's stdout is
  // never a terminal, so they could not tell for themselves.
  const logFormat = config.logFormat ?? (process.stdout.isTTY ? "pretty" : "json");
  const running: Config = Object.freeze({ ...config, logFormat });
  const logs = new LogOutput(logFormat, { color: logFormat === "pretty" && process.stdout.isTTY === true });
  const logger = createLogger(config.logLevel, logs);
  // What is logged while the roles start comes after the banner, which stays one block.
  logs.hold();
  let app: RunningApp;
  try {
    app = await startApp(running, logger);
    const created = await app.services.workspaces.ensureDefault();
    const sandboxed = (await app.services.workspaces.list()).filter((w) => w.sandbox).map((w) => w.name);
    out(banner(running, app, created?.serverToken ?? null, sandboxed));
  } finally {
    logs.release();
  }
  // Left as the operator made them (store/data-dir.ts), but said once.
  for (const { path, mode } of looseDataPaths(config.dataDir)) {
    logger.warn({ event: "process.data-path.loose-mode", path, mode: mode.toString(8).padStart(4, "0") }, "group or other users can access this data path (it holds every message); chmod go-rwx it");
  }

  let signals = 0;
  const onSignal = (signal: string) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ event: "process.signal.exit", signal }, "second signal: exiting at once");
      process.exit(1);
    }
    logger.info({ event: "process.shutdown.started", signal }, "shutting down: draining in-flight work");
    app.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ event: "process.shutdown.failed", err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  // The metrics listener only when there is one: a line for people and collectors, not a null field.
  logger.info({ event: "process.started", roles: config.roles, http: app.httpUrl, ...(app.metricsUrl ? { metrics: app.metricsUrl } : {}) }, "started");
  return new Promise<number>(() => undefined);
};

/** What runs where, the new default workspace's token (shown once), and which workspaces are sandboxed. */
function banner(config: Config, app: RunningApp, createdToken: string | null, sandboxed: string[]): string {
  const lines = ["", "Posthorn is running.", `  roles:    ${config.roles.join(", ")}`];
  lines.push(`  database: ${config.databaseUrl ? "PostgreSQL" : `SQLite in ${config.dataDir}`}`);
  const httpUrl = app.httpUrl;
  if (httpUrl) lines.push(`  API:      ${httpUrl}  (Postmark-compatible; health at ${httpUrl}/healthz)`);
  if (app.trackHttps) lines.push(`  HTTPS:    ${app.trackHttps.url}  (the same API, for customerio-node; certificate ${app.trackHttps.certPath}, SHA-256 ${app.trackHttps.fingerprint256})`);
  for (const listener of app.smtp?.submission ?? []) {
    lines.push(`  SMTP:     port ${listener.port}  (submission; AUTH with the server token as username and password)`);
  }
  if (app.metricsUrl) lines.push(`  metrics:  ${app.metricsUrl}/metrics  (and /readyz, /healthz: POSTHORN_METRICS_LISTEN)`);
  else if (httpUrl && config.metrics.token) lines.push(`  metrics:  ${httpUrl}/metrics  (with the bearer token POSTHORN_METRICS_TOKEN)`);
  if (config.smtpRelay) lines.push(`  relay:    ${relayUrl(config.smtpRelay)}  (POSTHORN_SMTP_RELAY: all mail is delivered through it, no MX lookups)`);
  if (app.smtp?.inbound) lines.push(`  MX:       port ${app.smtp.inbound.port}  (inbound: bounces, complaints, inbound streams)`);
  const fingerprint = app.smtp?.submission[0]?.fingerprint256;
  if (fingerprint) lines.push(`  TLS:      SHA-256 fingerprint ${fingerprint}`);
  if (createdToken) {
    lines.push("", `Created the workspace "default". Its server token (shown only this once; it is stored hashed):`, `  ${createdToken}`, "");
  }
  if (sandboxed.length > 0) {
    lines.push(
      "",
      `In SANDBOX mode (messages are accepted and recorded, nothing is delivered): ${sandboxed.join(", ")}`,
      `Make a workspace live with:  npx posthorn workspace update ${sandboxed[0]} --live`,
    );
  }
  return `${lines.join("\n")}\n\n`;
}

/**
 * The relay as an smtp:// URL, from the parsed host and port. POSTHORN_SMTP_RELAY cannot hold
 * credentials today (its pattern refuses user:password@); should it, redactUrl keeps a password
 * out of the banner.
 */
function relayUrl(relay: NonNullable<Config["smtpRelay"]>): string {
  return redactUrl(`smtp://${relay.host}:${relay.port}`);
}
