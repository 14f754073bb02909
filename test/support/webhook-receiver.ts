// A real HTTP endpoint on loopback that records webhook posts and answers as a test tells it.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedPost {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
  at: number;
  /** The status answered (recorded when the answer is sent). */
  status?: number;
}

export interface WebhookReceiver {
  url: string;
  posts: ReceivedPost[];
  /** Most posts seen in flight at once. */
  maxConcurrent: number;
  /** Answers each post: a status (default 200) and a body (default "answer <status>"), after an optional delay; "hang" never answers. */
  answer: (post: ReceivedPost) => { status?: number; delayMs?: number; body?: string } | "hang";
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  let inFlight = 0;
  const sockets = new Set<import("node:net").Socket>();
  const receiver: WebhookReceiver = {
    url: "",
    posts: [],
    maxConcurrent: 0,
    answer: () => ({ status: 200 }),
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // recorded as sent
      }
      const post: ReceivedPost = { path: req.url ?? "", headers: req.headers, body, json, at: Date.now() };
      inFlight++;
      receiver.maxConcurrent = Math.max(receiver.maxConcurrent, inFlight);
      const answer = receiver.answer(post);
      if (answer === "hang") return;
      const finish = () => {
        inFlight--;
        receiver.posts.push({ ...post, status: answer.status ?? 200 });
        res.writeHead(answer.status ?? 200, { "content-type": "text/plain" }).end(answer.body ?? `answer ${answer.status ?? 200}`);
      };
      if (answer.delayMs) setTimeout(finish, answer.delayMs);
      else finish();
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}
