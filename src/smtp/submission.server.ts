// SMTP submission (role `smtp`): applications send mail by SMTP with a server token, the way
// Postmark's SMTP service works (token as both username and password). A message gets 250 only
// after the domain has committed it durably; a domain error becomes an SMTP reply through the one
// table in smtp.errors-map.ts; anything else answers 451 4.3.0 and nothing is half-written.
//
// Who may submit: a client that authenticated (AUTH PLAIN or LOGIN, only over TLS unless
// allowInsecureAuth), or a client in a trusted network (Postfix's mynetworks), mapped to a
// workspace. Everyone else gets 530 5.7.0 at MAIL: never an open relay. smtp-server runs with
// authOptional so that trusted clients need no AUTH; the check is ours, in onMailFrom.
//
// Shutdown has two phases (close()): stop accepting connections and close idle sessions with
// 421 4.3.2, then let sessions inside DATA finish (their accept commits, they get their 250)
// until the deadline, after which smtp-server cuts what remains.
import type { SMTPServerAddress, SMTPServerAuthentication, SMTPServerDataStream, SMTPServerSession } from "smtp-server";
import { HookedSmtpServer, SessionsPerClient, adjustReplies, answerData, closeSmtp, listenSmtp, readMessage, type SmtpConnection } from "./smtp-server.base.js";
import type { Logger } from "../shared/logger.js";
import { systemClock, type Clock } from "../shared/clock.js";
import { isPosthornError } from "../shared/errors.js";
import type { SmtpIdentity, Workspace } from "../workspaces/workspaces.service.js";
import type { SmtpMessage } from "./x-pm-headers.js";
import { cleanParameter, type DsnRequest } from "../messages/dsn-request.js";
import { addressKey } from "../shared/email-address.js";
import { EDGE_REPLIES, acceptedReplyText, replyError, replyForError, type SmtpReply } from "./smtp.errors-map.js";
import { AuthRateLimiter, type AuthRateLimitPolicy } from "./auth.rate-limit.js";
import { TrustedNetworks, type TrustedNetwork } from "./trusted-networks.js";
import { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_DATA_TIMEOUT_MS, enforceDeadlines } from "./session-deadlines.js";
import { loadOrCreateCertificate, type TlsCredentials } from "./tls-certificate.js";
import { findLineDefect } from "./line-limits.js";

/** Postmark's limit of recipients per message (To, Cc and Bcc together); the 51st RCPT gets 452 4.5.3. */
export const SUBMISSION_MAX_RECIPIENTS = 50;
/** Default message size limit: 10 MB, advertised with SIZE (RFC 1870); more answers 552 5.3.4. */
export const DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
/** How long close() lets sessions inside DATA finish before cutting them. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
/** Sessions at once: per client address (an application's pool, or a NAT), and in all. */
export const SUBMISSION_SESSIONS_PER_CLIENT = 100;
export const SUBMISSION_MAX_SESSIONS = 2_000;

/** Trusted networks as a list, or a function from the client's address to its workspace. */
export type TrustedNetworksOption = TrustedNetwork[] | ((remoteAddress: string) => Promise<Workspace | null>);

export interface SubmissionServerOptions {
  /** Listen address; "::" (all, dual stack) unless set. */
  host?: string;
  /** Listen port; 0 picks a free one (tests). */
  port: number;
  /** Our name in the greeting and the EHLO reply, and the certificate's name when generated. */
  hostname: string;
  /** Certificate and key from config, or null to generate a self-signed one under dataDir. */
  tls: TlsCredentials | null;
  /** Where a generated certificate is kept (<dataDir>/smtp-tls/); needed when tls is null. */
  dataDir?: string;
  /** Implicit TLS from the first byte (port 465, RFC 8314) instead of STARTTLS. */
  implicitTls?: boolean;
  /** Allow AUTH without TLS (POSTHORN_SMTP_ALLOW_INSECURE_AUTH), for loopback tests only. */
  allowInsecureAuth?: boolean;
  trustedNetworks?: TrustedNetworksOption;
  maxMessageBytes?: number;
  /** AUTH credentials to who they name (server token as both halves, or an SMTP token pair), or null. */
  authenticate(username: string, password: string): Promise<SmtpIdentity | null>;
  /** Persists the message durably (acceptance, after submissionFromSmtp); throws PosthornError on bad input. */
  accept(workspace: Workspace, message: SmtpMessage): Promise<{ messageId: string }>;
  logger: Logger;
  clock?: Clock;
  authRateLimit?: AuthRateLimitPolicy;
  closeTimeoutMs?: number;
  /** Idle time before a session is dropped; smtp-server's default (1 minute) unless set. */
  socketTimeoutMs?: number;
  /** How long a command line may take to arrive whole, from our previous reply (DEFAULT_COMMAND_TIMEOUT_MS unless set). */
  commandTimeoutMs?: number;
  /** How long the whole message after DATA may take to arrive (DEFAULT_DATA_TIMEOUT_MS unless set). */
  dataTimeoutMs?: number;
  /** Concurrent sessions per client address (SUBMISSION_SESSIONS_PER_CLIENT unless set). */
  sessionsPerClient?: number;
}

export interface SubmissionServer {
  readonly host: string;
  readonly port: number;
  /** SHA-256 fingerprint of the certificate in use, for clients that pin it. */
  readonly fingerprint256: string;
  /** Two-phase shutdown: stop accepting, let DATA finish until the deadline. Idempotent. */
  close(): Promise<void>;
}

interface SessionState {
  connection: SmtpConnection;
  /** The workspace this session submits as: from AUTH, or from its trusted network. */
  workspace: Workspace | null;
  /** The stream an SMTP token pair is bound to. */
  stream: string | null;
  /** The workspace came from a trusted network, not from AUTH (the From rule exempts these: see x-pm-headers.ts). */
  trustedNetwork: boolean;
  inData: boolean;
}

export async function startSubmissionServer(options: SubmissionServerOptions): Promise<SubmissionServer> {
  const logger = options.logger.child({ component: "smtp-submission" });
  const clock = options.clock ?? systemClock;
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const limiter = new AuthRateLimiter(clock, options.authRateLimit);
  const trusted = trustedResolver(options.trustedNetworks);
  const states = new WeakMap<SMTPServerSession, SessionState>();
  const sessions = new SessionsPerClient(options.sessionsPerClient ?? SUBMISSION_SESSIONS_PER_CLIENT);
  const deadlines = { commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, dataTimeoutMs: options.dataTimeoutMs ?? DEFAULT_DATA_TIMEOUT_MS };
  let closing = false;

  if (!options.tls && !options.dataDir) throw new Error("startSubmissionServer: a TLS certificate or a dataDir to generate one into is required");
  const certificate = loadOrCreateCertificate({ configured: options.tls, dataDir: options.dataDir ?? "", hostname: options.hostname, now: clock.now() });
  if (certificate.generated) {
    logger.warn({ event: "smtp.certificate.generated", fingerprint256: certificate.fingerprint256, path: certificate.path }, "generated a self-signed TLS certificate for SMTP submission; clients must pin this fingerprint or skip verification");
  } else {
    logger.info({ event: "smtp.certificate.loaded", fingerprint256: certificate.fingerprint256, path: certificate.path }, "SMTP submission TLS certificate");
  }

  const server = new HookedSmtpServer({
    name: options.hostname,
    banner: "Posthorn",
    key: certificate.key,
    cert: certificate.cert,
    secure: options.implicitTls ?? false,
    authMethods: ["PLAIN", "LOGIN"],
    authOptional: true, // trusted networks need no AUTH; onMailFrom enforces it for everyone else
    allowInsecureAuth: options.allowInsecureAuth ?? false,
    size: maxMessageBytes,
    rejectOversized: true, // 552 5.3.4 whatever onData answers, after reading the whole message
    maxRecipients: SUBMISSION_MAX_RECIPIENTS,
    hideDSN: false, // RFC 3461 parameters are accepted and parsed (NOTIFY, ORCPT, RET, ENVID)
    hideENHANCEDSTATUSCODES: false,
    hideREQUIRETLS: true, // we do not promise RFC 8689 for the onward delivery
    // Not offered: acceptance, storage and the MTA handle ASCII mailbox names only (a U-label
    // domain is turned into its A-label), so offering it promised what failed after DATA. A
    // non-ASCII local part is refused at MAIL or RCPT instead (nonAsciiAddress).
    hideSMTPUTF8: true,
    disableReverseLookup: true,
    maxClients: SUBMISSION_MAX_SESSIONS,
    disabledCommands: options.implicitTls ? ["STARTTLS"] : [],
    logger: false, // smtp-server's debug lines would carry AUTH payloads; we log outcomes ourselves
    closeTimeout: options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    ...(options.socketTimeoutMs !== undefined ? { socketTimeout: options.socketTimeoutMs } : {}),

    onConnect(session, callback) {
      if (closing) return callback(replyError(EDGE_REPLIES.shuttingDown));
      if (!sessions.admit(session)) {
        logger.warn({ event: "smtp.session.refused", session: session.id, ip: session.remoteAddress }, "SMTP session refused: too many sessions from this address");
        return callback(replyError(EDGE_REPLIES.tooManyConnections));
      }
      callback();
    },

    onClose(session) {
      sessions.release(session);
    },

    onAuth(auth, session, callback) {
      authenticate(auth, session).then(
        (workspace) => callback(null, { user: workspace }),
        (err: Error) => callback(err),
      );
    },

    onMailFrom(address, session, callback) {
      mailFrom(address, session).then(() => callback(), (err: Error) => callback(err));
    },

    onRcptTo(address, _session, callback) {
      if (closing) return callback(replyError(EDGE_REPLIES.shuttingDown));
      if (hasNonAsciiLocalPart(address.address)) return callback(replyError(EDGE_REPLIES.nonAsciiAddress));
      callback();
    },

    onData(stream, session, callback) {
      receive(stream, session).then(
        (text) => finishData(session, () => callback(null, text)),
        (err: Error) => finishData(session, () => callback(err)),
      );
    },
  });

  server.onNewConnection = (connection) => {
    adjustReplies(connection, { hideAuthInClearText: !options.allowInsecureAuth });
    enforceDeadlines(connection, deadlines, (phase) => logger.info({ event: "smtp.session.timed-out", session: connection.session.id, ip: connection.session.remoteAddress, phase }, "SMTP session closed: past its deadline"));
    states.set(connection.session, { connection, workspace: null, stream: null, trustedNetwork: false, inData: false });
  };
  // Before listening, an error is the listen failure itself, which listenSmtp reports to the caller.
  let listening = false;
  server.on("error", (err) => {
    if (listening) logger.warn({ event: "smtp.connection.error", err }, "SMTP submission connection error");
  });

  async function authenticate(auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<Workspace> {
    const ip = session.remoteAddress;
    if (limiter.isLocked(ip)) {
      logger.warn({ event: "smtp.auth.rate-limited", session: session.id, ip, method: auth.method }, "SMTP AUTH refused: too many failures from this address");
      throw replyError(EDGE_REPLIES.authRateLimited);
    }
    // Postmark's conventions: the server token as both username and password, or an SMTP token
    // pair (access key, secret key) bound to one stream.
    let identity: SmtpIdentity | null = null;
    try {
      identity = await options.authenticate(auth.username ?? "", auth.password ?? "");
    } catch (err) {
      // Right credentials for a workspace that refuses SMTP (SMTP_DISABLED): its own reply, not
      // counted as a failure; anything uncoded is a lookup that failed.
      if (isPosthornError(err, "SMTP_DISABLED")) {
        logger.info({ event: "smtp.auth.disabled", session: session.id, ip, method: auth.method }, "SMTP AUTH refused: SMTP is turned off for the workspace");
        throw replyError(replyForError(err));
      }
      logger.error({ event: "smtp.auth.lookup-failed", session: session.id, err, ip }, "SMTP AUTH lookup failed");
      throw replyError(EDGE_REPLIES.authUnavailable);
    }
    if (!identity) {
      const lockedNow = limiter.recordFailure(ip);
      logger.warn({ event: "smtp.auth.failed", session: session.id, ip, method: auth.method, lockedNow }, "SMTP AUTH failed");
      throw replyError(EDGE_REPLIES.authInvalid);
    }
    limiter.recordSuccess(ip);
    const { workspace } = identity;
    const state = states.get(session);
    if (state) {
      state.workspace = workspace;
      state.stream = identity.stream;
    }
    logger.debug({ event: "smtp.auth.succeeded", session: session.id, ip, workspace: workspace.name, method: auth.method }, "SMTP AUTH succeeded");
    return workspace;
  }

  async function mailFrom(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    if (closing) throw replyError(EDGE_REPLIES.shuttingDown);
    const state = states.get(session);
    if (!state) throw replyError(replyForError(new Error("no state for the session")));
    if (!state.workspace) {
      try {
        state.workspace = await trusted(session.remoteAddress);
        state.trustedNetwork = state.workspace !== null;
      } catch (err) {
        logger.error({ event: "smtp.trusted-network.lookup-failed", err, session: session.id, ip: session.remoteAddress }, "trusted network lookup failed");
        throw replyError(replyForError(err));
      }
    }
    if (!state.workspace) {
      logger.info({ event: "smtp.mail.auth-required", session: session.id, ip: session.remoteAddress }, "SMTP MAIL without AUTH from an untrusted address refused");
      throw replyError(EDGE_REPLIES.authRequired);
    }
    if (!address.address) throw replyError(EDGE_REPLIES.nullSender);
    // A client that sends the SMTPUTF8 parameter anyway (smtp-server takes it though the extension
    // is hidden) is let through: the mailbox names are checked below, and a Unicode domain, the
    // one non-ASCII envelope form we can carry, is accepted with or without it. Answering 555
    // (RFC 5321 §4.1.1.11) would refuse mail we can handle.
    if (hasNonAsciiLocalPart(address.address)) throw replyError(EDGE_REPLIES.nonAsciiAddress);
  }

  async function receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const state = states.get(session);
    if (state) state.inData = true;
    const raw = await readMessage(stream);
    if (stream.sizeExceeded) throw replyError(TOO_LARGE_REPLY(maxMessageBytes)); // rejectOversized answers the same
    const workspace = state?.workspace;
    const mailFrom = session.envelope.mailFrom;
    if (!workspace || !mailFrom) throw replyError(EDGE_REPLIES.authRequired); // unreachable: MAIL checked both
    const defect = findLineDefect(raw);
    if (defect) {
      logger.info({ event: "smtp.message.unrelayable", session: session.id, ip: session.remoteAddress, workspace: workspace.name, ...defect }, "SMTP message refused: it could not be relayed unchanged");
      const reply = defect.kind === "nul" ? EDGE_REPLIES.nulByte : EDGE_REPLIES.lineTooLong;
      throw replyError({ ...reply, text: `${reply.text} (line ${defect.line})` });
    }
    const recipients = session.envelope.rcptTo;
    const submission: SmtpMessage = {
      envelopeFrom: mailFrom.address,
      recipients: recipients.map((r) => r.address),
      raw,
      // RFC 3461 §4.1: NOTIFY is per recipient; any recipient asking for FAILURE notices asks for them.
      notifyFailure: recipients.some((r) => r.dsn?.notify?.includes("FAILURE") ?? false),
      dsn: dsnRequestOf(session),
      stream: state?.stream ?? null,
      viaTrustedNetwork: state?.trustedNetwork ?? false,
      trace: { helo: session.hostNameAppearsAs || "", clientAddress: session.remoteAddress, protocol: receivedProtocol(session) },
    };
    try {
      const accepted = await options.accept(workspace, submission);
      logger.info({ event: "smtp.message.accepted", session: session.id, messageId: accepted.messageId, workspace: workspace.name, recipients: recipients.length, bytes: raw.length }, "SMTP message accepted");
      return acceptedReplyText(accepted.messageId);
    } catch (err) {
      const reply = replyForError(err);
      if (reply.code === 451) logger.error({ event: "smtp.message.failed", session: session.id, err, workspace: workspace.name }, "SMTP submission failed");
      else logger.info({ event: "smtp.message.refused", session: session.id, code: reply.code, enhanced: reply.enhanced, reason: reply.text, workspace: workspace.name }, "SMTP message refused");
      throw replyError(reply);
    }
  }

  /** Answers the end of DATA; during shutdown, then closes the session (its work is done). */
  function finishData(session: SMTPServerSession, answer: () => void): void {
    const state = states.get(session);
    if (state) state.inData = false;
    answerData(state?.connection, closing, answer);
  }

  const address = await listenSmtp(server, options.port, options.host ?? "::");
  listening = true;
  logger.info({ event: "smtp.listener.started", host: address.address, port: address.port, implicitTls: options.implicitTls ?? false }, "SMTP submission listening");

  let closed: Promise<void> | null = null;
  return {
    host: address.address,
    port: address.port,
    fingerprint256: certificate.fingerprint256,
    close() {
      closed ??= closeSmtp(server, (session) => states.get(session)?.inData ?? false, () => (closing = true));
      return closed;
    },
  };
}

/** RFC 3848's protocol keyword for the Received field: E for EHLO, S for TLS, A for AUTH. */
function receivedProtocol(session: SMTPServerSession): string {
  if (!/^EHLO$/i.test(String(session.openingCommand ?? ""))) return "SMTP";
  return `ESMTP${session.secure ? "S" : ""}${session.user ? "A" : ""}`;
}

/**
 * Whether the mailbox name needs SMTPUTF8 (RFC 6531). Only the local part counts: smtp-server
 * hands IDN domains over in U-labels whichever form the client wrote, and acceptance stores and
 * sends them as A-labels (RFC 5890), so they need no extension.
 */
function hasNonAsciiLocalPart(address: string): boolean {
  const at = address.lastIndexOf("@");
  const local = at < 0 ? address : address.slice(0, at);
  for (let i = 0; i < local.length; i++) if (local.charCodeAt(i) > 0x7f) return true;
  return false;
}

const TOO_LARGE_REPLY = (limit: number): SmtpReply => ({ code: 552, enhanced: "5.3.4", text: `Message size exceeds the fixed maximum message size of ${limit} bytes` });

function trustedResolver(option: TrustedNetworksOption | undefined): (remoteAddress: string) => Promise<Workspace | null> {
  if (typeof option === "function") return option;
  const networks = new TrustedNetworks(option ?? []);
  return async (remoteAddress) => {
    const network = networks.match(remoteAddress);
    if (!network) return null;
    return typeof network.workspace === "function" ? network.workspace() : network.workspace;
  };
}

/** The RFC 3461 parameters smtp-server parsed from MAIL (RET, ENVID) and each RCPT (NOTIFY, ORCPT). */
function dsnRequestOf(session: SMTPServerSession): DsnRequest | null {
  const envelope = session.envelope as SMTPServerSession["envelope"] & { dsn?: { ret?: string | null; envid?: string | null } };
  const ret = envelope.dsn?.ret?.toUpperCase();
  type RcptDsn = { notify?: string[]; orcpt?: string | null } | undefined;
  // Most submissions give no DSN parameter at all; encodeDsnRequest would store nothing for them.
  if (!ret && !envelope.dsn?.envid && session.envelope.rcptTo.every((r) => !(r.dsn as RcptDsn)?.notify?.length && !(r.dsn as RcptDsn)?.orcpt)) return null;
  const recipients: DsnRequest["recipients"] = {};
  for (const rcpt of session.envelope.rcptTo) {
    const dsn = rcpt.dsn as RcptDsn;
    recipients[addressKey(rcpt.address)] = { notify: (dsn?.notify ?? []).map((n) => n.toUpperCase()), orcpt: dsn?.orcpt ? cleanParameter(dsn.orcpt) : null };
  }
  return { envelopeId: envelope.dsn?.envid ? cleanParameter(envelope.dsn.envid) : null, ret: ret === "FULL" || ret === "HDRS" ? ret : null, recipients };
}
