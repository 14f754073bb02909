// The track benchmark's load generator, forked as its own process so it never shares an event
// loop with the server. It receives one TrackLoadSpec, keeps `connections` requests in flight
// over keep-alive sockets (node:http: far less CPU per request than fetch), runs a warm-up and
// then the measured window, and reports how many events the server acknowledged. Every event
// carries a fresh id (shaped as its client makes them: eventId), so the server's de-duplication
// never drops one. Anything but a 2xx fails the run loudly: a benchmark that counted refusals as
// throughput would lie.
import http from "node:http";
import { randomUUID } from "node:crypto";

export type TrackLoadKind = "track-v1" | "segment-track" | "segment-batch" | "v2-batch";

export interface TrackLoadSpec {
  url: string;
  kind: TrackLoadKind;
  /** Authorization header value. */
  authorization: string;
  connections: number;
  /** Events per request (1 for the single kinds). */
  batchSize: number;
  warmupMs: number;
  durationMs: number;
  /** People the events are spread over. */
  people: number;
}

export interface TrackLoadResult {
  requests: number;
  events: number;
  windowMs: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

const PATHS: Record<TrackLoadKind, (person: string) => string> = {
  "track-v1": (person) => `/api/v1/customers/${encodeURIComponent(person)}/events`,
  "segment-track": () => "/v1/track",
  "segment-batch": () => "/v1/batch",
  "v2-batch": () => "/api/v2/batch",
};

let counter = 0;

/**
 * An event id as the clients make them, because the de-duplication keys' order decides what
 * recording them costs: @segment/analytics-node's messageId is `node-next-<ms>-<uuid v4>`, and
 * Customer.io asks for ULIDs (time first, then randomness) as Track event ids. Keys that begin
 * with the time land at the end of the key index; random ones (a bare UUID v4) land anywhere in
 * it and dirty a page each (`BENCH_TRACK_IDS=uuid` measures that: docs/benchmarks.md).
 */
function eventId(kind: TrackLoadKind): string {
  if (process.env.BENCH_TRACK_IDS === "uuid") return randomUUID();
  if (kind === "segment-track" || kind === "segment-batch") return `node-next-${Date.now()}-${randomUUID()}`;
  return ulidShaped();
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * 26 characters: 10 of milliseconds in Crockford's base 32, then 16 random ones (hex digits, which
 * that alphabet holds): a ULID's shape and order, not monotonic within a millisecond.
 */
function ulidShaped(): string {
  let time = Date.now();
  let out = "";
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[time % 32]! + out;
    time = Math.floor(time / 32);
  }
  return out + randomUUID().replace(/-/g, "").slice(0, 16).toUpperCase();
}

function nextEvent(spec: TrackLoadSpec): { person: string; id: string; n: number } {
  counter++;
  return { person: `person-${counter % spec.people}`, id: eventId(spec.kind), n: counter };
}

/** A request's path and body: the event shapes the benchmark reports (docs/scale.md and the targets). */
function request(spec: TrackLoadSpec): { path: string; body: Buffer } {
  const properties = { plan: "pro", total: 30, currency: "EUR" };
  if (spec.kind === "track-v1") {
    const e = nextEvent(spec);
    return { path: PATHS[spec.kind](e.person), body: Buffer.from(JSON.stringify({ name: "Order Completed", id: e.id, data: properties })) };
  }
  if (spec.kind === "segment-track") {
    const e = nextEvent(spec);
    return { path: PATHS[spec.kind](e.person), body: Buffer.from(JSON.stringify({ userId: e.person, event: "Order Completed", messageId: e.id, properties })) };
  }
  const events: unknown[] = [];
  for (let i = 0; i < spec.batchSize; i++) {
    const e = nextEvent(spec);
    events.push(
      spec.kind === "segment-batch"
        ? { type: "track", userId: e.person, event: "Order Completed", messageId: e.id, properties }
        : { type: "person", action: "event", identifiers: { id: e.person }, name: "Order Completed", id: e.id, attributes: properties },
    );
  }
  return { path: PATHS[spec.kind](""), body: Buffer.from(JSON.stringify({ batch: events })) };
}

function post(agent: http.Agent, url: URL, spec: TrackLoadSpec, path: string, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: url.hostname, port: url.port, method: "POST", path, headers: { "content-type": "application/json", authorization: spec.authorization, "content-length": body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve();
          reject(new Error(`${path} answered ${status}: ${Buffer.concat(chunks).toString().slice(0, 300)}`));
        });
        res.on("error", reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error("no response within 60 s")));
    req.on("error", reject);
    req.end(body);
  });
}

export async function runTrackLoad(spec: TrackLoadSpec): Promise<TrackLoadResult> {
  const url = new URL(spec.url);
  if (url.hostname !== "127.0.0.1" && url.hostname !== "localhost") throw new Error(`the load generator only talks to loopback, not ${url.hostname}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections, maxFreeSockets: spec.connections });
  const started = performance.now();
  const measureFrom = started + spec.warmupMs;
  const measureTo = measureFrom + spec.durationMs;
  let requests = 0;
  let events = 0;
  const latencies: number[] = [];
  const client = async (): Promise<void> => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= measureTo) return;
      const { path, body } = request(spec);
      await post(agent, url, spec, path, body);
      const t1 = performance.now();
      // Counted when the request both started and ended inside the window.
      if (t0 >= measureFrom && t1 <= measureTo) {
        requests++;
        events += spec.batchSize;
        latencies.push(t1 - t0);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: spec.connections }, client));
  } finally {
    agent.destroy();
  }
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil((p / 100) * latencies.length) - 1))] ?? NaN;
  return { requests, events, windowMs: spec.durationMs, latencyP50Ms: at(50), latencyP99Ms: at(99) };
}

// Run as a forked process: one spec in, one result (or error) out.
if (process.send) {
  process.once("message", (spec: TrackLoadSpec) => {
    runTrackLoad(spec).then(
      (result) => process.send!({ type: "result", result }, () => process.exit(0)),
      (err: Error) => process.send!({ type: "error", message: err.message }, () => process.exit(1)),
    );
  });
}
