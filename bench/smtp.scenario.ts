// `npm run bench:smtp`: SMTP submission acceptance (roles=smtp), the scenarios `smtp` and `smtp_tls`
// of bench/api.bench.ts.
//
//   smtp      20 pooled sessions from a trusted network (POSTHORN_SMTP_TRUSTED_NETWORKS, like
//             Postfix's mynetworks): plain text, no AUTH.
//   smtp_tls  20 pooled sessions with STARTTLS (the generated self-signed certificate, pinned) and
//             AUTH PLAIN with the server token as username and password.
//
// The load generator (bench/support/smtp-loadgen.process.ts) is its own process; each message gets
// its 250 only once the server has committed it durably, so messages/s here is submission plus the
// durable commit, with no MTA delivering meanwhile.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startPosthorn } from "./support/posthorn.js";
import type { SmtpLoadResult, SmtpLoadSpec } from "./support/protocol.js";
import type { ScenarioReport } from "./support/report.js";
import { CORES, caveatsFor, cpuText, envText, note, otherCores, problemsOf, profileFile, quietText, runId, runLoadProcess, waitForQuiet } from "./support/scenario-kit.js";
import { int, ms, seconds } from "./support/stats.js";

const SMTP_LOADGEN_JS = resolve(import.meta.dirname, "support/smtp-loadgen.process.js");

export const SMTP_SETTINGS = {
  sessions: 20,
  /** 100 messages per session before the clock starts: every connection is open (and through STARTTLS and AUTH). */
  warmupMessages: 2_000,
  messages: 20_000,
  messageTimeoutMs: 30_000,
  /** The run fails at the first failure; it stops sending after this many. */
  maxFailures: 100,
  /** Upper bound for the load run (composing, warm-up and measured phase). */
  loadTimeoutMs: 180_000,
  /** Messages/s: our goals for this 2-core machine. */
  target: { plain: 2_000, tls: 1_500 },
};

/** Warnings the scenario causes on purpose, left out of the report's server problems. */
const EXPECTED_WARNINGS = [/generated a self-signed TLS certificate for SMTP submission/];

export async function smtpSubmission(options: { tls: boolean; textBodyBytes: number }): Promise<ScenarioReport> {
  const s = SMTP_SETTINGS;
  const name = options.tls ? "smtp_tls" : "smtp";
  const target = options.tls ? s.target.tls : s.target.plain;
  const how = options.tls ? "STARTTLS + AUTH PLAIN with the server token" : "plain text from a trusted network, no AUTH";
  note(`SMTP submission (${how}): roles=smtp, ${s.sessions} pooled sessions, ${int(s.warmupMessages)} warm-up + ${int(s.messages)} measured messages`);
  const quiet = await waitForQuiet();
  const server = await startPosthorn({
    roles: "smtp",
    cpuProfileFile: profileFile(name),
    extraEnv: options.tls ? {} : { POSTHORN_SMTP_TRUSTED_NETWORKS: "127.0.0.0/8=bench" },
  });
  try {
    const certPem = readFileSync(join(server.dataDir, "smtp-tls", "cert.pem"), "utf8");
    const spec: SmtpLoadSpec = {
      port: server.smtpPort!,
      sessions: s.sessions,
      warmupMessages: s.warmupMessages,
      messages: s.messages,
      textBodyBytes: options.textBodyBytes,
      runId,
      tls: options.tls ? { token: server.token, certPem } : null,
      messageTimeoutMs: s.messageTimeoutMs,
      maxFailures: s.maxFailures,
    };
    const run = await runLoadProcess<SmtpLoadResult>(SMTP_LOADGEN_JS, spec, server, s.loadTimeoutMs);
    const { result } = run;
    if (result.failures > 0) {
      throw new Error(
        `${name}: ${int(result.failures)} message(s) were not answered 250 (${int(result.acceptedMessages)} of ${int(s.messages)} measured ones were); first failures:\n  ${result.failureSamples.join("\n  ")}`,
      );
    }
    if (result.acceptedMessages !== s.messages) throw new Error(`${name}: ${int(result.acceptedMessages)} of ${int(s.messages)} messages were answered 250`);

    const rate = result.acceptedMessages / (result.elapsedMs / 1000);
    const l = result.latencyMs;
    const cpuMsPerMessage = run.serverCpuSeconds === null ? null : (run.serverCpuSeconds * 1000) / result.acceptedMessages;
    return {
      title: options.tls ? "SMTP submission with STARTTLS + AUTH, 20 sessions" : "SMTP submission, trusted network without TLS, 20 sessions",
      settings: [
        "Server with `POSTHORN_ROLES=smtp`: this measures SMTP acceptance alone (no MTA runs; the deliveries stay queued). Environment: " + envText(server),
        options.tls
          ? "Each session: EHLO, STARTTLS (the server's generated self-signed EC P-256 certificate, pinned by the client as its one CA), EHLO, AUTH PLAIN with the workspace's server token as username and password; then MAIL, RCPT, DATA per message"
          : "The client's address (127.0.0.1) is in `POSTHORN_SMTP_TRUSTED_NETWORKS` for the workspace: no STARTTLS (the client ignores the offer), no AUTH; MAIL, RCPT, DATA per message",
        `Client: one nodemailer transport with \`pool: true\`, \`maxConnections: ${s.sessions}\`, \`maxMessages: Infinity\`, kept busy by ${s.sessions} senders (each calls sendMail as soon as its previous message was answered), in its own process`,
        `${int(s.warmupMessages)} warm-up messages (every connection opened${options.tls ? ", through STARTTLS and AUTH" : ""}), then ${int(s.messages)} measured messages`,
        `Each message: From, one To, a Subject and a ${int(options.textBodyBytes)}-byte plain-text body as nodemailer composes them (MailComposer, before the clock starts), ${int(result.messageBytes)} bytes of MIME (distinct recipients and bodies)`,
        "Every message is committed to disk (SQLite, WAL, synchronous=FULL; commits grouped across concurrent sessions) before its 250",
      ],
      figures: [
        { name: `${name}.accepted_messages_per_s`, display: `${int(rate)} messages/s`, target: { text: `≥ ${int(target)} messages/s`, met: rate >= target } },
        { name: `${name}.latency_p50`, display: `${ms(l.p50)} ms` },
        { name: `${name}.latency_p99`, display: `${ms(l.p99)} ms` },
        { name: `${name}.server_cpu_ms_per_message`, display: cpuMsPerMessage === null ? "n/a" : `${cpuMsPerMessage.toFixed(2)} ms` },
        { name: `${name}.failures`, display: `${result.failures} (of ${int(s.warmupMessages + s.messages)} messages)` },
      ],
      details: [
        `${int(result.acceptedMessages)} messages answered 250 in ${seconds(result.elapsedMs)} s; latency (sendMail to 250) p90 ${ms(l.p90)} ms, mean ${ms(l.mean)} ms, max ${ms(l.max)} ms`,
        `SMTP connections: ${result.connectionsWarmup} opened during the warm-up, ${result.connectionsMeasured} opened and ${result.connectionsClosedMeasured} closed while measured; a reply: \`${result.sampleReply}\``,
        cpuText(run),
        `CPU per message: server ${cpuMsPerMessage === null ? "n/a" : `${cpuMsPerMessage.toFixed(2)} ms`}, load generator (nodemailer) ${(result.cpuMs / result.acceptedMessages).toFixed(2)} ms; both share the machine's ${CORES} cores`,
        quietText(quiet),
      ],
      serverProblems: problemsOf(server, EXPECTED_WARNINGS),
      caveats: caveatsFor(quiet, otherCores(run)),
    };
  } finally {
    await server.stop();
  }
}
