// One outbound SMTP connection to one address of one MX host, carrying one or more messages.
// nodemailer's SMTPConnection speaks the protocol (EHLO, STARTTLS, PIPELINING, SIZE, 8BITMIME,
// SMTPUTF8, dot-stuffing); this wrapper opens the TCP connection itself (so the connect timeout
// is its own phase and the peer address is known), turns callbacks into promises, and sorts what
// comes back into two kinds:
//  - replies: what the server said about each recipient (RCPT, MAIL or DATA reply), values;
//  - SmtpSessionError: the connection failed (refused, timeout, TLS, 421, dropped), thrown.
import net from "node:net";
import { Readable } from "node:stream";
import SMTPConnection from "nodemailer/lib/smtp-connection/index.js";
import type { NodemailerError } from "nodemailer/lib/errors.js";
import type { SmtpReply } from "./mta.types.js";

export interface SmtpTimeouts {
  /** TCP connect. RFC 5321 sets none; 30 s like Postfix's smtp_connect_timeout, so a dead MX
   *  does not hold a slot for the minutes an OS connect timeout takes. */
  connectMs: number;
  /** The 220 greeting, EHLO and the STARTTLS handshake together: RFC 5321 §4.5.3.2.1 allows the
   *  greeting 5 minutes. */
  greetingMs: number;
  /** Longest silence from the server inside a session. nodemailer has one inactivity timer for all
   *  commands, so it takes the longest RFC 5321 §4.5.3.2 wait: 10 minutes for the reply to the
   *  end of DATA (§4.5.3.2.6); MAIL and RCPT get 5 minutes in the RFC. */
  socketMs: number;
}

export const DEFAULT_SMTP_TIMEOUTS: Readonly<SmtpTimeouts> = Object.freeze({
  connectMs: 30_000,
  greetingMs: 300_000,
  socketMs: 600_000,
});

/**
 * opportunistic: STARTTLS when offered, any certificate accepted (RFC 7435: encryption without
 * authentication beats cleartext, and most MX certificates do not match their MX name), plaintext
 * if the server offers none or the upgrade fails. required: STARTTLS with a verified certificate,
 * or fail. none: never STARTTLS.
 */
export type TlsPolicy = "opportunistic" | "required" | "none";

export interface SmtpSessionOptions {
  /** The MX (or relay) name: used for SNI and reported as the remote host. May be an IP. */
  host: string;
  /** The address to connect to, one of host's A/AAAA records. */
  address: string;
  port: number;
  /** Our name for EHLO (RFC 5321 §4.1.1.1: the client's FQDN). */
  hostname: string;
  timeouts?: Partial<SmtpTimeouts>;
  tls?: TlsPolicy;
  localAddress?: string;
}

export type SmtpSessionPhase = "connect" | "setup" | "transaction" | "reset";

/** The connection failed; nothing here is a verdict on any recipient. */
export class SmtpSessionError extends Error {
  constructor(
    message: string,
    readonly phase: SmtpSessionPhase,
    /** nodemailer's code (ECONNECTION, ETIMEDOUT, ETLS, EPROTOCOL, ...) or the socket's. */
    readonly code: string,
    /** The reply that ended the session (a 421, a non-220 greeting), when there was one. */
    readonly reply: SmtpReply | null,
    /** Whether message bytes were handed to the socket: if so the server may have the message. */
    readonly bodySent: boolean,
  ) {
    super(message);
    this.name = "SmtpSessionError";
  }
}

export interface RecipientReply {
  recipient: string;
  reply: SmtpReply;
}

export interface SmtpSession {
  readonly host: string;
  readonly remoteIp: string;
  /** Whether the session runs over TLS (after STARTTLS). */
  readonly tls: boolean;
  readonly open: boolean;
  /** A transaction was left unfinished (MAIL or every RCPT refused): RSET before the next one. */
  readonly needsReset: boolean;
  /** Transactions attempted on this connection. */
  readonly messagesSent: number;
  /** One reply per recipient, in the given order. Throws SmtpSessionError when the connection fails. */
  send(envelopeFrom: string, recipients: readonly string[], raw: Buffer): Promise<RecipientReply[]>;
  /** RSET (RFC 5321 §4.1.1.5). Throws SmtpSessionError, and closes, when the server does not agree. */
  reset(): Promise<void>;
  /** QUIT, then close; never throws. */
  quit(): Promise<void>;
  /** Drops the connection at once. */
  close(): void;
  /** Called once when the connection ends for any reason (server idle timeout included). */
  onClose(listener: () => void): void;
}

/** Time QUIT may take before the socket is simply destroyed. */
const QUIT_TIMEOUT_MS = 2_000;

/** Parses "550-5.1.1 first line\n550 5.1.1 last line" into code, enhanced status and text. */
export function parseSmtpReply(raw: string): SmtpReply {
  const text = raw.replace(/\r\n/g, "\n").trim();
  const code = /^([1-5]\d{2})(?=[ -]|$)/.exec(text);
  // RFC 3463 §2: class.subject.detail, class 2/4/5, one to three digits each; RFC 2034 puts it
  // right after the reply code.
  const enhanced = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})(?=\s|$)/.exec(text);
  return { code: code ? Number(code[1]) : 0, enhanced: enhanced?.[1] ?? null, text };
}

function resolveTimeouts(partial: Partial<SmtpTimeouts> | undefined): SmtpTimeouts {
  return { ...DEFAULT_SMTP_TIMEOUTS, ...partial };
}

function replyOf(err: NodemailerError): SmtpReply | null {
  return typeof err.response === "string" && err.response !== "" ? parseSmtpReply(err.response) : null;
}

function toSessionError(err: unknown, phase: SmtpSessionPhase, bodySent: boolean): SmtpSessionError {
  const e = err as NodemailerError;
  const code = String(e.code ?? "ECONNECTION");
  // The socket's own code (ECONNRESET, EPIPE) stays in the message; code is nodemailer's class.
  const message = `${e.message ?? String(err)}${e.originalCode ? ` (${e.originalCode})` : ""}`;
  return new SmtpSessionError(message, phase, code, replyOf(e), bodySent);
}

/** True when the server refused this message or its recipients and the connection itself is fine. */
function isMessageRefusal(err: NodemailerError): boolean {
  // RFC 5321 §3.8/§4.2: a 421 is the server closing the channel, whatever command it answers.
  if (err.responseCode === 421) return false;
  return (err.code === "EENVELOPE" || err.code === "EMESSAGE") && typeof err.response === "string";
}

/** What fits in MAIL FROM:<...> / RCPT TO:<...>: no brackets or line breaks; "" only as sender. */
function isSendableAddress(address: string, isSender: boolean): boolean {
  if (/[\r\n<>]/.test(address)) return false;
  return isSender || address.trim() !== "";
}

/** 8-bit bytes in the body call for BODY=8BITMIME (RFC 6152) when the server offers it. */
function hasEightBitBytes(raw: Buffer): boolean {
  for (const byte of raw) if (byte > 0x7f) return true;
  return false;
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

async function handshake(options: SmtpSessionOptions, tls: TlsPolicy, timeouts: SmtpTimeouts): Promise<SMTPConnection> {
  const socket = await connectTcp(options, timeouts.connectMs);
  const servername = net.isIP(options.host) ? undefined : options.host;
  const connection = new SMTPConnection({
    connection: socket,
    host: options.address,
    port: options.port,
    name: options.hostname,
    servername,
    ignoreTLS: tls === "none",
    requireTLS: tls === "required",
    opportunisticTLS: tls === "opportunistic",
    tls: { rejectUnauthorized: tls === "required", servername },
    // nodemailer's connectionTimeout bounds everything from here to a ready session (greeting,
    // EHLO, STARTTLS); greetingTimeout bounds the greeting alone.
    connectionTimeout: timeouts.greetingMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
    logger: false,
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
        const failure = toSessionError(err, "setup", false);
        const tlsFailed = connection.upgrading === true && failure.code !== "ETLS";
        connection.close();
        reject(tlsFailed ? new SmtpSessionError(failure.message, "setup", "ETLS", failure.reply, false) : failure);
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
  return connection;
}

export async function openSmtpSession(options: SmtpSessionOptions): Promise<SmtpSession> {
  const timeouts = resolveTimeouts(options.timeouts);
  const policy = options.tls ?? "opportunistic";
  let connection: SMTPConnection;
  try {
    connection = await handshake(options, policy, timeouts);
  } catch (err) {
    // A failed TLS handshake (not a refused STARTTLS, which nodemailer already continues past)
    // leaves the session unusable. Opportunistic TLS may fall back to cleartext (RFC 7435 §3),
    // so reconnect to the same address once without STARTTLS, as KumoMTA does with
    // opportunistic_tls_reconnect_on_failed_handshake. Postfix instead defers the message and
    // sends in cleartext on the next attempt: a retry-interval delay for the same result.
    if (!(err instanceof SmtpSessionError) || err.code !== "ETLS" || policy !== "opportunistic") throw err;
    connection = await handshake(options, "none", timeouts);
  }
  return wrapConnection(connection, options);
}

function wrapConnection(connection: SMTPConnection, options: SmtpSessionOptions): SmtpSession {
  const socket = connection._socket || null;
  const remoteIp = socket?.remoteAddress ?? options.address;
  const tls = connection.secure;
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

  async function send(envelopeFrom: string, recipients: readonly string[], raw: Buffer): Promise<RecipientReply[]> {
    if (!open) throw closedError("transaction");
    // nodemailer refuses the whole envelope over one address that cannot go in angle brackets;
    // answer those here, in SMTP's terms, so they bounce instead of failing the connection.
    if (!isSendableAddress(envelopeFrom, true)) {
      const reply = parseSmtpReply(`553 5.1.7 Invalid sender address ${JSON.stringify(envelopeFrom)} (not sent)`);
      return recipients.map((recipient) => ({ recipient, reply }));
    }
    const sendable = recipients.filter((recipient) => isSendableAddress(recipient, false));
    if (sendable.length < recipients.length) {
      const sent = sendable.length > 0 ? await send(envelopeFrom, sendable, raw) : [];
      return recipients.map((recipient) => {
        const reply = sent.find((r) => r.recipient === recipient)?.reply;
        return { recipient, reply: reply ?? parseSmtpReply(`553 5.1.3 Invalid recipient address ${JSON.stringify(recipient)} (not sent)`) };
      });
    }
    messagesSent += 1;
    let bodySent = false;
    // A stream rather than the Buffer, only to learn whether any byte of the message was handed
    // over: nodemailer pipes it after the server's 354, so an unread body means the server cannot
    // have the message and a retry elsewhere cannot duplicate it.
    const body = new Readable({
      read() {
        bodySent = true;
        this.push(raw);
        this.push(null);
      },
    });
    const envelope = { from: envelopeFrom, to: [...recipients], size: raw.length, use8BitMime: hasEightBitBytes(raw) };
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
          reject(toSessionError(failure, "transaction", bodySent));
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
        reject(toSessionError(err, "reset", false));
      });
    });
  }

  function quit(): Promise<void> {
    if (!open) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => connection.close(), QUIT_TIMEOUT_MS);
      connection.once("end", () => {
        clearTimeout(timer);
        resolve();
      });
      connection.quit();
    });
  }

  return {
    host: options.host,
    remoteIp,
    tls,
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
