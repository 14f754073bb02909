// `npm run bench`: Posthorn's API and SMTP acceptance and end-to-end delivery figures on this machine.
//
//   1. POST /email/batch acceptance (roles=api): messages/s with 500 messages per request, 4 clients.
//   2. POST /email (roles=api): requests/s and latency with 32 keep-alive connections.
//   3. End to end (roles=api,mta, relay to a loopback SMTP sink): messages/s from the first
//      submission to the 20,000th message received by the sink, and the SMTP connections used.
//   4. MTA (roles=api,mta): 20 sessions of single POST /email to the sink, without and with DKIM.
//   6. Templated sending (bench/template.scenario.ts): scenarios 1 and 2 through
//      /email/batchWithTemplates and /email/withTemplate (email_template, batch_template).
//   5. SMTP submission (roles=smtp, bench/smtp.scenario.ts): messages/s over 20 pooled sessions,
//      from a trusted network without TLS, and with STARTTLS + AUTH PLAIN with the server token.
//
// Prints one line per figure and writes docs/benchmarks.md. The server, the load generator and
// the sink are separate processes; everything is bounded in count and time and stopped on exit.
//
// Environment:
//   BENCH_ONLY=smtp,smtp_tls     run only these scenarios (batch, email, e2e, mta, mta_dkim, smtp,
//                                smtp_tls, email_template, batch_template); docs/benchmarks.md then gets their figures and keeps
//                                the other scenarios' as they were, each with its run's date
//   BENCH_CPU_PROF=1             write a CPU profile of each scenario's server to .bench/ (for
//                                development: the page is left alone)
import { resolve } from "node:path";
import type { ChildProcess } from "node:child_process";
import { forkProcess, installCleanupHandlers, nextMessage, processCpuSeconds } from "./support/children.js";
import { busyCores, cpuTimes, describeMachine } from "./support/machine.js";
import { startPosthorn, type RunningPosthorn } from "./support/posthorn.js";
import type { LoadResult, LoadSpec, SinkMessage, SinkStats } from "./support/protocol.js";
import { figureLine, updateReport, type ScenarioReport } from "./support/report.js";
import { int, ms, percent, seconds } from "./support/stats.js";
import {
  CORES,
  PROFILE_DIR,
  ROOT,
  caveatsFor,
  cpuText,
  envText,
  note,
  only,
  otherCores,
  problemsOf,
  profile,
  profileFile,
  quietText,
  runId,
  runLoadProcess,
  say,
  waitForQuiet,
  type LoadRun,
} from "./support/scenario-kit.js";
import { smtpSubmission } from "./smtp.scenario.js";
import { templatedSending } from "./template.scenario.js";
import { startDnsZoneServer, type DnsZoneServer } from "../src/sending-domains/testing/dns-zone-server.js";

const REPORT_PATH = resolve(ROOT, "docs/benchmarks.md");
const LOADGEN_JS = resolve(import.meta.dirname, "support/loadgen.process.js");
const SINK_JS = resolve(import.meta.dirname, "support/sink.process.js");

/** The settings of every scenario; the report lists them. */
const SETTINGS = {
  /** Each message: one To, a subject, a plain-text body of this many bytes (~2 KB as MIME). */
  textBodyBytes: 1500,
  requestTimeoutMs: 60_000,
  batch: { connections: 4, messagesPerRequest: 500, warmupRequests: 8, requests: 60, target: 10_000 },
  email: { connections: 32, warmupRequests: 2_000, requests: 20_000, targetRps: 2_000, targetP99Ms: 50 },
  e2e: { connections: 4, messagesPerRequest: 500, requests: 40, deliveryTimeoutMs: 240_000 },
  /** The MTA figure of the MTA issue: 20 client sessions submitting one message per request. */
  mta: { connections: 20, messagesPerRequest: 1, requests: 20_000, deliveryTimeoutMs: 240_000, target: 1_200 },
  /** The same with every message DKIM-signed (RSA-2048) for a verified sending domain. */
  mtaDkim: { connections: 20, messagesPerRequest: 1, requests: 20_000, deliveryTimeoutMs: 240_000, target: 1_200 },
  /** Upper bound for one API scenario's load run (warm-up included). */
  loadTimeoutMs: 180_000,
};

type ApiLoadRun = LoadRun<LoadResult>;

/** Runs one load generator process against the server and returns its result. */
function runLoad(server: RunningPosthorn, spec: Omit<LoadSpec, "url" | "token" | "runId" | "requestTimeoutMs" | "textBodyBytes">, timeoutMs: number): Promise<ApiLoadRun> {
  const full: LoadSpec = { ...spec, url: server.url, token: server.token, runId, requestTimeoutMs: SETTINGS.requestTimeoutMs, textBodyBytes: SETTINGS.textBodyBytes };
  return runLoadProcess<LoadResult>(LOADGEN_JS, full, server, timeoutMs);
}

async function batchAcceptance(): Promise<ScenarioReport> {
  const s = SETTINGS.batch;
  note(`POST /email/batch: roles=api, ${s.messagesPerRequest} messages/request, ${s.connections} clients, ${s.warmupRequests} warm-up + ${s.requests} measured requests`);
  const quiet = await waitForQuiet();
  const server = await startPosthorn({ roles: "api", cpuProfileFile: profileFile("batch") });
  try {
    const run = await runLoad(
      server,
      { path: "/email/batch", connections: s.connections, messagesPerRequest: s.messagesPerRequest, warmupRequests: s.warmupRequests, requests: s.requests },
      SETTINGS.loadTimeoutMs,
    );
    const { result } = run;
    const rate = result.acceptedMessages / (result.elapsedMs / 1000);
    const l = result.latencyMs;
    return {
      title: "POST /email/batch acceptance",
      settings: [
        "Server with `POSTHORN_ROLES=api`: this measures acceptance alone (no MTA runs; the deliveries stay queued). Environment: " + envText(server),
        `${s.connections} concurrent clients (keep-alive connections), ${s.messagesPerRequest} messages per request`,
        `${s.warmupRequests} warm-up requests (${int(s.warmupRequests * s.messagesPerRequest)} messages), then ${s.requests} measured requests (${int(s.requests * s.messagesPerRequest)} messages)`,
        messageText(result),
      ],
      figures: [{ name: "batch.accepted_messages_per_s", display: `${int(rate)} messages/s`, target: { text: `≥ ${int(s.target)} messages/s`, met: rate >= s.target } }],
      details: [
        `${int(result.acceptedMessages)} messages accepted (every one ErrorCode 0) in ${seconds(result.elapsedMs)} s = ${(result.requests / (result.elapsedMs / 1000)).toFixed(1)} requests/s`,
        `request latency: p50 ${ms(l.p50)} ms, p99 ${ms(l.p99)} ms, max ${ms(l.max)} ms (${int(result.requestBytes / 1024)} KiB per request)`,
        cpuText(run),
        quietText(quiet),
      ],
      serverProblems: problemsOf(server),
      caveats: caveatsFor(quiet, otherCores(run)),
    };
  } finally {
    await server.stop();
  }
}

async function singleEmail(): Promise<ScenarioReport> {
  const s = SETTINGS.email;
  note(`POST /email: roles=api, ${s.connections} keep-alive connections, ${int(s.warmupRequests)} warm-up + ${int(s.requests)} measured requests`);
  const quiet = await waitForQuiet();
  const server = await startPosthorn({ roles: "api", cpuProfileFile: profileFile("email") });
  try {
    const run = await runLoad(
      server,
      { path: "/email", connections: s.connections, messagesPerRequest: 1, warmupRequests: s.warmupRequests, requests: s.requests },
      SETTINGS.loadTimeoutMs,
    );
    const { result } = run;
    const rps = result.requests / (result.elapsedMs / 1000);
    const l = result.latencyMs;
    return {
      title: "POST /email",
      settings: [
        "Server with `POSTHORN_ROLES=api`: this measures acceptance alone (no MTA runs). Environment: " + envText(server),
        `${s.connections} concurrent clients, each on its own keep-alive connection, one message per request`,
        `${int(s.warmupRequests)} warm-up requests, then ${int(s.requests)} measured requests`,
        messageText(result),
      ],
      figures: [
        { name: "email.requests_per_s", display: `${int(rps)} requests/s`, target: { text: `≥ ${int(s.targetRps)} requests/s`, met: rps >= s.targetRps } },
        { name: "email.latency_p50", display: `${ms(l.p50)} ms` },
        { name: "email.latency_p99", display: `${ms(l.p99)} ms`, target: { text: `< ${s.targetP99Ms} ms`, met: l.p99 < s.targetP99Ms } },
        { name: "email.latency_max", display: `${ms(l.max)} ms` },
      ],
      details: [
        `${int(result.acceptedMessages)} messages accepted (every one ErrorCode 0) in ${seconds(result.elapsedMs)} s; latency p90 ${ms(l.p90)} ms, mean ${ms(l.mean)} ms`,
        cpuText(run),
        quietText(quiet),
      ],
      serverProblems: problemsOf(server),
      caveats: caveatsFor(quiet, otherCores(run)),
    };
  } finally {
    await server.stop();
  }
}

interface DeliveryScenario {
  name: "e2e" | "mta" | "mta_dkim";
  /** Set up a verified sending domain for the From address (bench.test), so every message is signed. */
  dkim?: boolean;
  title: string;
  connections: number;
  messagesPerRequest: number;
  requests: number;
  deliveryTimeoutMs: number;
  /** Messages/s to reach, if the issue names one. */
  target?: number;
}

const endToEnd = () =>
  deliveryScenario({ name: "e2e", title: "End to end (API + MTA + SMTP)", ...SETTINGS.e2e });

/** `npm run bench:mta`: API in → durable queue → SMTP out, 20 sessions, one message per request. */
const mtaThroughput = () =>
  deliveryScenario({ name: "mta", title: "MTA: API in → queue → SMTP out, 20 sessions", ...SETTINGS.mta });

const mtaDkimThroughput = () =>
  deliveryScenario({ name: "mta_dkim", title: "MTA with DKIM: every message signed (RSA-2048), 20 sessions", dkim: true, ...SETTINGS.mtaDkim });

/** Adds bench.test as a sending domain, publishes its DKIM record in the bench's DNS server and verifies it. */
async function verifySendingDomain(server: RunningPosthorn, dns: DnsZoneServer): Promise<void> {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { "content-type": "application/json", accept: "application/json", "x-postmark-account-token": server.accountToken },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const domain = await call("POST", "/domains", { Name: "bench.test" });
  dns.zone[String(domain.DKIMPendingHost)] = { TXT: [String(domain.DKIMPendingTextValue)] };
  const verified = await call("PUT", `/domains/${String(domain.ID)}/verifyDKIM`);
  if (verified.DKIMVerified !== true) throw new Error("the bench's sending domain did not verify");
}

async function deliveryScenario(s: DeliveryScenario): Promise<ScenarioReport> {
  const total = s.requests * s.messagesPerRequest;
  const single = s.messagesPerRequest === 1;
  note(
    `${s.title}: roles=api,mta, relay to a loopback SMTP sink, ${int(total)} messages` +
      (single ? ` as single POST /email requests` : ` in ${s.requests} batches of ${s.messagesPerRequest}`) +
      `, ${s.connections} clients`,
  );
  const quiet = await waitForQuiet();
  const sink = forkProcess(SINK_JS);
  let server: RunningPosthorn | null = null;
  let dns: DnsZoneServer | null = null;
  try {
    const listening = await nextMessage<SinkMessage>(sink, ["listening"], 15_000, "SMTP sink");
    if (listening.type !== "listening") throw new Error("unreachable");
    dns = s.dkim ? await startDnsZoneServer() : null;
    server = await startPosthorn({
      roles: "api,mta",
      relayPort: listening.port,
      cpuProfileFile: profileFile(s.name),
      extraEnv: dns ? { POSTHORN_DNS_SERVERS: dns.address } : {},
    });
    const running = server;
    if (dns) await verifySendingDomain(running, dns);

    sink.send({ type: "expect", distinct: total });
    const reachedP = nextMessage<SinkMessage>(sink, ["reached"], s.deliveryTimeoutMs, "SMTP sink");
    reachedP.catch(() => undefined); // awaited below; a failed load run must not leave it unhandled

    const sinkCpuBefore = (await sinkStats(sink)).cpuMs;
    const load = await runLoad(
      running,
      { path: single ? "/email" : "/email/batch", connections: s.connections, messagesPerRequest: s.messagesPerRequest, warmupRequests: 0, requests: s.requests },
      SETTINGS.loadTimeoutMs,
    );
    let reached: SinkMessage;
    try {
      reached = await reachedP;
    } catch (err) {
      const stats = await sinkStats(sink).catch(() => null);
      throw new Error(`${(err as Error).message}; the sink had ${stats ? `${int(stats.distinct)} distinct messages over ${stats.connections} connections` : "no stats"} of ${int(total)}`);
    }
    if (reached.type !== "reached") throw new Error("unreachable");
    const cpuAtEnd = running.cpuSeconds();
    const mainAtEnd = running.mainThreadCpuSeconds();
    const machineAtEnd = cpuTimes();
    // Anything after the last message: repeated deliveries would show here.
    await new Promise((r) => setTimeout(r, 1_000));
    const after = await sinkStats(sink);

    const { result } = load;
    const windowMs = reached.at - result.firstSendAt;
    const rate = total / (windowMs / 1000);
    const acceptRate = total / (result.elapsedMs / 1000);
    const tailMs = reached.at - result.lastResponseAt;
    const sinkCpu = (reached.stats.cpuMs - sinkCpuBefore) / windowMs;
    const loadgenCpu = result.cpuMs / windowMs;
    const machineCores = busyCores(load.machineAtStart, machineAtEnd, CORES);
    // Server CPU over the whole window, from the first submission to the last delivery.
    const serverCpu = load.serverCpuAtStart !== null && cpuAtEnd !== null ? (cpuAtEnd - load.serverCpuAtStart) / (windowMs / 1000) : null;
    const serverMainCpu = load.serverMainThreadCpuAtStart !== null && mainAtEnd !== null ? (mainAtEnd - load.serverMainThreadCpuAtStart) / (windowMs / 1000) : null;
    const otherE2e = machineCores !== null && serverCpu !== null ? Math.max(0, machineCores - serverCpu - sinkCpu - loadgenCpu) : null;
    const sinkDeliveryMs = reached.at - (reached.stats.firstMessageAt ?? reached.at);
    const serverCpuMsPerMessage = load.serverCpuAtStart !== null && cpuAtEnd !== null ? ((cpuAtEnd - load.serverCpuAtStart) * 1000) / total : null;
    const figures: ScenarioReport["figures"] = [
      {
        name: `${s.name}.delivered_messages_per_s`,
        display: `${int(rate)} messages/s (${int(total)} messages, first submission to the ${int(total)}th received, ${seconds(windowMs)} s)`,
        ...(s.target ? { target: { text: `≥ ${int(s.target)} messages/s`, met: rate >= s.target } } : {}),
      },
      { name: `${s.name}.smtp_connections`, display: `${int(reached.stats.connections)} connections (at most ${reached.stats.peakConcurrentConnections} at once)` },
    ];
    if (s.dkim && after.signed !== after.messages) throw new Error(`only ${after.signed} of ${after.messages} messages arrived DKIM-signed`);
    if (s.name !== "e2e") {
      figures.push(
        { name: `${s.name}.server_cpu_ms_per_message`, display: serverCpuMsPerMessage === null ? "n/a" : `${serverCpuMsPerMessage.toFixed(2)} ms` },
        { name: `${s.name}.connections_per_1000_messages`, display: `${((reached.stats.connections * 1000) / total).toFixed(1)}` },
      );
    }
    return {
      title: s.title,
      settings: [
        "Server with `POSTHORN_ROLES=api,mta` and `POSTHORN_SMTP_RELAY` pointing at the loopback sink; the MTA's settings at their defaults (see the README). Environment: " + envText(running),
        `${int(total)} messages submitted ${single ? "as single POST /email requests" : `as ${s.requests} batches of ${s.messagesPerRequest}`} by ${s.connections} concurrent clients, no warm-up (a cold server, the clock starts at the first request)`,
        messageText(result),
        "Every message is committed to disk (SQLite, WAL, synchronous=FULL; one fsync per group of concurrent acceptances) before its 200",
        "Sink: `smtp-server` on 127.0.0.1 in its own process, answering 250 at the end of DATA, no AUTH/STARTTLS",
      ],
      figures,
      details: [
        `all ${int(total)} accepted after ${seconds(result.elapsedMs)} s (${int(acceptRate)} messages/s while the MTA was delivering); the last delivery came ${seconds(tailMs)} s after the last acceptance`,
        `sink one second after the last one: ${int(after.messages)} messages, ${int(after.distinct)} distinct Message-IDs, ${int(after.duplicates)} repeated, ${int(after.recipients)} recipients, ${int(after.connections)} connections, ${int(after.bytes / after.messages)} bytes per message on the wire`,
        `from the sink's first message to its ${int(total)}th: ${seconds(sinkDeliveryMs)} s (${int(total / (sinkDeliveryMs / 1000))} messages/s once delivery had begun)`,
        `CPU over the window (100% = one core of ${CORES}): server ${percent(serverCpu)} (its main thread, the event loop: ${percent(serverMainCpu)}), sink ${percent(sinkCpu)}, load generator ${percent(loadgenCpu)}, everything else on the machine ${percent(otherE2e)}`,
        quietText(quiet),
      ],
      serverProblems: problemsOf(running),
      caveats: caveatsFor(quiet, otherE2e),
    };
  } finally {
    if (server) await server.stop();
    await dns?.close();
    if (sink.connected) sink.send({ type: "close" });
    const exited = sink.exitCode !== null || sink.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => sink.once("exit", () => r()));
    const timer = setTimeout(() => sink.kill("SIGKILL"), 3_000);
    await exited;
    clearTimeout(timer);
  }
}

async function sinkStats(sink: ChildProcess): Promise<SinkStats> {
  const reply = nextMessage<SinkMessage>(sink, ["stats"], 10_000, "SMTP sink");
  sink.send({ type: "stats" });
  const message = await reply;
  if (message.type !== "stats") throw new Error("unreachable");
  return message.stats;
}

function messageText(result: LoadResult): string {
  return `Each message: From, one To, a Subject and a ${int(SETTINGS.textBodyBytes)}-byte TextBody, ${int(result.messageJsonBytes)} bytes of JSON (distinct recipients and bodies)`;
}

async function main(): Promise<void> {
  installCleanupHandlers();
  // Whatever happens, the whole run ends: a last-resort limit well above a normal run's length.
  setTimeout(() => {
    process.stderr.write("bench: took longer than 15 minutes; stopping\n");
    process.exit(1);
  }, 15 * 60_000).unref();

  const startedAt = new Date();
  const t0 = performance.now();
  const machine = describeMachine();
  note(`${startedAt.toISOString()}: ${machine.nproc} CPUs (${machine.cpuModel}), ${machine.memory}, Node ${machine.node}`);
  if (processCpuSeconds(process.pid) === null) note("no /proc: CPU use is not reported");

  const scenarios: Array<[string, () => Promise<ScenarioReport>]> = [
    ["batch", batchAcceptance],
    ["email", singleEmail],
    ["e2e", endToEnd],
    ["mta", mtaThroughput],
    ["mta_dkim", mtaDkimThroughput],
    ["smtp", () => smtpSubmission({ tls: false, textBodyBytes: SETTINGS.textBodyBytes })],
    ["smtp_tls", () => smtpSubmission({ tls: true, textBodyBytes: SETTINGS.textBodyBytes })],
    ["email_template", () => templatedSending({ kind: "email", ...SETTINGS.email, messagesPerRequest: 1, ...common(), untemplated: untemplated("email", SETTINGS.email.targetRps) })],
    ["batch_template", () => templatedSending({ kind: "batch", ...SETTINGS.batch, ...common(), untemplated: untemplated("batch", SETTINGS.batch.target) })],
  ];
  const common = () => ({ textBodyBytes: SETTINGS.textBodyBytes, requestTimeoutMs: SETTINGS.requestTimeoutMs, loadTimeoutMs: SETTINGS.loadTimeoutMs });
  /** The untemplated scenario's first figure from this run (its display starts with the number), else its target. */
  const untemplated = (key: string, target: number) => {
    const display = ran.find((r) => r.key === key)?.report.figures[0]?.display;
    const value = display ? Number(display.split(" ")[0]!.replaceAll(",", "")) : NaN;
    return Number.isFinite(value) && value > 0 ? { value, measured: true } : { value: target, measured: false };
  };
  const known = scenarios.map(([name]) => name);
  const unknown = only ? [...only].filter((name) => !known.includes(name)) : [];
  if (unknown.length > 0) throw new Error(`BENCH_ONLY names unknown scenarios: ${unknown.join(", ")} (known: ${known.join(", ")})`);

  const ran: Array<{ key: string; report: ScenarioReport }> = [];
  for (const [name, run] of scenarios) {
    if (only && !only.has(name)) continue;
    const report = await run();
    for (const f of report.figures) say(figureLine(f));
    for (const d of report.details) note(d);
    ran.push({ key: name, report });
  }

  if (profile) {
    note(`not rewriting ${REPORT_PATH}: BENCH_CPU_PROF is set`);
    note(`CPU profiles of the server: ${PROFILE_DIR}/server-*-${runId}.cpuprofile`);
    return;
  }
  const selected = only;
  const run = { date: startedAt.toISOString(), durationMs: performance.now() - t0, machine, only: selected ? known.filter((k) => selected.has(k)) : null };
  const { kept } = updateReport(REPORT_PATH, { run, order: known, ran });
  note(`wrote ${REPORT_PATH}${kept.length > 0 ? ` (replaced ${ran.map((r) => r.key).join(", ")}; kept ${kept.join(", ")} from earlier runs)` : ""}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
