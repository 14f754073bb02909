// A line-level SMTP client for tests that need exact replies to exact commands (MAIL FROM:<>,
// a 51st RCPT, AUTH before STARTTLS), which nodemailer's client would not send or would hide.
// Commands are sent one at a time; each call returns the whole reply (multi-line joined by \n).
import net from "node:net";
import tls from "node:tls";

export interface SmtpDialog {
  /** The greeting (220 …). */
  readonly greeting: string;
  /** Sends one command line and returns its reply. */
  command(line: string): Promise<string>;
  /** Sends raw bytes (a message body ending in CRLF.CRLF) and returns the reply. */
  data(raw: string | Buffer): Promise<string>;
  /** STARTTLS, then the TLS handshake without verification; returns the server certificate's SHA-256 fingerprint. */
  startTls(): Promise<string>;
  /** Resolves when the server has closed the connection. */
  readonly closed: Promise<void>;
  close(): void;
}

export async function openSmtpDialog(port: number, host = "127.0.0.1"): Promise<SmtpDialog> {
  let socket: net.Socket = net.connect({ port, host });
  let buffer = "";
  let waiting: { resolve: (reply: string) => void; reject: (err: Error) => void } | null = null;
  let closedResolve!: () => void;
  const closed = new Promise<void>((resolve) => (closedResolve = resolve));

  const tryReply = () => {
    if (!waiting) return;
    const lines = buffer.split("\r\n");
    for (let i = 0; i < lines.length - 1; i++) {
      if (/^\d{3} /.test(lines[i]!) || /^\d{3}$/.test(lines[i]!)) {
        const reply = lines.slice(0, i + 1).join("\n");
        buffer = lines.slice(i + 1).join("\r\n");
        const w = waiting;
        waiting = null;
        w.resolve(reply);
        return;
      }
    }
  };
  const attach = (s: net.Socket) => {
    s.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      tryReply();
    });
    s.on("close", () => {
      closedResolve();
      if (waiting) waiting.reject(new Error(`connection closed; unread: ${buffer}`));
      waiting = null;
    });
    s.on("error", () => undefined);
  };
  const next = () =>
    new Promise<string>((resolve, reject) => {
      waiting = { resolve, reject };
      tryReply();
    });

  attach(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const greeting = await next();

  return {
    greeting,
    closed,
    async command(line) {
      socket.write(line + "\r\n");
      return next();
    },
    async data(raw) {
      socket.write(raw);
      return next();
    },
    async startTls() {
      socket.write("STARTTLS\r\n");
      const reply = await next();
      if (!reply.startsWith("220")) throw new Error(`STARTTLS refused: ${reply}`);
      socket.removeAllListeners("data");
      socket.removeAllListeners("close");
      const secure = tls.connect({ socket, rejectUnauthorized: false, servername: "localhost" });
      await new Promise<void>((resolve, reject) => {
        secure.once("secureConnect", resolve);
        secure.once("error", reject);
      });
      socket = secure;
      attach(secure);
      return secure.getPeerCertificate().fingerprint256;
    },
    close() {
      socket.destroy();
    },
  };
}
