// A real smtp-server on loopback that records what it receives and answers as told, for tests of
// the outbound transport. Replies are written out whole ("550 5.1.1 User unknown"): the server's
// own enhanced status codes are hidden so each test controls the exact text on the wire.
import { SMTPServer, type SMTPServerSession } from "smtp-server";

export interface SinkMessage {
  from: string;
  to: string[];
  /** The MAIL FROM parameters as given ("BODY" → "8BITMIME", "SMTPUTF8" → true), upper-case names. */
  mailArgs: Record<string, string | true>;
  /** The RCPT TO parameters of each recipient, in `to`'s order. */
  rcptArgs: Array<Record<string, string | true>>;
  raw: Buffer;
  sessionId: string;
  secure: boolean;
}

/** A reply like "550 5.1.1 User unknown", or undefined to accept. */
type ReplyRule<T> = (value: T, session: SMTPServerSession) => string | undefined;

export interface SmtpTestSinkOptions {
  /** Listen address; 127.0.0.1 unless set. */
  host?: string;
  /** Listen port; any free one unless set. */
  port?: number;
  /** Offer STARTTLS (with smtp-server's built-in self-signed certificate). Off unless set. */
  starttls?: boolean;
  /** Cap the server's TLS version, e.g. "TLSv1.1" to make a modern client's handshake fail. */
  tlsMaxVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2";
  /** A reply for the greeting instead of 220 ("421 4.3.2 Too busy"); the server then closes. */
  greeting?: string;
  mailFrom?: ReplyRule<string>;
  rcptTo?: ReplyRule<string>;
  /** A reply for the end of DATA, or "drop" to cut the connection before answering. */
  data?: (message: SinkMessage) => string | "drop" | undefined;
  /** Delay before answering the end of DATA, to hold connections busy. */
  dataDelayMs?: number;
  /** Announce SIZE with this limit (RFC 1870). */
  sizeLimit?: number;
  /** Extensions not to announce in EHLO (smtp-server's hide8BITMIME, hideSMTPUTF8, hideDSN); DSN,
   *  which smtp-server hides unless told, is announced when not listed here. */
  hide?: Array<"8BITMIME" | "SMTPUTF8" | "DSN">;
}

export interface SmtpTestSink {
  readonly host: string;
  readonly port: number;
  readonly messages: SinkMessage[];
  /** Sessions opened so far, and the most open at one time. */
  readonly stats: { connections: number; open: number; maxOpen: number };
  close(): Promise<void>;
}

function argsOf(address: unknown): Record<string, string | true> {
  const args = address ? (address as { args?: Record<string, string | true> | false }).args : undefined;
  return args ? { ...args } : {};
}

function replyError(reply: string): Error {
  const match = /^(\d{3})\s+(.*)$/s.exec(reply);
  if (!match) throw new Error(`a sink reply needs a code: ${reply}`);
  return Object.assign(new Error(match[2]), { responseCode: Number(match[1]) });
}

export async function startSmtpTestSink(options: SmtpTestSinkOptions = {}): Promise<SmtpTestSink> {
  const host = options.host ?? "127.0.0.1";
  const messages: SinkMessage[] = [];
  const stats = { connections: 0, open: 0, maxOpen: 0 };
  const server: SMTPServer = new SMTPServer({
    logger: false,
    hideENHANCEDSTATUSCODES: true,
    disableReverseLookup: true,
    size: options.sizeLimit,
    hideDSN: false,
    ...Object.fromEntries((options.hide ?? []).map((name) => [`hide${name}`, true])),
    ...(options.tlsMaxVersion ? { maxVersion: options.tlsMaxVersion, minVersion: "TLSv1" as const } : {}),
    disabledCommands: options.starttls ? ["AUTH"] : ["AUTH", "STARTTLS"],
    onConnect(_session, callback) {
      stats.connections += 1;
      stats.open += 1;
      stats.maxOpen = Math.max(stats.maxOpen, stats.open);
      callback(options.greeting ? replyError(options.greeting) : null);
    },
    onClose() {
      stats.open -= 1;
    },
    onMailFrom(address, session, callback) {
      const reply = options.mailFrom?.(address.address, session);
      callback(reply ? replyError(reply) : null);
    },
    onRcptTo(address, session, callback) {
      const reply = options.rcptTo?.(address.address, session);
      callback(reply ? replyError(reply) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const message: SinkMessage = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          mailArgs: argsOf(session.envelope.mailFrom),
          rcptArgs: session.envelope.rcptTo.map((r) => argsOf(r)),
          raw: Buffer.concat(chunks),
          sessionId: session.id,
          secure: session.secure,
        };
        messages.push(message);
        const reply = options.data?.(message);
        if (reply === "drop") {
          for (const connection of server.connections) {
            if (connection.id === session.id) connection._socket.destroy();
          }
          return;
        }
        const answer = () => callback(reply ? replyError(reply) : null, reply ? undefined : "2.0.0 queued");
        if (options.dataDelayMs) setTimeout(answer, options.dataDelayMs);
        else answer();
      });
    },
  });
  // Client-side failures (a TLS handshake a test makes fail, a dropped socket) are reported as
  // server 'error' events; unheard they would throw.
  server.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    host,
    port,
    messages,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        // Sessions a test left open are cut rather than waited for (smtp-server waits 30 s).
        for (const connection of server.connections) connection._socket.destroy();
        server.close(() => resolve());
      }),
  };
}
