// A client that trickles bytes (slow loris) for the deadline tests: it writes the text a few bytes
// at a time with a pause between, and records what the server answers and when it closes.
import net from "node:net";

export interface SlowClient {
  /** Everything the server wrote so far. */
  readonly received: string;
  /** Sends a line at once (CRLF added) and resolves with the reply text that follows. */
  command(line: string): Promise<string>;
  /** Writes `text` in pieces of `chunk` bytes every `intervalMs` until done or the server closes. */
  trickle(text: string, intervalMs: number, chunk?: number): void;
  /** Resolves with the milliseconds from `since` until the server closed the connection. */
  readonly closed: Promise<number>;
  destroy(): void;
}

export async function openSlowClient(port: number, host = "127.0.0.1"): Promise<SlowClient> {
  const socket = net.connect({ port, host });
  let received = "";
  let open = true;
  let listener: (() => void) | null = null;
  const started = Date.now();
  const closed = new Promise<number>((resolve) =>
    socket.once("close", () => {
      open = false;
      resolve(Date.now() - started);
    }),
  );
  socket.on("error", () => undefined);
  socket.on("data", (chunk: Buffer) => {
    received += chunk.toString("utf8");
    listener?.();
  });
  const until = (test: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      if (test()) return resolve();
      listener = () => {
        if (test()) {
          listener = null;
          resolve();
        }
      };
      void closed.then(() => (test() ? resolve() : reject(new Error(`closed; received: ${received}`))));
    });
  await until(() => /^220 .*\r\n/.test(received));
  return {
    get received() {
      return received;
    },
    async command(line) {
      const from = received.length;
      socket.write(`${line}\r\n`);
      await until(() => /(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(received.slice(from)));
      return received.slice(from);
    },
    trickle(text, intervalMs, chunk = 1) {
      let at = 0;
      const next = () => {
        if (!open || at >= text.length) return;
        socket.write(text.slice(at, at + chunk));
        at += chunk;
        setTimeout(next, intervalMs).unref();
      };
      next();
    },
    closed,
    destroy: () => socket.destroy(),
  };
}
