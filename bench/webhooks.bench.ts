// `npm run bench:webhooks`: outbound webhook posts per second to a local receiver, through the
// whole worker path: delivery.delivered events written to the outbox → the outbound consumer
// schedules one post each (body built by the Postmark payload builder) → the dispatcher signs and
// posts them → every attempt recorded. The receiver is a separate process (it answers 200 at
// once); Posthorn runs in this process with role worker only, on SQLite. Prints one line.
//
//   BENCH_WEBHOOK_POSTS=20000     how many posts
//   BENCH_WEBHOOK_CONCURRENCY=50  posts at once to the one endpoint
import { fork } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config/config.schema.js";
import { silentLogger } from "../src/shared/logger.js";
import { startApp } from "../src/app/app.js";
import type { NewEvent } from "../src/events/event-map.js";

const POSTS = Number(process.env.BENCH_WEBHOOK_POSTS ?? 20_000);
const CONCURRENCY = process.env.BENCH_WEBHOOK_CONCURRENCY ?? "50";
const EVENTS_PER_WRITE = 500;

const RECEIVER = `
const http = require("node:http");
let count = 0;
let connections = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.end("ok");
    if (++count % 1000 === 0 || count === ${POSTS}) process.send({ count, connections });
  });
});
server.on("connection", () => connections++);
server.keepAliveTimeout = 5000;
server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
process.on("message", (m) => { if (m === "stop") process.exit(0); });
`;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "posthorn-bench-webhooks-"));
  const receiverJs = join(dataDir, "receiver.cjs");
  writeFileSync(receiverJs, RECEIVER);
  const receiver = fork(receiverJs, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  let received = 0;
  let connections = 0;
  let done: () => void = () => undefined;
  const allReceived = new Promise<void>((resolve) => (done = resolve));
  const port = await new Promise<number>((resolve) =>
    receiver.on("message", (m: { port?: number; count?: number; connections?: number }) => {
      if (m.port) resolve(m.port);
      if (m.count !== undefined) {
        received = m.count;
        connections = m.connections ?? 0;
        if (received >= POSTS) done();
      }
    }),
  );
  const config = loadConfig({
    POSTHORN_DATA_DIR: dataDir,
    POSTHORN_ROLES: "worker",
    POSTHORN_HOSTNAME: "bench.test",
    LOG_LEVEL: "silent",
    POSTHORN_WEBHOOK_ALLOWED_NETWORKS: "127.0.0.1/32",
    POSTHORN_WEBHOOK_ENDPOINT_CONCURRENCY: CONCURRENCY,
  });
  const app = await startApp(config, silentLogger());
  try {
    const { workspace } = await app.services.workspaces.create("bench", { sandbox: false });
    await app.services.webhooks.create(workspace.id, "outbound", { url: `http://127.0.0.1:${port}/hook`, triggers: { delivery: { enabled: true } } });
    const attempt = { reply: "250 2.0.0 Ok: queued", code: 250, enhanced: "2.0.0", remoteHost: "mx.example.test", remoteIp: "192.0.2.1", tls: true };
    const started = performance.now();
    for (let i = 0; i < POSTS; i += EVENTS_PER_WRITE) {
      const events: NewEvent[] = Array.from({ length: Math.min(EVENTS_PER_WRITE, POSTS - i) }, (_, j) => ({
        type: "delivery.delivered",
        workspaceId: workspace.id,
        messageId: `m-${i + j}`,
        recipient: `reader${i + j}@example.test`,
        data: { stream: "outbound", attempt },
      }));
      await app.services.store.write((trx) => app.services.outbox.emit(trx, events));
    }
    const timeout = setTimeout(() => {
      console.error(`webhooks: only ${received} of ${POSTS} posts arrived in 120 s`);
      process.exit(1);
    }, 120_000);
    const progress = process.env.BENCH_WEBHOOK_PROGRESS
      ? setInterval(async () => {
          const rows = await app.services.store.db.selectFrom("webhook_deliveries").select(["state"]).execute();
          const posted = rows.filter((r) => r.state === "posted").length;
          console.log(`${((performance.now() - started) / 1000).toFixed(1)} s: ${rows.length} scheduled, ${posted} posted, ${received} received`);
        }, 1_000)
      : null;
    await allReceived;
    if (progress) clearInterval(progress);
    clearTimeout(timeout);
    const seconds = (performance.now() - started) / 1000;
    console.log(`webhooks.posts_per_s: ${Math.round(POSTS / seconds)} posts/s (${POSTS} Delivery posts, ${CONCURRENCY} at once to one endpoint, ${seconds.toFixed(1)} s, ${connections} connections; target ≥ 2,000/s)`);
  } finally {
    receiver.send("stop");
    await app.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
