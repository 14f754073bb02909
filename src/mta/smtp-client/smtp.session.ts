// One outbound SMTP connection to one address of one MX host, carrying one or more messages.
// nodemailer's SMTPConnection speaks the protocol (EHLO, STARTTLS, PIPELINING, SIZE, 8BITMIME,
// SMTPUTF8, dot-stuffing); this wrapper opens the TCP connection itself (so the connect timeout
// is its own phase and the peer address is known), applies the RFC 5321 timeouts per phase
// (smtp.timeouts.ts), turns callbacks into promises, and sorts what comes back into two kinds:
//  - replies: what the server said about each recipient (RCPT, MAIL or DATA reply), values;
//  - SmtpSessionError: the connection failed (refused, timeout, TLS, 421, dropped), thrown.
//
// PIPELINING (RFC 2920): nodemailer sends MAIL, every RCPT and DATA in one write when the server
// announces it (smtp-connection's _setEnvelope); `pipelining` tells whether this session does.
import net from "node:net";
import type tls from "node:tls";
import { Readable } from "node:stream";
import SMTPConnection from "nodemailer/lib/smtp-connection/index.js";
import type { NodemailerError } from "nodemailer/lib/errors.js";
import type { JobDsn, SmtpReply } from "../mta.types.js";
import {
  hasEightBitBytes,
  isMessageRefusal,
  isSendableAddress,
  parseSmtpReply,
  replyOf,
  SmtpSessionError,
  toSessionError,
  type SmtpSessionPhase,
} from "./smtp.errors.js";
import { PhaseTimer, resolveTimeouts, type SmtpTimeouts } from "./smtp.timeouts.js";

export { parseSmtpReply, SmtpSessionError, type SmtpSessionPhase } from "./smtp.errors.js";
export { DEFAULT_SMTP_TIMEOUTS, type SmtpTimeouts } from "./smtp.timeouts.js";

/**
 * none: never STARTTLS. opportunistic: STARTTLS when offered, any certificate accepted (RFC 7435:
 * encryption without authentication beats cleartext, and most MX certificates do not match their
 * MX name), cleartext if the server offers none or the handshake fails. encrypt: STARTTLS or fail,
 * any certificate (Postfix's "encrypt" level; a destination's requireTls). verify: STARTTLS with a
 * certificate valid for the MX host name, or fail (MTA-STS "enforce", RFC 8461 §4.2).
 */
export type TlsPolicy = "none" | "opportunistic" | "encrypt" | "verify";

export interface SmtpSessionOptions {
  /** The MX (or relay) name: sent as SNI, checked against the certificate, reported as the remote
   *  host. May be an IP, which gets no SNI (RFC 6066 §3 allows host names only). */
  host: string;
  /** The address to connect to, one of host's A/AAAA records. */
  address: string;
  port: number;
  /** Our name for EHLO (RFC 5321 §4.1.1.1: the client's FQDN). */
  hostname: string;
  timeouts?: Partial<SmtpTimeouts>;
  tls?: TlsPolicy;
  /** Trust anchors that replace the system's CAs in certificate checks; for tests. */
  ca?: string | Buffer | Array<string | Buffer>;
  localAddress?: string;
}

export interface RecipientReply {
  recipient: string;
  reply: SmtpReply;
}

/** Service extensions of the server (its EHLO reply) that decide how a message may be sent. */
export interface SmtpExtensions {
  /** RFC 6152: 8-bit body parts, with BODY=8BITMIME. */
  eightBitMime: boolean;
  /** RFC 6531: UTF-8 addresses and header fields, with SMTPUTF8. */
  smtpUtf8: boolean;
  /** RFC 3461: NOTIFY and ORCPT on RCPT, RET and ENVID on MAIL. */
  dsn: boolean;
}

/** How one transaction is sent; each item is used only when the server offers its extension. */
export interface SendOptions {
  /** BODY=8BITMIME. Default: whether the message has 8-bit bytes (one scan of it). */
  eightBit?: boolean;
  /** SMTPUTF8 on MAIL also for UTF-8 header fields (nodemailer adds it only for UTF-8 addresses). */
  smtpUtf8?: boolean;
  dsn?: JobDsn;
}

export interface SmtpSession {
  readonly host: string;
  readonly remoteIp: string;
  /** Whether the session runs over TLS (after STARTTLS). */
  readonly tls: boolean;
  /** TLS with a certificate chain we trust, issued for `host` (RFC 6125 name check). */
  readonly tlsVerified: boolean;
  /** The server announced PIPELINING, so each envelope goes out in one write (RFC 2920). */
  readonly pipelining: boolean;
  readonly extensions: SmtpExtensions;
  readonly open: boolean;
  /** A transaction was left unfinished (MAIL or every RCPT refused): RSET before the next one. */
  readonly needsReset: boolean;
  /** Transactions attempted on this connection. */
  readonly messagesSent: number;
  /** One reply per recipient, in the given order. Throws SmtpSessionError when the connection fails. */
  send(envelopeFrom: string, recipients: readonly string[], raw: Uint8Array, options?: SendOptions): Promise<RecipientReply[]>;
  /** RSET (RFC 5321 §4.1.1.5). Throws SmtpSessionError, and closes, when the server does not agree. */
  reset(): Promise<void>;
  /** QUIT, then close; never throws. */
  quit(): Promise<void>;
  /** Drops the connection at once. */
  close(): void;
  /** Called once when the connection ends for any reason (server idle timeout included). */
  onClose(listener: () => void): void;
}

/** Parts of nodemailer's SMTPConnection that its type declarations leave out. */
interface ConnectionInternals {
  upgrading?: boolean;
  _supportedExtensions?: string[];
  _socket?: net.Socket | tls.TLSSocket | false;
  _recipientQueue?: string[];
  _sendCommand(str: string, logStr?: string): void;
  _getDsnRcptToArgs(): string;
}

/** Time QUIT may take before the socket is simply destroyed. */
const QUIT_TIMEOUT_MS = 2_000;

function internals(connection: SMTPConnection): ConnectionInternals {
  return connection as unknown as ConnectionInternals;
}

function connectTcp(options: SmtpSessionOptions, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.address, port: options.port, localAddress: options.localAddress });
    const fail = (err: Error & { code?: string }) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new SmtpSessionError(err.message, "connect", err.code ?? "ESOCKET", null, false));
    };
    const timer = setTimeout(
      () => fail(Object.assign(new Error(`connect to ${options.address}:${options.port} timed out after ${timeoutMs} ms`), { code: "ETIMEDOUT" })),
      timeoutMs,
    );
    socket.once("error", fail);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", fail);
      resolve(socket);
    });
  });
}

/**
 * nodemailer reports each command it writes and each reply it reads to its logger when
 * transactionLog is on (without the message body, which only `debug` logs). That is the one
 * documented way to see where a pipelined transaction stands, so the phase timer listens there.
 */
function phaseObserver(target: { timer: PhaseTimer | null }) {
  const onLog = (entry: unknown, message?: unknown) => {
    const timer = target.timer;
    if (!timer || typeof entry !== "object" || entry === null) return;
    const tnx = (entry as { tnx?: unknown }).tnx;
    if (tnx === "client") timer.commandSent(String(message ?? ""));
    else if (tnx === "server") timer.replyReceived();
    else if (tnx === "message" && "inByteCount" in entry) timer.bodyEnded();
  };
  const ignore = () => undefined;
  return { level: ignore, trace: ignore, debug: onLog, info: onLog, warn: ignore, error: ignore, fatal: ignore };
}

function tlsPolicyError(failure: SmtpSessionError, options: SmtpSessionOptions, policy: TlsPolicy): SmtpSessionError {
  const wanted = policy === "verify" ? `TLS with a certificate valid for ${options.host}` : "TLS";
  const message = `${wanted} is required for this destination, not sent in cleartext: ${failure.message}`;
  return new SmtpSessionError(message, failure.phase, "ETLS", failure.reply, false);
}

async function handshake(options: SmtpSessionOptions, policy: TlsPolicy, timeouts: SmtpTimeouts, observer: { timer: PhaseTimer | null }): Promise<SMTPConnection> {
  const socket = await connectTcp(options, timeouts.connectMs);
  const servername = net.isIP(options.host) ? undefined : options.host;
  const mandatory = policy === "encrypt" || policy === "verify";
  const connection = new SMTPConnection({
    connection: socket,
    host: options.address,
    port: options.port,
    name: options.hostname,
    servername,
    ignoreTLS: policy === "none",
    requireTLS: mandatory,
    opportunisticTLS: policy === "opportunistic",
    // Certificates are checked in every mode, so a session knows whether it is verified; only
    // "verify" refuses a bad one.
    tls: { rejectUnauthorized: policy === "verify", servername, ...(options.ca ? { ca: options.ca } : {}) },
    // greetingTimeout bounds the 220; connectionTimeout the whole setup from here to a ready
    // session: greeting, EHLO, STARTTLS with its handshake and the second EHLO.
    greetingTimeout: timeouts.greetingMs,
    connectionTimeout: 2 * timeouts.greetingMs,
    socketTimeout: timeouts.dataEndMs,
    logger: phaseObserver(observer),
    transactionLog: true,
  });
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      connection.off("error", settle);
      connection.off("end", onEnd);
      if (err) {
        // A failed TLS handshake after "220 ready to start TLS" comes from the TLS socket as
        // ESOCKET, not ETLS; nodemailer's upgrading flag is still set then, so it tells them apart.
        let failure = toSessionError(err, "setup", false);
        if (internals(connection).upgrading === true && failure.code !== "ETLS") {
          failure = new SmtpSessionError(failure.message, "setup", "ETLS", failure.reply, false);
        }
        connection.close();
        reject(mandatory && failure.code === "ETLS" ? tlsPolicyError(failure, options, policy) : failure);
      } else {
        resolve();
      }
    };
    const onEnd = () => settle(Object.assign(new Error("connection closed before the session was ready"), { code: "ECONNECTION" }));
    connection.once("error", settle);
    connection.once("end", onEnd);
    // nodemailer reports a failed handshake through 'error' (or 'end'), and success through this
    // callback; a silent close before the greeting comes through the callback with an error.
    connection.connect((err) => settle(err));
  });
  if (mandatory && !connection.secure) {
    connection.close();
    const failure = new SmtpSessionError(`${options.host} did not start TLS`, "setup", "ETLS", null, false);
    throw tlsPolicyError(failure, options, policy);
  }
  return connection;
}

export async function openSmtpSession(options: SmtpSessionOptions): Promise<SmtpSession> {
  const timeouts = resolveTimeouts(options.timeouts);
  const policy = options.tls ?? "opportunistic";
  const observer: { timer: PhaseTimer | null } = { timer: null };
  let connection: SMTPConnection;
  try {
    connection = await handshake(options, policy, timeouts, observer);
  } catch (err) {
    // A failed TLS handshake (not a refused STARTTLS, which nodemailer already continues past)
    // leaves the session unusable. Opportunistic TLS may fall back to cleartext (RFC 7435 §3),
    // so reconnect to the same address once without STARTTLS, as KumoMTA does with
    // opportunistic_tls_reconnect_on_failed_handshake. Postfix instead defers the message and
    // sends in cleartext on the next attempt: a retry-interval delay for the same result.
    if (!(err instanceof SmtpSessionError) || err.code !== "ETLS" || policy !== "opportunistic") throw err;
    connection = await handshake(options, "none", timeouts, observer);
  }
  observer.timer = new PhaseTimer(timeouts, (ms) => {
    const socket = internals(connection)._socket;
    if (socket) socket.setTimeout(ms);
  });
  return wrapConnection(connection, options, observer.timer);
}

function wrapConnection(connection: SMTPConnection, options: SmtpSessionOptions, timer: PhaseTimer): SmtpSession {
  const socket = internals(connection)._socket || null;
  const remoteIp = socket?.remoteAddress ?? options.address;
  const tls = connection.secure;
  // TLSSocket.authorized covers the chain and, given a servername, the name check of
  // tls.checkServerIdentity, even when rejectUnauthorized is off.
  const tlsVerified = tls && !!socket && "authorized" in socket && socket.authorized === true;
  const offered = internals(connection)._supportedExtensions ?? [];
  const pipelining = offered.includes("PIPELINING");
  const extensions: SmtpExtensions = { eightBitMime: offered.includes("8BITMIME"), smtpUtf8: offered.includes("SMTPUTF8"), dsn: offered.includes("DSN") };
  // The transaction being sent: read by the two hooks into nodemailer below.
  let sending: SendOptions = {};
  hookParameters(connection, extensions, () => sending);
  const closeListeners: Array<() => void> = [];
  let open = true;
  let needsReset = false;
  let messagesSent = 0;

  // After the handshake nodemailer still emits 'error' for failures between commands (socket
  // timeouts while idle, resets); the command in flight gets the same error through its callback.
  connection.on("error", () => undefined);
  connection.once("end", () => {
    open = false;
    for (const listener of closeListeners.splice(0)) listener();
  });

  function closedError(phase: SmtpSessionPhase): SmtpSessionError {
    return new SmtpSessionError("connection is closed", phase, "ECONNECTION", null, false);
  }

  /** Names the RFC 5321 phase that ran out of time, rather than nodemailer's bare "Timeout". */
  function failureOf(err: NodemailerError, phase: SmtpSessionPhase, bodySent: boolean): SmtpSessionError {
    const failure = toSessionError(err, phase, bodySent);
    const waited = timer.current;
    if (failure.code !== "ETIMEDOUT" || !waited) return failure;
    const message = `${waited.name} timed out after ${waited.ms} ms without an answer (RFC 5321 §4.5.3.2)`;
    return new SmtpSessionError(message, phase, "ETIMEDOUT", failure.reply, bodySent);
  }

  async function send(envelopeFrom: string, recipients: readonly string[], raw: Uint8Array, options: SendOptions = {}): Promise<RecipientReply[]> {
    if (!open) throw closedError("transaction");
    // nodemailer refuses the whole envelope over one address that cannot go in angle brackets;
    // answer those here, in SMTP's terms, so they bounce instead of failing the connection.
    if (!isSendableAddress(envelopeFrom, true)) {
      const reply = parseSmtpReply(`553 5.1.7 Invalid sender address ${JSON.stringify(envelopeFrom)} (not sent)`);
      return recipients.map((recipient) => ({ recipient, reply }));
    }
    const sendable = recipients.filter((recipient) => isSendableAddress(recipient, false));
    if (sendable.length < recipients.length) {
      const sent = sendable.length > 0 ? await send(envelopeFrom, sendable, raw, options) : [];
      return recipients.map((recipient) => {
        const reply = sent.find((r) => r.recipient === recipient)?.reply;
        return { recipient, reply: reply ?? parseSmtpReply(`553 5.1.3 Invalid recipient address ${JSON.stringify(recipient)} (not sent)`) };
      });
    }
    messagesSent += 1;
    let bodySent = false;
    // A stream rather than the Buffer, only to learn whether any byte of the message was handed
    // over: nodemailer pipes it after the server's 354, so an unread body means the server cannot
    // have the message and a retry elsewhere cannot duplicate it. The first read also starts the
    // data block timeout.
    const body = new Readable({
      read() {
        bodySent = true;
        timer.bodyStarted();
        this.push(raw);
        this.push(null);
      },
    });
    const dsn = options.dsn && (options.dsn.ret || options.dsn.envid) ? { ret: options.dsn.ret ?? undefined, envid: options.dsn.envid ?? undefined } : undefined;
    const envelope = { from: envelopeFrom, to: [...recipients], size: raw.length, use8BitMime: options.eightBit ?? hasEightBitBytes(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)), dsn };
    sending = options;
    return new Promise<RecipientReply[]>((resolve, reject) => {
      connection.send(envelope, body, (err, info) => {
        if (!err && info) {
          // info.rejectedErrors holds the RCPT refusals (with .recipient and .response); the
          // accepted recipients share the reply to the end of DATA.
          const refused = new Map((info.rejectedErrors ?? []).map((e) => [e.recipient ?? "", e]));
          const dataReply = parseSmtpReply(info.response);
          resolve(recipients.map((recipient) => {
            const refusal = refused.get(recipient.trim());
            return { recipient, reply: (refusal && replyOf(refusal)) || dataReply };
          }));
          return;
        }
        const failure = err as NodemailerError;
        if (failure.code === "EMESSAGE" && failure.command === "MAIL FROM" && !failure.response) {
          // The message exceeds the SIZE the server announced in EHLO (RFC 1870 §6): nodemailer
          // refused to send it, nothing went on the wire. Report it in the server's own terms.
          const reply = parseSmtpReply(`552 5.3.4 ${failure.message} (RFC 1870 SIZE; not sent)`);
          resolve(recipients.map((recipient) => ({ recipient, reply })));
          return;
        }
        if (!isMessageRefusal(failure)) {
          reject(failureOf(failure, "transaction", bodySent));
          return;
        }
        // MAIL refused, every RCPT refused, DATA refused, or the end of DATA refused. A refused
        // envelope leaves the transaction open on the server, hence the RSET before the next one.
        needsReset = failure.code === "EENVELOPE";
        const refused = new Map((failure.rejectedErrors ?? []).map((e) => [e.recipient ?? "", e]));
        const whole = replyOf(failure);
        // nodemailer's error for a refused DATA does not carry the earlier RCPT refusals, so
        // every recipient then gets the DATA reply: the message was refused for all of them.
        resolve(recipients.map((recipient) => {
          const refusal = refused.get(recipient.trim());
          const reply = (refusal && replyOf(refusal)) || whole;
          return { recipient, reply: reply ?? parseSmtpReply(`451 4.3.0 ${failure.message}`) };
        }));
      });
    });
  }

  function reset(): Promise<void> {
    if (!open) return Promise.reject(closedError("reset"));
    return new Promise((resolve, reject) => {
      connection.reset((err) => {
        if (!err) {
          needsReset = false;
          resolve();
          return;
        }
        connection.close();
        reject(failureOf(err as NodemailerError, "reset", false));
      });
    });
  }

  function quit(): Promise<void> {
    if (!open) return Promise.resolve();
    return new Promise((resolve) => {
      const quitTimer = setTimeout(() => connection.close(), QUIT_TIMEOUT_MS);
      connection.once("end", () => {
        clearTimeout(quitTimer);
        resolve();
      });
      connection.quit();
    });
  }

  return {
    host: options.host,
    remoteIp,
    tls,
    tlsVerified,
    pipelining,
    extensions,
    get open() {
      return open;
    },
    get needsReset() {
      return needsReset;
    },
    get messagesSent() {
      return messagesSent;
    },
    send,
    reset,
    quit,
    close: () => connection.close(),
    onClose: (listener) => {
      if (open) closeListeners.push(listener);
      else listener();
    },
  };
}

/**
 * Two parameters nodemailer does not give per transaction, added where it writes its commands:
 * SMTPUTF8 on MAIL for a message whose header fields are UTF-8 (RFC 6531 §3.4; nodemailer looks
 * at the addresses only), and NOTIFY/ORCPT per recipient (RFC 3461 §4.1, §4.2; nodemailer has one
 * value for the whole envelope). Both are used only when the server offers the extension. This
 * leans on two internal methods, as this file already reads `_supportedExtensions`; the session
 * tests fail if a nodemailer upgrade moves them. The other way, writing the SMTP client ourselves,
 * is far more code for two parameters.
 */
function hookParameters(connection: SMTPConnection, extensions: SmtpExtensions, current: () => SendOptions): void {
  const inner = internals(connection);
  const sendCommand = inner._sendCommand.bind(connection);
  inner._sendCommand = (str: string, logStr?: string) => {
    if (current().smtpUtf8 && extensions.smtpUtf8 && str.startsWith("MAIL FROM:") && !/ SMTPUTF8(?: |$)/.test(str)) str += " SMTPUTF8";
    sendCommand(str, logStr);
  };
  inner._getDsnRcptToArgs = () => {
    const dsn = current().dsn;
    if (!extensions.dsn || !dsn) return "";
    // nodemailer pushes the recipient, then asks for its parameters.
    const queue = inner._recipientQueue ?? [];
    const recipient = queue[queue.length - 1] ?? "";
    const entry = dsn.recipients[recipient] ?? dsn.recipients[recipient.trim()];
    if (!entry) return "";
    const args: string[] = [];
    if (entry.notify && entry.notify.length > 0) args.push(`NOTIFY=${entry.notify.join(",")}`);
    if (entry.orcpt) args.push(`ORCPT=${xtext(entry.orcpt.includes(";") ? entry.orcpt : `rfc822;${entry.orcpt}`)}`);
    return args.length > 0 ? ` ${args.join(" ")}` : "";
  };
}

/** RFC 3461 §4: "+", "=", controls, space and non-ASCII octets as "+HH". */
function xtext(value: string): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) out += byte > 0x20 && byte < 0x7f && byte !== 0x2b && byte !== 0x3d ? String.fromCharCode(byte) : `+${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  return out;
}
