// What both SMTP listeners (submission and inbound MX) need around smtp-server: a hook on each
// new connection (to keep per-session state and adjust replies), reading DATA within the size
// limit, and replies that keep our enhanced status codes.
import type net from "node:net";
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";
import { EDGE_REPLIES, startsWithEnhancedCode, type SmtpReply } from "./smtp.errors-map.js";
import { rateLimitKey } from "./auth.rate-limit.js";

export type SmtpConnection = SMTPServer["connections"] extends Set<infer C> ? C : never;

/** smtp-server with a hook on each new connection, so that replies keep our enhanced codes. */
export class HookedSmtpServer extends SMTPServer {
  onNewConnection: ((connection: SmtpConnection) => void) | null = null;
  private readonly seen = new WeakSet<SmtpConnection>();

  override connect(...args: Parameters<SMTPServer["connect"]>): void {
    super.connect(...args);
    let newest: SmtpConnection | undefined;
    for (const connection of this.connections) newest = connection; // a Set keeps insertion order
    if (newest && !this.seen.has(newest)) {
      this.seen.add(newest);
      this.onNewConnection?.(newest);
    }
  }
}

/** Reads the message after DATA, keeping nothing past the size limit (the reply is 552 then). */
export function readMessage(stream: SMTPServerDataStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    stream.on("data", (chunk: Buffer) => {
      if (stream.sizeExceeded) return;
      chunks.push(chunk);
      length += chunk.length;
    });
    stream.once("end", () => resolve(Buffer.concat(chunks, length)));
    stream.once("error", reject);
  });
}

export function sendReply(connection: SmtpConnection, reply: SmtpReply): void {
  connection.send(reply.code, `${reply.enhanced} ${reply.text}`);
}

/**
 * Adjusts the connection's replies. smtp-server derives the enhanced status code of an
 * application's reply from the basic code alone (550 → 5.1.1); ours carry their own at the start
 * of the text (smtp.errors-map.ts), so the connection must not add a second one. Its 538 (AUTH
 * before STARTTLS) gets RFC 4954's 5.7.11 instead of 5.7.0. And in clear text, unless insecure AUTH
 * is allowed, EHLO does not advertise AUTH (RFC 4954 §4; Postfix's smtpd_tls_auth_only): clients
 * then upgrade first instead of sending the token in the clear and being refused.
 */
export function adjustReplies(connection: SmtpConnection, options: { hideAuthInClearText: boolean }): void {
  const send = connection.send.bind(connection);
  connection.send = (code, data, context) => {
    if (code === 538) return send(538, `${EDGE_REPLIES.encryptionRequired.enhanced} ${EDGE_REPLIES.encryptionRequired.text}`, false);
    if (Array.isArray(data) && code === 250 && options.hideAuthInClearText && !connection.secure) {
      return send(code, data.filter((line, i) => i === 0 || !/^AUTH /i.test(line)), context);
    }
    send(code, data, startsWithEnhancedCode(data) ? false : context);
  };
}

/** Listens and resolves with the bound address, or rejects with an error that names the address (a port in use). */
export function listenSmtp(server: SMTPServer, port: number, host: string): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error & { code?: string }) => {
      const reason = err.code === "EADDRINUSE" ? "the port is in use" : err.code === "EACCES" ? "permission denied (ports below 1024 need privileges)" : err.message;
      reject(Object.assign(new Error(`cannot listen on ${host.includes(":") ? `[${host}]` : host}:${port}: ${reason}`), { code: err.code }));
    };
    server.server.once("error", onError);
    server.listen(port, host, () => {
      server.server.off("error", onError);
      resolve(server.server.address() as net.AddressInfo);
    });
  });
}

/**
 * Two-phase shutdown shared by the listeners: stop accepting, tell idle sessions 421 4.3.2 (they
 * have nothing in flight), and let sessions inside DATA finish; smtp-server cuts what remains at
 * its closeTimeout. `inData` tells which sessions are busy; `onClosing` flips the caller's flag first.
 */
export function closeSmtp(server: SMTPServer, inData: (session: SMTPServerSession) => boolean, onClosing: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    onClosing();
    server.close(() => resolve());
    for (const connection of server.connections) {
      if (!inData(connection.session)) sendReply(connection, EDGE_REPLIES.shuttingDown);
    }
  });
}

/** Answers the end of DATA; during shutdown the session is then told 421 and closed (its work is done). */
export function answerData(connection: SmtpConnection | undefined, closing: boolean, answer: () => void): void {
  answer();
  if (closing && connection) setImmediate(() => sendReply(connection, EDGE_REPLIES.shuttingDown));
}

/**
 * Concurrent sessions per client address (an IPv6 /64 counts as one), like Postfix's
 * smtpd_client_connection_count_limit: one client cannot take every session of the listener.
 * Counted at connect, released when the session closes.
 */
export class SessionsPerClient {
  private readonly counts = new Map<string, number>();
  private readonly counted = new WeakSet<SMTPServerSession>();

  constructor(private readonly limit: number) {}

  /** Counts a new session; false when its address already holds `limit` sessions. */
  admit(session: SMTPServerSession): boolean {
    const key = rateLimitKey(session.remoteAddress);
    const held = this.counts.get(key) ?? 0;
    if (held >= this.limit) return false;
    this.counts.set(key, held + 1);
    this.counted.add(session);
    return true;
  }

  release(session: SMTPServerSession): void {
    if (!this.counted.has(session)) return;
    this.counted.delete(session);
    const key = rateLimitKey(session.remoteAddress);
    const held = (this.counts.get(key) ?? 1) - 1;
    if (held <= 0) this.counts.delete(key);
    else this.counts.set(key, held);
  }
}
