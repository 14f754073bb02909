// A loopback SMTP sink standing in for the remote MX in the end-to-end benchmark, run as its own
// process (forked with an IPC channel) so its CPU is not taken from the server's event loop. It
// answers 250 to everything as soon as DATA ends, and only counts: connections, messages,
// recipients, bytes, and Message-IDs seen twice. It reports when it has received a given number
// of distinct messages.
import { SMTPServer } from "smtp-server";
import { wallNow, type SinkCommand, type SinkMessage, type SinkStats } from "./protocol.js";

/** The longest a sink may live, whatever happens to its parent. */
const MAX_LIFETIME_MS = 10 * 60_000;
/** Only the header block is kept, to find the Message-ID; the rest of the message is counted and dropped. */
const MAX_HEADER_BYTES = 64 * 1024;

function send(message: SinkMessage): void {
  process.send?.(message);
}

let connections = 0;
let open = 0;
let peakOpen = 0;
let messages = 0;
let recipients = 0;
let duplicates = 0;
/** Messages that arrived with a DKIM-Signature header. */
let signed = 0;
let distinct = 0;
let bytes = 0;
let firstMessageAt: number | null = null;
let lastMessageAt: number | null = null;
const seen = new Set<string>();
let expected = Infinity;
let reached = false;

function stats(): SinkStats {
  const cpu = process.cpuUsage();
  return {
    connections,
    peakConcurrentConnections: peakOpen,
    messages,
    recipients,
    duplicates,
    signed,
    distinct,
    bytes,
    firstMessageAt,
    lastMessageAt,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

function checkReached(at: number): void {
  if (!reached && distinct >= expected) {
    reached = true;
    send({ type: "reached", at, stats: stats() });
  }
}

const server = new SMTPServer({
  name: "sink.bench.test",
  authOptional: true,
  disabledCommands: ["AUTH", "STARTTLS"],
  logger: false,
  size: 50 * 1024 * 1024,
  // The MTA keeps up to POSTHORN_MAX_CONNECTIONS_PER_DESTINATION connections; allow plenty.
  maxClients: 1000,
  onConnect(_session, callback) {
    connections += 1;
    open += 1;
    if (open > peakOpen) peakOpen = open;
    callback();
  },
  onClose() {
    open -= 1;
  },
  onData(stream, session, callback) {
    let head = "";
    let headDone = false;
    stream.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (headDone) return;
      head += chunk.toString("latin1");
      const end = head.indexOf("\r\n\r\n");
      if (end >= 0 || head.length > MAX_HEADER_BYTES) {
        headDone = true;
        if (end >= 0) head = head.slice(0, end);
      }
    });
    stream.on("end", () => {
      const at = wallNow();
      messages += 1;
      recipients += session.envelope.rcptTo.length;
      if (/^dkim-signature:/im.test(head)) signed += 1;
      const match = /^message-id:[ \t]*(?:\r\n[ \t]+)?(<[^>\r\n]+>)/im.exec(head);
      if (match && seen.has(match[1]!)) {
        duplicates += 1;
      } else {
        if (match) seen.add(match[1]!);
        distinct += 1;
      }
      firstMessageAt ??= at;
      lastMessageAt = at;
      callback(null, "2.0.0 Ok: queued by the bench sink");
      checkReached(at);
    });
  },
});

server.on("error", (err: Error) => send({ type: "error", message: err.stack ?? err.message }));

process.on("message", (command: SinkCommand) => {
  switch (command.type) {
    case "expect":
      expected = command.distinct;
      checkReached(wallNow());
      break;
    case "stats":
      send({ type: "stats", stats: stats() });
      break;
    case "close":
      server.close(() => process.exit(0));
      setTimeout(() => process.exit(0), 2000).unref();
      break;
  }
});
process.on("disconnect", () => process.exit(0));
setTimeout(() => process.exit(3), MAX_LIFETIME_MS).unref();

if (!process.send) {
  process.stderr.write("sink.process.js is started by the benchmark (bench/api.bench.ts), with an IPC channel\n");
  process.exit(2);
}
server.listen(0, "127.0.0.1", () => {
  const address = server.server.address();
  send({ type: "listening", port: typeof address === "object" && address ? address.port : 0 });
});
