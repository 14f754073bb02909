// The load generator, run as its own process (forked by the benchmark with an IPC channel) so
// that it never shares an event loop with the server. It takes one LoadSpec, serializes every
// request body up front, runs the warm-up, then the measured requests, and reports a LoadResult.
// It uses node:http with a keep-alive agent (one socket per client) because it costs much less
// CPU per request than fetch/undici, and the machine's two cores are shared with the server.
import http from "node:http";
import { requestBodies } from "./messages.js";
import { wallNow, type LoadResult, type LoadSpec, type LoadgenMessage } from "./protocol.js";
import { summarizeLatencies } from "./stats.js";
import { serveOneRun } from "./worker-process.js";


function send(message: LoadgenMessage): void {
  process.send?.(message);
}

interface Response {
  status: number;
  body: Buffer;
}

function makeClient(spec: LoadSpec) {
  const url = new URL(spec.url);
  if (url.hostname !== "127.0.0.1" && url.hostname !== "localhost" && url.hostname !== "[::1]") {
    throw new Error(`the load generator only talks to loopback, not ${url.hostname}`);
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections, maxFreeSockets: spec.connections, scheduling: "fifo" });
  const baseHeaders = {
    "content-type": "application/json",
    accept: "application/json",
    "x-postmark-server-token": spec.token,
  };
  function post(body: Buffer): Promise<Response> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method: "POST",
          path: spec.path,
          headers: { ...baseHeaders, "content-length": body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
          res.on("error", reject);
        },
      );
      req.setTimeout(spec.requestTimeoutMs, () => req.destroy(new Error(`no response within ${spec.requestTimeoutMs} ms`)));
      req.on("error", reject);
      req.end(body);
    });
  }
  return { post, close: () => agent.destroy() };
}

/** Counts the messages a response accepted; throws (failing the run loudly) on anything else. */
function acceptedIn(spec: LoadSpec, res: Response): number {
  const excerpt = () => res.body.toString("utf8", 0, Math.min(res.body.length, 500));
  if (res.status !== 200) throw new Error(`POST ${spec.path} answered HTTP ${res.status}: ${excerpt()}`);
  const parsed: unknown = JSON.parse(res.body.toString("utf8"));
  if (spec.path === "/email" || spec.path === "/email/withTemplate") {
    const result = parsed as { ErrorCode?: unknown; MessageID?: unknown };
    if (result.ErrorCode !== 0 || typeof result.MessageID !== "string") throw new Error(`POST ${spec.path} did not accept the message: ${excerpt()}`);
    return 1;
  }
  if (!Array.isArray(parsed) || parsed.length !== spec.messagesPerRequest) {
    throw new Error(`POST ${spec.path} answered ${Array.isArray(parsed) ? `${parsed.length} results` : "no array"} for ${spec.messagesPerRequest} messages: ${excerpt()}`);
  }
  for (const [i, item] of (parsed as Array<{ ErrorCode?: unknown; MessageID?: unknown; Message?: unknown }>).entries()) {
    if (item.ErrorCode !== 0 || typeof item.MessageID !== "string") {
      throw new Error(`POST ${spec.path} rejected message ${i}: ErrorCode ${String(item.ErrorCode)}: ${String(item.Message)}`);
    }
  }
  return parsed.length;
}

/** Sends every body once, `connections` at a time; returns the accepted count, recording each request's latency. */
async function runPhase(spec: LoadSpec, post: (b: Buffer) => Promise<Response>, bodies: Buffer[], latencies: Float64Array | null): Promise<number> {
  let next = 0;
  let accepted = 0;
  const client = async () => {
    for (;;) {
      const i = next++;
      if (i >= bodies.length) return;
      const t0 = performance.now();
      const res = await post(bodies[i]!);
      const t1 = performance.now();
      accepted += acceptedIn(spec, res);
      if (latencies) latencies[i] = t1 - t0;
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, client));
  return accepted;
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const single = spec.path === "/email" || spec.path === "/email/withTemplate";
  const perRequest = single ? 1 : spec.messagesPerRequest;
  const templated = spec.path === "/email/withTemplate" || spec.path === "/email/batchWithTemplates";
  const common = { runId: spec.runId, perRequest, single, textBodyBytes: spec.textBodyBytes, templated };
  const warmup = requestBodies({ ...common, first: 0, count: spec.warmupRequests });
  const measured = requestBodies({ ...common, first: spec.warmupRequests * perRequest, count: spec.requests });
  const { post, close } = makeClient(spec);
  try {
    await runPhase(spec, post, warmup, null);

    const latencies = new Float64Array(measured.length);
    const cpu0 = process.cpuUsage();
    const firstSendAt = wallNow();
    const t0 = performance.now();
    send({ type: "measuring", at: firstSendAt });
    const accepted = await runPhase(spec, post, measured, latencies);
    const elapsedMs = performance.now() - t0;
    const lastResponseAt = wallNow();
    const cpu = process.cpuUsage(cpu0);

    const expected = measured.length * perRequest;
    if (accepted !== expected) throw new Error(`accepted ${accepted} of ${expected} messages`);
    let bodyBytes = 0;
    for (const b of measured) bodyBytes += b.length;
    return {
      requests: measured.length,
      acceptedMessages: accepted,
      firstSendAt,
      lastResponseAt,
      elapsedMs,
      latencyMs: summarizeLatencies(latencies),
      requestBytes: bodyBytes / measured.length,
      messageJsonBytes: bodyBytes / expected,
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
  } finally {
    close();
  }
}

serveOneRun<LoadSpec, LoadResult>("loadgen.process.js", run);
