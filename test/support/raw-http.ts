// A request written byte by byte on a raw socket, for what fetch cannot do: announce a body and
// send only part of it (to prove a refusal came before the body was read), or send chunked
// bodies by hand. Resolves with the first HTTP answer, or null when none came in time.
import { connect, type Socket } from "node:net";

export interface RawAnswer {
  status: number;
  headers: string;
  body: string;
  /** Whether the server closed the connection after answering. */
  closed: boolean;
}

export function rawRequest(baseUrl: string, data: string | Buffer, waitMs = 10_000): Promise<RawAnswer | null> {
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket: Socket = connect(Number(url.port), url.hostname);
    let received = "";
    let answer: RawAnswer | null = null;
    const finish = (): void => {
      clearTimeout(limit);
      socket.destroy();
      resolve(answer);
    };
    const limit = setTimeout(finish, waitMs);
    socket.on("error", () => undefined);
    socket.write(data);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      const end = received.indexOf("\r\n\r\n");
      if (end < 0 || answer) return;
      const headers = received.slice(0, end);
      const length = Number(/content-length:\s*(\d+)/i.exec(headers)?.[1] ?? 0);
      if (received.length - end - 4 < length) return;
      answer = { status: Number(headers.split(" ")[1]), headers, body: received.slice(end + 4, end + 4 + length), closed: false };
      // Give the server a moment to close, then report what it did.
      setTimeout(finish, 200);
    });
    socket.on("close", () => {
      if (answer) answer.closed = true;
      finish();
    });
  });
}

/** The head of a POST announcing `length` bytes of JSON body. */
export function postHead(path: string, headers: Record<string, string>, length: number): string {
  const lines = Object.entries({ Host: "posthorn.test", "Content-Type": "application/json", "Content-Length": String(length), ...headers }).map(([k, v]) => `${k}: ${v}`);
  return `POST ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`;
}
