// smtp-server on loopback with STARTTLS under the test certificate (test-certificates.ts), for
// tests of certificate checks and SNI, and with smtp-server's maxClients, for tests of a server
// that refuses connections beyond a number ("421 ... Too many connected clients"). Tests only.
import { SMTPServer, type SMTPServerSession } from "smtp-server";
import { TEST_SERVER_CERT_PEM, TEST_SERVER_KEY_PEM } from "./test-certificates.js";

export interface TlsSmtpSinkOptions {
  host?: string;
  port?: number;
  /** Offer STARTTLS with the test certificate. On unless false. */
  starttls?: boolean;
  /** Refuse connections beyond this many open ones with 421 (smtp-server's maxClients). */
  maxClients?: number;
  dataDelayMs?: number;
}

export interface TlsSmtpSink {
  readonly port: number;
  /** Per message: recipients, whether it came over TLS, and the SNI name the client sent. */
  readonly messages: Array<{ to: string[]; secure: boolean; servername: string | undefined }>;
  /** TCP connections accepted (refused ones included), sessions served, most served at once. */
  readonly stats: { accepted: number; sessions: number; open: number; maxOpen: number };
  close(): Promise<void>;
}

export async function startTlsSmtpSink(options: TlsSmtpSinkOptions = {}): Promise<TlsSmtpSink> {
  const messages: TlsSmtpSink["messages"] = [];
  const stats = { accepted: 0, sessions: 0, open: 0, maxOpen: 0 };
  // smtp-server calls onClose for refused connections too; only what onConnect counted is open.
  const counted = new WeakSet<object>();
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    disabledCommands: options.starttls === false ? ["AUTH", "STARTTLS"] : ["AUTH"],
    key: TEST_SERVER_KEY_PEM,
    cert: TEST_SERVER_CERT_PEM,
    maxClients: options.maxClients,
    onConnect(session, callback) {
      counted.add(session);
      stats.sessions += 1;
      stats.open += 1;
      stats.maxOpen = Math.max(stats.maxOpen, stats.open);
      callback();
    },
    onClose(session) {
      if (counted.delete(session)) stats.open -= 1;
    },
    onData(stream, session: SMTPServerSession & { servername?: string }, callback) {
      stream.resume();
      stream.on("end", () => {
        messages.push({ to: session.envelope.rcptTo.map((r) => r.address), secure: session.secure, servername: session.servername });
        if (options.dataDelayMs) setTimeout(() => callback(), options.dataDelayMs);
        else callback();
      });
    },
  });
  server.on("error", () => undefined);
  server.server.on("connection", () => void (stats.accepted += 1));
  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    messages,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        for (const connection of server.connections) connection._socket.destroy();
        server.close(() => resolve());
      }),
  };
}
