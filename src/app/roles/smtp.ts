// The smtp role: the submission listeners (the main port with STARTTLS, and optionally 587 and
// implicit-TLS 465; in a thread of their own unless POSTHORN_SMTP_THREAD is off) and, when
// POSTHORN_INBOUND_PORT is set, the inbound MX listener with the routing of what it receives.
import { readFileSync } from "node:fs";
import { ConfigError, type Config } from "../../config/config.schema.js";
import type { Logger } from "../../shared/logger.js";
import type { Clock } from "../../shared/clock.js";
import type { SubmissionServer } from "../../smtp/submission.server.js";
import { bindProblem, ListenerFailed, startSubmissionListeners, submissionListeners } from "../submission-listeners.js";
import { submissionFromSmtp } from "../../smtp/x-pm-headers.js";
import { startThreadedSubmission } from "../threaded-submission.js";
import { startInboundServer, type InboundServer } from "../../smtp/inbound.server.js";
import { createAuthenticator, type DnsResolve } from "../../inbound/authentication.js";
import { createInboundRouter } from "../../inbound/inbound.router.js";
import type { Container } from "../container.js";
import type { TlsCredentials } from "../../smtp/tls-certificate.js";

export interface SmtpRole {
  /** Listening submission servers, main port first. */
  submission: SubmissionServer[];
  /** The inbound MX listener, when POSTHORN_INBOUND_PORT is set. */
  inbound: InboundServer | null;
  stop(): Promise<void>;
}

export interface SmtpRoleDeps extends Pick<Container, "workspaces" | "accept" | "domains" | "bounceIntake" | "inbound" | "tracking"> {
  config: Config;
  logger: Logger;
  clock: Clock;
  /** DNS for SPF/DKIM/DMARC of inbound mail (tests answer from a fixed zone). */
  resolve?: DnsResolve;
}

export async function startSmtpRole(deps: SmtpRoleDeps): Promise<SmtpRole> {
  const { config, logger, workspaces, accept } = deps;
  const tls = readTlsFiles(config);
  const listeners = submissionListeners(config);

  const submission: SubmissionServer[] = [];
  let inbound: InboundServer | null = null;
  try {
    if (config.smtp.thread) {
      submission.push(...(await startThreadedSubmission({ config, logger, tls, listeners, workspaces, accept })));
    } else {
      submission.push(
        ...(await startSubmissionListeners(listeners, {
          config,
          tls,
          logger,
          clock: deps.clock,
          workspaceNamed: (name) => workspaces.get(name),
          authenticate: (username, password) => workspaces.authenticateSmtp(username, password),
          accept: async (workspace, message) => accept.acceptOne(workspace, submissionFromSmtp(message)),
        }).catch((err: unknown) => {
          throw err instanceof ListenerFailed ? bindProblem(err.key, err.cause) : err;
        })),
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
        sessionsPerClient: config.inbound.sessionsPerClient,
        commandTimeoutMs: config.smtp.commandTimeoutMs,
        dataTimeoutMs: config.smtp.dataTimeoutMs,
        closeTimeoutMs: config.shutdownTimeoutMs,
        logger,
        router: createInboundRouter({
          ownReturnPathDomains: [config.envelope.returnPathDomain, config.hostname],
          domains: deps.domains,
          bounceIntake: deps.bounceIntake,
          inbound: deps.inbound,
          authenticator: createAuthenticator({ hostname: config.hostname, resolve: deps.resolve, dnsServers: config.delivery.dnsServers }),
          unsubscriber: deps.tracking,
        }),
      }).catch((err: Error) => {
        throw bindProblem("POSTHORN_INBOUND_PORT", err);
      });
    }
  } catch (err) {
    await Promise.all([...submission.map((s) => s.close()), inbound?.close()]);
    throw err;
  }
  if (config.smtp.allowInsecureAuth) logger.warn({ event: "smtp.config.insecure-auth" }, "POSTHORN_SMTP_ALLOW_INSECURE_AUTH is set: SMTP AUTH is accepted without TLS; use it on loopback only");

  return {
    submission,
    inbound,
    async stop() {
      await Promise.all([...submission.map((s) => s.close()), inbound?.close()]);
    },
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
