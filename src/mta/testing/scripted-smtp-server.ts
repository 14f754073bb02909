// An SMTP server on loopback that answers each command from a script, for tests of what a client
// puts on the wire and when: whether MAIL, RCPT and DATA arrive in one write (PIPELINING, RFC
// 2920), and how the client times out a server that stays silent in one phase. smtp-server hides
// both (it parses and answers for us), hence this raw one. Tests only.
import net from "node:net";

/** A reply line to send, after a delay; "silent" never answers. */
export type ScriptedReply = { reply: string; delayMs?: number } | "silent";

export interface ScriptedSmtpOptions {
  /** EHLO keywords to announce, e.g. ["PIPELINING", "8BITMIME"]. */
  extensions?: string[];
  /** Replies by command verb (MAIL, RCPT, DATA, RSET, QUIT); 250 OK (354 for DATA) otherwise. */
  replies?: Partial<Record<string, ScriptedReply>>;
  /** The reply to the "." ending the message. */
  dataEnd?: ScriptedReply;
}

export interface ScriptedSmtpServer {
  readonly port: number;
  /** Command lines in the order received. */
  readonly commands: string[];
  /** For each command line, how many command lines arrived in the same read from the socket. */
  readonly batchSizes: Map<string, number>;
  close(): Promise<void>;
}

const DEFAULT_REPLIES: Record<string, string> = { DATA: "354 go ahead", QUIT: "221 bye" };

export async function startScriptedSmtpServer(options: ScriptedSmtpOptions = {}): Promise<ScriptedSmtpServer> {
  const sockets = new Set<net.Socket>();
  const commands: string[] = [];
  const batchSizes = new Map<string, number>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let buffer = "";
    let inBody = false;
    // Replies leave in command order even when one is delayed, as a real server's would.
    let replyChain: Promise<void> = Promise.resolve();
    const answer = (scripted: ScriptedReply) => {
      replyChain = replyChain.then(async () => {
        if (scripted === "silent") return new Promise<void>(() => undefined);
        if (scripted.delayMs) await new Promise((r) => setTimeout(r, scripted.delayMs));
        if (!socket.destroyed) socket.write(`${scripted.reply}\r\n`);
      });
    };
    socket.write("220 scripted.test ESMTP\r\n");
    socket.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("latin1");
      const lines: string[] = [];
      for (let end = buffer.indexOf("\r\n"); end >= 0; end = buffer.indexOf("\r\n")) {
        lines.push(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
      const batch = inBody ? 0 : lines.length;
      for (const line of lines) {
        if (inBody) {
          if (line === ".") {
            inBody = false;
            answer(options.dataEnd ?? { reply: "250 2.0.0 queued" });
          }
          continue;
        }
        commands.push(line);
        batchSizes.set(line, batch);
        const verb = line.split(" ")[0]!.toUpperCase();
        if (verb === "EHLO") {
          const keywords = ["scripted.test", ...(options.extensions ?? [])];
          answer({ reply: keywords.map((k, i) => `250${i === keywords.length - 1 ? " " : "-"}${k}`).join("\r\n") });
          continue;
        }
        const scripted = options.replies?.[verb] ?? { reply: DEFAULT_REPLIES[verb] ?? "250 2.0.0 OK" };
        if (verb === "DATA" && scripted !== "silent" && scripted.reply.startsWith("354")) inBody = true;
        answer(scripted);
        if (verb === "QUIT") replyChain = replyChain.then(() => void socket.end());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    commands,
    batchSizes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
