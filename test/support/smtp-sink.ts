// A real SMTP server on loopback standing in for a remote MX: it records every transaction and
// can answer per recipient (deferrals, bounces) or slowly, as a test needs.
import { SMTPServer, type SMTPServerOptions } from "smtp-server";

export interface ReceivedMessage {
  mailFrom: string;
  rcptTo: string[];
  raw: Buffer;
  /** Message-ID header value, for matching deliveries to API messages. */
  messageId: string | null;
  /** The name the client gave in EHLO/HELO, to tell sending processes apart. */
  helo: string;
  receivedAt: number;
  /** When its MAIL FROM came (the transaction's start). */
  startedAt: number;
  /** The SMTP session (connection) that carried it. */
  sessionId: string;
}

export interface SinkReply {
  code: number;
  message: string;
}

export interface SmtpSinkOptions {
  /** Answer for a recipient at RCPT time; null accepts. `attempt` counts RCPTs seen for that address. */
  rcptReply?: (recipient: string, attempt: number) => SinkReply | null;
  /** Delay before answering DATA, to keep deliveries in flight. */
  dataDelayMs?: number;
  /** Offer STARTTLS (with smtp-server's built-in self-signed certificate). */
  starttls?: boolean;
  /** Where to listen: 127.0.0.1 and a port of the system's choosing unless set (another loopback address can stand for a second remote host on the same port). */
  host?: string;
  port?: number;
}

export interface SmtpSink {
  port: number;
  messages: ReceivedMessage[];
  connections: number;
  /** Connections open now, and the most open at once so far. */
  openNow: number;
  maxOpen: number;
  waitForMessages(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ReceivedMessage[] = [];
  const attempts = new Map<string, number>();
  const waiters: Array<() => void> = [];
  let connections = 0;
  let openNow = 0;
  let maxOpen = 0;
  const started = new Map<string, number>();

  const serverOptions: SMTPServerOptions = {
    authOptional: true,
    disabledCommands: options.starttls ? ["AUTH"] : ["AUTH", "STARTTLS"],
    logger: false,
    size: 50 * 1024 * 1024,
    onConnect(_session, callback) {
      connections += 1;
      openNow += 1;
      maxOpen = Math.max(maxOpen, openNow);
      callback();
    },
    onClose(session) {
      openNow -= 1;
      started.delete(session.id);
    },
    onMailFrom(_address, session, callback) {
      started.set(session.id, Date.now());
      callback();
    },
    onRcptTo(address, _session, callback) {
      const recipient = address.address;
      const attempt = (attempts.get(recipient.toLowerCase()) ?? 0) + 1;
      attempts.set(recipient.toLowerCase(), attempt);
      const reply = options.rcptReply?.(recipient, attempt);
      if (!reply) return callback();
      const err = new Error(reply.message) as Error & { responseCode: number };
      err.responseCode = reply.code;
      callback(err);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const finish = () => {
          const raw = Buffer.concat(chunks);
          const header = raw.subarray(0, raw.indexOf("\r\n\r\n") >= 0 ? raw.indexOf("\r\n\r\n") : raw.length).toString("utf8");
          const match = /^message-id:\s*(<[^>]+>)/im.exec(header);
          messages.push({
            mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            rcptTo: session.envelope.rcptTo.map((r) => r.address),
            raw,
            messageId: match ? match[1]! : null,
            helo: session.hostNameAppearsAs,
            receivedAt: Date.now(),
            startedAt: started.get(session.id) ?? Date.now(),
            sessionId: session.id,
          });
          for (const w of waiters.splice(0)) w();
          callback(null, "2.0.0 Ok: queued as test");
        };
        if (options.dataDelayMs) setTimeout(finish, options.dataDelayMs);
        else finish();
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  // Clients that die mid-session (the crash tests kill them) reset their sockets; smtp-server
  // reports that as an 'error' event, which is expected here and not a failure of the sink.
  server.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  return {
    port,
    messages,
    get connections() {
      return connections;
    },
    get openNow() {
      return openNow;
    },
    get maxOpen() {
      return maxOpen;
    },
    async waitForMessages(count, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      while (messages.length < count) {
        const left = until - Date.now();
        if (left <= 0) throw new Error(`sink received ${messages.length} of ${count} messages before the timeout`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 200));
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
