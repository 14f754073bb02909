// The submission listeners the config asks for, started the same way in the main thread and in the
// submission thread (submission.thread.ts): the main port with STARTTLS, and optionally 587 and
// implicit-TLS 465. A trusted network's workspace is looked up when first needed and remembered
// for a few seconds, since it may be created after start and its sandbox flag can change.
import { ConfigError, type Config } from "../config/config.schema.js";
import type { Logger } from "../shared/logger.js";
import { systemClock, type Clock } from "../shared/clock.js";
import { startSubmissionServer, type SubmissionServer, type SubmissionServerOptions } from "../smtp/submission.server.js";
import type { TlsCredentials } from "../smtp/tls-certificate.js";
import type { TrustedNetwork } from "../smtp/trusted-networks.js";
import type { Workspace } from "../workspaces/workspaces.service.js";

export interface SubmissionListener {
  port: number;
  implicitTls: boolean;
  /** The config key of the port, named when it cannot be bound. */
  key: string;
}

/** How long a trusted network's workspace is remembered. */
const TRUSTED_WORKSPACE_CACHE_MS = 5_000;

export function submissionListeners(config: Config): SubmissionListener[] {
  const listeners: SubmissionListener[] = [{ port: config.smtp.port, implicitTls: false, key: "POSTHORN_SMTP_PORT" }];
  if (config.smtp.submissionPort !== null) listeners.push({ port: config.smtp.submissionPort, implicitTls: false, key: "POSTHORN_SMTP_SUBMISSION_PORT" });
  if (config.smtp.implicitTlsPort !== null) listeners.push({ port: config.smtp.implicitTlsPort, implicitTls: true, key: "POSTHORN_SMTP_TLS_PORT" });
  return listeners;
}

export interface SubmissionListenersDeps extends Pick<SubmissionServerOptions, "authenticate" | "accept"> {
  config: Config;
  tls: TlsCredentials | null;
  logger: Logger;
  clock?: Clock;
  /** The workspace a trusted network names, asked for when the cache has none. */
  workspaceNamed(name: string): Promise<Workspace>;
}

/** A listener that could not be bound, with the config key of its port. */
export class ListenerFailed extends Error {
  constructor(
    readonly key: string,
    override readonly cause: Error & { code?: string },
  ) {
    super(cause.message);
  }
}

/** A port that cannot be bound is a configuration problem: reported with the key to change, without a stack. */
export function bindProblem(key: string, err: Error & { code?: string | null }): Error {
  return err.code === "EADDRINUSE" || err.code === "EACCES" || err.code === "EADDRNOTAVAIL" ? new ConfigError([`${key}: ${err.message}`]) : err;
}

/** Starts every listener, or none: after a failure the ones started are closed and ListenerFailed is thrown. */
export async function startSubmissionListeners(listeners: SubmissionListener[], deps: SubmissionListenersDeps): Promise<SubmissionServer[]> {
  const { config } = deps;
  const clock = deps.clock ?? systemClock;
  const trustedNetworks: TrustedNetwork[] = config.smtp.trustedNetworks.map((n) => ({ cidr: n.cidr, workspace: cachedWorkspace(() => deps.workspaceNamed(n.workspace), clock) }));
  const servers: SubmissionServer[] = [];
  for (const listener of listeners) {
    try {
      servers.push(
        await startSubmissionServer({
          host: config.smtp.host,
          port: listener.port,
          implicitTls: listener.implicitTls,
          hostname: config.hostname,
          tls: deps.tls,
          dataDir: config.dataDir,
          allowInsecureAuth: config.smtp.allowInsecureAuth,
          trustedNetworks,
          maxMessageBytes: config.smtp.maxMessageBytes,
          sessionsPerClient: config.smtp.sessionsPerClient,
          commandTimeoutMs: config.smtp.commandTimeoutMs,
          dataTimeoutMs: config.smtp.dataTimeoutMs,
          closeTimeoutMs: config.shutdownTimeoutMs,
          logger: deps.logger,
          clock,
          authenticate: deps.authenticate,
          accept: deps.accept,
        }),
      );
    } catch (err) {
      await Promise.all(servers.map((s) => s.close()));
      throw new ListenerFailed(listener.key, err as Error);
    }
  }
  return servers;
}

function cachedWorkspace(lookUp: () => Promise<Workspace>, clock: Clock): () => Promise<Workspace> {
  let cached: { workspace: Workspace; until: number } | null = null;
  return async () => {
    const now = clock.now();
    if (cached && cached.until > now) return cached.workspace;
    const workspace = await lookUp(); // WORKSPACE_NOT_FOUND answers 451: a config error, logged
    cached = { workspace, until: now + TRUSTED_WORKSPACE_CACHE_MS };
    return workspace;
  };
}
