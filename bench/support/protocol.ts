// Messages exchanged over IPC between the benchmark driver and its child processes (the load
// generator and the SMTP sink), and the shapes of what they report.

/** What the load generator runs: a warm-up, then a fixed number of measured requests. */
export interface LoadSpec {
  /** Base URL of the Posthorn API (loopback). */
  url: string;
  token: string;
  /** `/email` sends one message object per request; `/email/batch` sends an array. */
  path: "/email" | "/email/batch" | "/email/withTemplate" | "/email/batchWithTemplates";
  /** Concurrent clients, each on its own keep-alive connection (the agent's maxSockets). */
  connections: number;
  warmupRequests: number;
  requests: number;
  /** Messages in one request: 1 for `/email`, up to 500 for `/email/batch`. */
  messagesPerRequest: number;
  /** Size of each message's TextBody, in bytes. */
  textBodyBytes: number;
  /** Distinguishes the messages of one run from another's (subjects, recipients). */
  runId: string;
  requestTimeoutMs: number;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  requests: number;
  /** Messages the server answered with ErrorCode 0 during the measured phase. */
  acceptedMessages: number;
  /** Wall-clock time (ms since the epoch, sub-ms precision) when the first measured request was sent. */
  firstSendAt: number;
  /** Wall-clock time when the last measured response had been read. */
  lastResponseAt: number;
  elapsedMs: number;
  latencyMs: LatencySummary;
  /** Average request body size in bytes, and average size of one message's JSON. */
  requestBytes: number;
  messageJsonBytes: number;
  /** CPU the load generator itself used during the measured phase (ms). */
  cpuMs: number;
}

export type LoadgenMessage =
  | { type: "measuring"; at: number }
  | { type: "result"; result: LoadResult }
  | { type: "error"; message: string };

export interface SinkStats {
  /** SMTP connections opened to the sink. */
  connections: number;
  peakConcurrentConnections: number;
  /** DATA transactions completed (each answered 250). */
  messages: number;
  recipients: number;
  /** Messages whose Message-ID had been seen before (repeated deliveries). */
  duplicates: number;
  /** Messages that arrived with a DKIM-Signature header. */
  signed: number;
  /** Messages with a Message-ID not seen before, plus those without one. */
  distinct: number;
  bytes: number;
  firstMessageAt: number | null;
  lastMessageAt: number | null;
  /** CPU the sink process used since it started (ms). */
  cpuMs: number;
}

export type SinkMessage =
  | { type: "listening"; port: number }
  | { type: "reached"; at: number; stats: SinkStats }
  | { type: "stats"; stats: SinkStats }
  | { type: "error"; message: string };

export type SinkCommand = { type: "expect"; distinct: number } | { type: "stats" } | { type: "close" };

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** What the SMTP load generator runs: one pooled nodemailer transport, a warm-up, then the measured messages. */
export interface SmtpLoadSpec {
  port: number;
  /** Concurrent SMTP sessions: the pool's maxConnections, and as many senders keeping it busy. */
  sessions: number;
  warmupMessages: number;
  messages: number;
  textBodyBytes: number;
  runId: string;
  /** STARTTLS (required) and AUTH PLAIN with the server token as username and password; else plain text, no AUTH. */
  tls: { token: string; certPem: string } | null;
  /** Per message: no 250 within this many ms counts as a failure. */
  messageTimeoutMs: number;
  /** Stops the run after this many failures (it fails anyway at the first one; this bounds the time it takes). */
  maxFailures: number;
}

export interface SmtpLoadResult {
  /** Messages answered 250 for their recipient during the measured phase. */
  acceptedMessages: number;
  /** Messages answered anything else (or nothing) during the warm-up and the measured phase. */
  failures: number;
  /** The first few failures, as the client reported them. */
  failureSamples: string[];
  firstSendAt: number;
  lastResponseAt: number;
  elapsedMs: number;
  /** Per message, from sendMail to its 250. */
  latencyMs: LatencySummary;
  /** Bytes of one message as sent (the raw MIME, before dot-stuffing), on average. */
  messageBytes: number;
  /** Pool connections opened during the warm-up and during the measured phase, and closed during the measured phase. */
  connectionsWarmup: number;
  connectionsMeasured: number;
  connectionsClosedMeasured: number;
  /** A sample 250 reply text. */
  sampleReply: string;
  cpuMs: number;
}

export type SmtpLoadgenMessage =
  | { type: "measuring"; at: number }
  | { type: "result"; result: SmtpLoadResult }
  | { type: "error"; message: string };
