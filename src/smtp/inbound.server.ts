// The inbound MX listener (role smtp, POSTHORN_INBOUND_PORT): where bounces, complaints and mail
// for inbound streams arrive from the internet. No AUTH: whether a recipient is ours is decided at
// RCPT by the router (a VERP return path or postmaster/abuse of a return-path domain, an inbound
// hash on the shared inbound domain, or a workspace's inbound domain); everyone else gets 550 5.7.1,
// so this is never an open relay. STARTTLS is offered (senders use it opportunistically). The 250
// after DATA comes only when every recipient's copy is committed; any failure answers 451 4.3.0,
// and the sender retries (a copy committed before the failure may then arrive twice: at least once).
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from "smtp-server";
import type { Logger } from "../shared/logger.js";
import { EDGE_REPLIES, INTERNAL_ERROR_REPLY, replyError, type SmtpReply } from "./smtp.errors-map.js";
import { HookedSmtpServer, SessionsPerClient, adjustReplies, answerData, closeSmtp, listenSmtp, readMessage, type SmtpConnection } from "./smtp-server.base.js";
import { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_DATA_TIMEOUT_MS, enforceDeadlines } from "./session-deadlines.js";
import { loadOrCreateCertificate, type TlsCredentials } from "./tls-certificate.js";

/** Recipients per inbound transaction; more get 452 4.5.3 and the sender sends them again. */
export const INBOUND_MAX_RECIPIENTS = 100;
/** Sessions at once per client address (Postfix's default is 50 for all clients; remote MTAs rarely need more than a few), and in all. */
export const INBOUND_SESSIONS_PER_CLIENT = 20;
export const INBOUND_MAX_SESSIONS = 1_000;

/** What the router knows of a recipient: opaque to this edge, handed back at DATA. */
export type InboundRoute = { readonly kind: string };

export interface InboundRouter<R extends InboundRoute = InboundRoute> {
  /** The route for an envelope recipient, or null when the address is not ours. */
  route(recipient: string): Promise<R | null>;
  /** Stores the message for each accepted recipient; resolves once all are committed. */
  deliver(input: { raw: Buffer; mailFrom: string; recipients: Array<{ address: string; route: R }>; remoteAddress: string; helo: string }): Promise<void>;
}

export interface InboundServerOptions<R extends InboundRoute> {
  host?: string;
  port: number;
  hostname: string;
  tls: TlsCredentials | null;
  dataDir?: string;
  maxMessageBytes: number;
  router: InboundRouter<R>;
  logger: Logger;
  closeTimeoutMs?: number;
  socketTimeoutMs?: number;
  /** How long a command line may take to arrive whole, from our previous reply (DEFAULT_COMMAND_TIMEOUT_MS unless set). */
  commandTimeoutMs?: number;
  /** How long the whole message after DATA may take to arrive (DEFAULT_DATA_TIMEOUT_MS unless set). */
  dataTimeoutMs?: number;
  /** Concurrent sessions per client address (INBOUND_SESSIONS_PER_CLIENT unless set). */
  sessionsPerClient?: number;
}

export interface InboundServer {
  readonly port: number;
  close(): Promise<void>;
}

interface SessionState<R> {
  connection: SmtpConnection;
  routes: Map<string, R>;
  inData: boolean;
}

export async function startInboundServer<R extends InboundRoute>(options: InboundServerOptions<R>): Promise<InboundServer> {
  const logger = options.logger.child({ component: "smtp-inbound" });
  const states = new WeakMap<SMTPServerSession, SessionState<R>>();
  const sessions = new SessionsPerClient(options.sessionsPerClient ?? INBOUND_SESSIONS_PER_CLIENT);
  const deadlines = { commandTimeoutMs: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, dataTimeoutMs: options.dataTimeoutMs ?? DEFAULT_DATA_TIMEOUT_MS };
  let closing = false;
  if (!options.tls && !options.dataDir) throw new Error("startInboundServer: a TLS certificate or a dataDir to generate one into is required");
  const certificate = loadOrCreateCertificate({ configured: options.tls, dataDir: options.dataDir ?? "", hostname: options.hostname });

  const server = new HookedSmtpServer({
    name: options.hostname,
    banner: "Posthorn", // smtp-server writes "<name> ESMTP <banner>": the word once (RFC 5321 §4.2 greeting)
    key: certificate.key,
    cert: certificate.cert,
    disabledCommands: ["AUTH"],
    authOptional: true,
    size: options.maxMessageBytes,
    rejectOversized: true,
    maxRecipients: INBOUND_MAX_RECIPIENTS,
    hideENHANCEDSTATUSCODES: false,
    hideDSN: true,
    hideREQUIRETLS: true,
    disableReverseLookup: true,
    maxClients: INBOUND_MAX_SESSIONS,
    logger: false,
    closeTimeout: options.closeTimeoutMs ?? 30_000,
    ...(options.socketTimeoutMs !== undefined ? { socketTimeout: options.socketTimeoutMs } : {}),

    onConnect(session, callback) {
      if (closing) return callback(replyError(EDGE_REPLIES.shuttingDown));
      if (!sessions.admit(session)) {
        logger.warn({ event: "inbound.session.refused", session: session.id, ip: session.remoteAddress }, "inbound SMTP session refused: too many sessions from this address");
        return callback(replyError(EDGE_REPLIES.tooManyConnections));
      }
      callback();
    },
    onClose(session) {
      sessions.release(session);
    },
    onMailFrom(_address, session, callback) {
      if (closing) return callback(replyError(EDGE_REPLIES.shuttingDown));
      states.get(session)?.routes.clear(); // a new transaction starts with no recipients
      callback();
    },
    onRcptTo(address, session, callback) {
      rcptTo(address, session).then(() => callback(), (err: Error) => callback(err));
    },
    onData(stream, session, callback) {
      receive(stream, session).then(
        (text) => finish(session, () => callback(null, text)),
        (err: Error) => finish(session, () => callback(err)),
      );
    },
  });
  server.onNewConnection = (connection) => {
    adjustReplies(connection, { hideAuthInClearText: false });
    enforceDeadlines(connection, deadlines, (phase) => logger.info({ event: "inbound.session.timed-out", session: connection.session.id, ip: connection.session.remoteAddress, phase }, "SMTP session closed: past its deadline"));
    states.set(connection.session, { connection, routes: new Map(), inData: false });
  };
  // Before listening, an error is the listen failure itself, which listenSmtp reports to the caller.
  let listening = false;
  server.on("error", (err) => {
    if (listening) logger.warn({ event: "inbound.connection.error", err }, "SMTP inbound connection error");
  });

  async function rcptTo(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    if (closing) throw replyError(EDGE_REPLIES.shuttingDown);
    const state = states.get(session);
    if (!state) throw replyError(INTERNAL_ERROR_REPLY);
    let route: R | null;
    try {
      route = await options.router.route(address.address);
    } catch (err) {
      logger.error({ event: "inbound.recipient.lookup-failed", session: session.id, err, recipient: address.address }, "inbound recipient lookup failed");
      throw replyError(EDGE_REPLIES.routeUnavailable);
    }
    if (!route) {
      logger.info({ event: "inbound.recipient.refused", session: session.id, ip: session.remoteAddress, recipient: address.address }, "inbound mail for a foreign recipient refused");
      throw replyError(EDGE_REPLIES.relayDenied);
    }
    state.routes.set(address.address, route);
  }

  async function receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const state = states.get(session);
    if (state) state.inData = true;
    const raw = await readMessage(stream);
    if (stream.sizeExceeded) throw replyError(tooLarge(options.maxMessageBytes));
    const recipients = session.envelope.rcptTo
      .map((r) => ({ address: r.address, route: state?.routes.get(r.address) }))
      .filter((r): r is { address: string; route: R } => r.route !== undefined);
    if (recipients.length === 0) throw replyError(INTERNAL_ERROR_REPLY); // unreachable: smtp-server requires a RCPT first
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
    try {
      await options.router.deliver({ raw, mailFrom, recipients, remoteAddress: session.remoteAddress, helo: session.hostNameAppearsAs ?? "" });
    } catch (err) {
      logger.error({ event: "inbound.message.failed", session: session.id, err, recipients: recipients.length }, "storing inbound mail failed");
      throw replyError(INTERNAL_ERROR_REPLY);
    }
    logger.info({ event: "inbound.message.accepted", session: session.id, ip: session.remoteAddress, recipients: recipients.map((r) => `${r.route.kind}:${r.route.kind === "unsubscribe" ? r.address.slice(r.address.lastIndexOf("@")) : r.address}`), bytes: raw.length }, "inbound message accepted");
    return "2.0.0 OK: message accepted";
  }

  function finish(session: SMTPServerSession, answer: () => void): void {
    const state = states.get(session);
    if (state) state.inData = false;
    answerData(state?.connection, closing, answer);
  }

  const address = await listenSmtp(server, options.port, options.host ?? "::");
  listening = true;
  logger.info({ event: "inbound.listener.started", host: address.address, port: address.port }, "SMTP inbound (MX) listening");

  let closed: Promise<void> | null = null;
  return {
    port: address.port,
    close() {
      closed ??= closeSmtp(server, (session) => states.get(session)?.inData ?? false, () => (closing = true));
      return closed;
    },
  };
}

function tooLarge(limit: number): SmtpReply {
  return { code: 552, enhanced: "5.3.4", text: `Message size exceeds the fixed maximum message size of ${limit} bytes` };
}
