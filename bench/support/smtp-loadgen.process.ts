// The SMTP load generator, run as its own process (forked by the benchmark with an IPC channel) so
// that it never shares an event loop with the server. It takes one SmtpLoadSpec and submits the
// way an application's connection pool does: one nodemailer transport with `pool: true`,
// `maxConnections` = the sessions and `maxMessages: Infinity`, kept busy by as many senders that
// each call sendMail again as soon as their previous message was answered. Every message is
// composed before the clock starts (nodemailer's own MailComposer) and handed over as `raw` with
// its envelope, so the measured phase is the SMTP dialogue alone. Anything but a 250 for the one
// recipient counts as a failure; the benchmark fails the run when there is any.
import nodemailer from "nodemailer";
import MailComposer from "nodemailer/lib/mail-composer/index.js";
import { benchMessage } from "./messages.js";
import { wallNow, type SmtpLoadResult, type SmtpLoadSpec, type SmtpLoadgenMessage } from "./protocol.js";
import { summarizeLatencies } from "./stats.js";
import { serveOneRun } from "./worker-process.js";

/** Failure texts kept for the report. */
const FAILURE_SAMPLES = 5;

function send(message: SmtpLoadgenMessage): void {
  process.send?.(message);
}

interface Composed {
  raw: Buffer;
  envelope: { from: string; to: string[] };
}

/** `count` distinct ~2 KB messages numbered from `first`, as nodemailer would compose them for sendMail({from, to, subject, text}). */
async function compose(spec: SmtpLoadSpec, first: number, count: number): Promise<Composed[]> {
  const out: Composed[] = [];
  for (let start = 0; start < count; start += 500) {
    const chunk = await Promise.all(
      Array.from({ length: Math.min(500, count - start) }, async (_, i) => {
        const m = benchMessage(spec.runId, first + start + i, spec.textBodyBytes);
        const raw = await new MailComposer({ from: m.From, to: m.To, subject: m.Subject, text: m.TextBody }).compile().build();
        return { raw, envelope: { from: m.From, to: [m.To] } };
      }),
    );
    out.push(...chunk);
  }
  return out;
}

/** Connections the pool opened and closed, counted from its log lines (it has no public counter). */
const pool = { created: 0, closed: 0 };
const noop = () => undefined;
const poolLogger = {
  trace: noop,
  debug: noop,
  info(_entry: unknown, message?: string) {
    if (typeof message !== "string") return;
    if (message.startsWith("Created new pool resource")) pool.created++;
    else if (message.startsWith("Connection #%s was closed")) pool.closed++;
  },
  warn: noop,
  error: noop,
  fatal: noop,
};

function makeTransport(spec: SmtpLoadSpec) {
  const common = {
    pool: true,
    maxConnections: spec.sessions,
    maxMessages: Infinity,
    host: "127.0.0.1",
    port: spec.port,
    secure: false,
    name: "loadgen.bench.test",
    logger: poolLogger,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: spec.messageTimeoutMs,
  };
  if (!spec.tls) return nodemailer.createTransport({ ...common, ignoreTLS: true });
  return nodemailer.createTransport({
    ...common,
    requireTLS: true,
    // The server's generated self-signed certificate, pinned as the one trusted CA.
    tls: { ca: spec.tls.certPem, servername: "localhost" },
    auth: { user: spec.tls.token, pass: spec.tls.token },
    authMethod: "PLAIN",
  });
}

type Transport = ReturnType<typeof makeTransport>;

interface PhaseOutcome {
  accepted: number;
  failures: number;
  samples: string[];
  sampleReply: string;
}

/** Sends every message once, `spec.sessions` at a time; records each one's latency (sendMail to 250). */
async function runPhase(spec: SmtpLoadSpec, transport: Transport, messages: Composed[], latencies: Float64Array | null, failuresSoFar: number): Promise<PhaseOutcome> {
  const outcome: PhaseOutcome = { accepted: 0, failures: 0, samples: [], sampleReply: "" };
  let next = 0;
  const fail = (i: number, text: string) => {
    outcome.failures++;
    if (outcome.samples.length < FAILURE_SAMPLES) outcome.samples.push(`message ${i}: ${text}`);
  };
  const sender = async () => {
    for (;;) {
      if (failuresSoFar + outcome.failures >= spec.maxFailures) return;
      const i = next++;
      if (i >= messages.length) return;
      const m = messages[i]!;
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        const info = await Promise.race([
          transport.sendMail({ envelope: m.envelope, raw: m.raw }),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no reply within ${spec.messageTimeoutMs} ms`)), spec.messageTimeoutMs);
          }),
        ]);
        const t1 = performance.now();
        const response = String(info.response ?? "");
        if (!response.startsWith("250") || info.accepted.length !== 1 || info.rejected.length !== 0) {
          fail(i, `not a 250 for the recipient: ${response} (accepted ${info.accepted.length}, rejected ${info.rejected.length})`);
          continue;
        }
        outcome.accepted++;
        if (!outcome.sampleReply) outcome.sampleReply = response;
        if (latencies) latencies[i] = t1 - t0;
      } catch (err) {
        const e = err as Error & { responseCode?: number; response?: string; command?: string };
        fail(i, `${e.response ?? e.message}${e.command ? ` (after ${e.command})` : ""}`);
      } finally {
        clearTimeout(timer);
      }
    }
  };
  await Promise.all(Array.from({ length: spec.sessions }, sender));
  return outcome;
}

async function run(spec: SmtpLoadSpec): Promise<SmtpLoadResult> {
  const warmup = await compose(spec, 0, spec.warmupMessages);
  const measured = await compose(spec, spec.warmupMessages, spec.messages);
  const transport = makeTransport(spec);
  try {
    const warm = await runPhase(spec, transport, warmup, null, 0);
    const connectionsWarmup = pool.created;
    const closedBefore = pool.closed;

    const latencies = new Float64Array(measured.length);
    const cpu0 = process.cpuUsage();
    const firstSendAt = wallNow();
    const t0 = performance.now();
    send({ type: "measuring", at: firstSendAt });
    const outcome = warm.failures >= spec.maxFailures ? { accepted: 0, failures: 0, samples: [], sampleReply: "" } : await runPhase(spec, transport, measured, latencies, warm.failures);
    const elapsedMs = performance.now() - t0;
    const lastResponseAt = wallNow();
    const cpu = process.cpuUsage(cpu0);

    let bytes = 0;
    for (const m of measured) bytes += m.raw.length;
    return {
      acceptedMessages: outcome.accepted,
      failures: warm.failures + outcome.failures,
      failureSamples: [...warm.samples.map((s) => `warm-up ${s}`), ...outcome.samples].slice(0, FAILURE_SAMPLES),
      firstSendAt,
      lastResponseAt,
      elapsedMs,
      latencyMs: summarizeLatencies(outcome.failures === 0 ? latencies : latencies.filter((v) => v > 0)),
      messageBytes: bytes / measured.length,
      connectionsWarmup,
      connectionsMeasured: pool.created - connectionsWarmup,
      connectionsClosedMeasured: pool.closed - closedBefore,
      sampleReply: outcome.sampleReply || warm.sampleReply,
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
  } finally {
    transport.close();
  }
}

serveOneRun<SmtpLoadSpec, SmtpLoadResult>("smtp-loadgen.process.js", run);
