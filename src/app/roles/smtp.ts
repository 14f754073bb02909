// The smtp role: the submission listeners (the main port with STARTTLS, and optionally 587 and
// implicit-TLS 465; in their own thread unless POSTHORN_SMTP_THREAD is off) and, when POSTHORN_INBOUND_PORT is set, the inbound MX listener with the
// routing of what it receives.
import { readFileSync } from "node:fs";
import { ConfigError, type Config } from "../../config/config.schema.js";
import type { Logger } from "../../shared/logger.js";
import type { Clock } from "../../shared/clock.js";
import type { Workspace, WorkspacesService } from "../../workspaces/workspaces.service.js";
import { startSubmissionServer, type SubmissionServer } from "../../smtp/submission.server.js";
import { submissionFromSmtp } from "../../smtp/x-pm-headers.js";
import { startThreadedSubmission } from "../threaded-submission.js";
import { startInboundServer, type InboundServer } from "../../smtp/inbound.server.js";
import { createAuthenticator, type DnsResolve } from "../../inbound/authentication.js";
import { createInboundRouter } from "../../inbound/inbound.router.js";
import type { Container } from "../container.js";
import type { TrustedNetwork } from "../../smtp/trusted-networks.js";
import type { TlsCredentials } from "../../smtp/tls-certificate.js";

export interface SmtpRole {
  /** Listening submission servers, main port first. */
  submission: SubmissionServer[];
  /** The inbound MX listener, when POSTHORN_INBOUND_PORT is set. */
  inbound: InboundServer | null;
  stop(): Promise<void>;
}

export interface SmtpRoleDeps extends Pick<Container, "workspaces" | "accept" | "domains" | "bounceIntake" | "inbound"> {
  config: Config;
  logger: Logger;
  clock: Clock;
  /** DNS for SPF/DKIM/DMARC of inbound mail (tests answer from a fixed zone). */
  resolve?: DnsResolve;
}

/** How long a trusted network's workspace is remembered (its sandbox flag can change). */
const TRUSTED_WORKSPACE_CACHE_MS = 5_000;

export async function startSmtpRole(deps: SmtpRoleDeps): Promise<SmtpRole> {
  const { config, logger, workspaces, accept } = deps;
  const tls = readTlsFiles(config);
  const trustedNetworks: TrustedNetwork[] = config.smtp.trustedNetworks.map((n) => ({ cidr: n.cidr, workspace: cachedWorkspace(workspaces, n.workspace, deps.clock) }));
  const listeners: Array<{ port: number; implicitTls: boolean; key: string }> = [{ port: config.smtp.port, implicitTls: false, key: "POSTHORN_SMTP_PORT" }];
  if (config.smtp.submissionPort !== null) listeners.push({ port: config.smtp.submissionPort, implicitTls: false, key: "POSTHORN_SMTP_SUBMISSION_PORT" });
  if (config.smtp.implicitTlsPort !== null) listeners.push({ port: config.smtp.implicitTlsPort, implicitTls: true, key: "POSTHORN_SMTP_TLS_PORT" });

  const submission: SubmissionServer[] = [];
  let inbound: InboundServer | null = null;
  try {
    if (config.smtp.thread) {
      submission.push(...(await startThreadedSubmission({ config, logger, tls, listeners, workspaces, accept })));
    } else for (const listener of listeners) {
      submission.push(
        await startSubmissionServer({
          host: config.smtp.host,
          port: listener.port,
          implicitTls: listener.implicitTls,
          hostname: config.hostname,
          tls,
          dataDir: config.dataDir,
          allowInsecureAuth: config.smtp.allowInsecureAuth,
          trustedNetworks,
          maxMessageBytes: config.smtp.maxMessageBytes,
          closeTimeoutMs: config.shutdownTimeoutMs,
          logger,
          clock: deps.clock,
          authenticate: (username, password) => workspaces.authenticateSmtp(username, password),
          accept: async (workspace, message) => accept.acceptOne(workspace, submissionFromSmtp(message)),
        }).catch(listenProblem(listener.key)),
      );
    }
    if (config.inbound.port !== null) {
      inbound = await startInboundServer({
        host: config.inbound.host,
        port: config.inbound.port,
        hostname: config.hostname,
        tls,
        dataDir: config.dataDir,
        maxMessageBytes: config.inbound.maxMessageBytes,
        closeTimeoutMs: config.shutdownTimeoutMs,
        logger,
        router: createInboundRouter({
          ownReturnPathDomains: [config.envelope.returnPathDomain, config.hostname],
          domains: deps.domains,
          bounceIntake: deps.bounceIntake,
          inbound: deps.inbound,
          authenticator: createAuthenticator({ hostname: config.hostname, resolve: deps.resolve, dnsServers: config.delivery.dnsServers }),
        }),
      }).catch(listenProblem("POSTHORN_INBOUND_PORT"));
    }
  } catch (err) {
    await Promise.all([...submission.map((s) => s.close()), inbound?.close()]);
    throw err;
  }
  if (config.smtp.allowInsecureAuth) logger.warn("POSTHORN_SMTP_ALLOW_INSECURE_AUTH is set: SMTP AUTH is accepted without TLS; use it on loopback only");

  return {
    submission,
    inbound,
    async stop() {
      await Promise.all([...submission.map((s) => s.close()), inbound?.close()]);
    },
  };
}

/** A listener that cannot bind is a configuration problem: reported with the key to change, without a stack. */
function listenProblem(key: string): (err: Error & { code?: string }) => never {
  return (err) => {
    if (err.code === "EADDRINUSE" || err.code === "EACCES" || err.code === "EADDRNOTAVAIL") throw new ConfigError([`${key}: ${err.message}`]);
    throw err;
  };
}

function readTlsFiles(config: Config): TlsCredentials | null {
  if (!config.smtp.tls) return null;
  try {
    return { cert: readFileSync(config.smtp.tls.certFile, "utf8"), key: readFileSync(config.smtp.tls.keyFile, "utf8") };
  } catch (err) {
    throw new ConfigError([`POSTHORN_SMTP_TLS_CERT / POSTHORN_SMTP_TLS_KEY: cannot read the SMTP TLS certificate or key: ${(err as Error).message}`]);
  }
}

/** Resolves a trusted network's workspace by name when first needed (it may be created after start). */
function cachedWorkspace(workspaces: WorkspacesService, name: string, clock: Clock): () => Promise<Workspace> {
  let cached: { workspace: Workspace; until: number } | null = null;
  return async () => {
    const now = clock.now();
    if (cached && cached.until > now) return cached.workspace;
    const workspace = await workspaces.get(name); // WORKSPACE_NOT_FOUND answers 451: a config error, logged
    cached = { workspace, until: now + TRUSTED_WORKSPACE_CACHE_MS };
    return workspace;
  };
}
