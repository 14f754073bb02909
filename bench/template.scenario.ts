// Templated sending, the scenarios `email_template` and `batch_template` of bench/api.bench.ts:
// the `email` and `batch` scenarios again, with every message made by a stored template
// (bench/support/messages.ts's BENCH_TEMPLATE) from a per-message model that renders to the same
// content. The target is 70% of the untemplated figures: of this run's when `email`/`batch` ran
// alongside, else of their targets.
import { resolve } from "node:path";
import { startPosthorn, type RunningPosthorn } from "./support/posthorn.js";
import type { LoadResult, LoadSpec } from "./support/protocol.js";
import type { ScenarioReport } from "./support/report.js";
import { BENCH_TEMPLATE } from "./support/messages.js";
import { caveatsFor, cpuText, envText, note, otherCores, problemsOf, profileFile, quietText, runId, runLoadProcess, waitForQuiet } from "./support/scenario-kit.js";
import { int, ms, seconds } from "./support/stats.js";

const LOADGEN_JS = resolve(import.meta.dirname, "support/loadgen.process.js");

/** The share of the untemplated figure that templated sending must reach. */
const TARGET_SHARE = 0.7;

export interface TemplatedScenarioSettings {
  kind: "email" | "batch";
  connections: number;
  messagesPerRequest: number;
  warmupRequests: number;
  requests: number;
  textBodyBytes: number;
  requestTimeoutMs: number;
  loadTimeoutMs: number;
  /** The untemplated scenario's figure from this run (per second), or its target when it did not run. */
  untemplated: { value: number; measured: boolean };
}

export async function templatedSending(s: TemplatedScenarioSettings): Promise<ScenarioReport> {
  const single = s.kind === "email";
  const path = single ? "/email/withTemplate" : "/email/batchWithTemplates";
  note(`POST ${path}: roles=api, ${s.messagesPerRequest} message(s)/request, ${s.connections} clients, ${int(s.warmupRequests)} warm-up + ${int(s.requests)} measured requests`);
  const quiet = await waitForQuiet();
  const server = await startPosthorn({ roles: "api", cpuProfileFile: profileFile(`${s.kind}_template`) });
  try {
    await createTemplate(server);
    const spec: LoadSpec = {
      path,
      connections: s.connections,
      messagesPerRequest: s.messagesPerRequest,
      warmupRequests: s.warmupRequests,
      requests: s.requests,
      url: server.url,
      token: server.token,
      runId,
      requestTimeoutMs: s.requestTimeoutMs,
      textBodyBytes: s.textBodyBytes,
    };
    const run = await runLoadProcess<LoadResult>(LOADGEN_JS, spec, server, s.loadTimeoutMs);
    const { result } = run;
    const perSecond = (single ? result.requests : result.acceptedMessages) / (result.elapsedMs / 1000);
    const target = s.untemplated.value * TARGET_SHARE;
    const unit = single ? "requests/s" : "messages/s";
    const l = result.latencyMs;
    const against = s.untemplated.measured ? `this run's untemplated ${s.kind} figure (${int(s.untemplated.value)} ${unit})` : `the untemplated ${s.kind} target (${int(s.untemplated.value)} ${unit}; run it alongside to compare measured figures)`;
    return {
      title: `POST ${path}`,
      settings: [
        "Server with `POSTHORN_ROLES=api`: acceptance alone, as the untemplated scenario. Environment: " + envText(server),
        `${s.connections} concurrent clients (keep-alive connections), ${s.messagesPerRequest} message(s) per request`,
        `${int(s.warmupRequests)} warm-up requests, then ${int(s.requests)} measured requests`,
        `Each message: From, one To, TemplateAlias and a TemplateModel that renders to the untemplated scenario's Subject and ${int(s.textBodyBytes)}-byte TextBody (a section and escaped and raw values); ${int(result.messageJsonBytes)} bytes of JSON`,
      ],
      figures: [
        {
          name: `${s.kind}_template.${single ? "requests" : "accepted_messages"}_per_s`,
          display: `${int(perSecond)} ${unit} (${Math.round((perSecond / s.untemplated.value) * 100)}% of ${s.untemplated.measured ? "untemplated" : "the untemplated target"})`,
          target: { text: `≥ ${int(target)} ${unit}: ${Math.round(TARGET_SHARE * 100)}% of ${against}`, met: perSecond >= target },
        },
        { name: `${s.kind}_template.latency_p99`, display: `${ms(l.p99)} ms` },
      ],
      details: [
        `${int(result.acceptedMessages)} messages accepted (every one ErrorCode 0) in ${seconds(result.elapsedMs)} s; latency p50 ${ms(l.p50)} ms, p99 ${ms(l.p99)} ms, max ${ms(l.max)} ms`,
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

async function createTemplate(server: RunningPosthorn): Promise<void> {
  const res = await fetch(`${server.url}/templates`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-Postmark-Server-Token": server.token },
    body: JSON.stringify(BENCH_TEMPLATE),
  });
  if (res.status !== 200) throw new Error(`creating the bench template answered ${res.status}: ${await res.text()}`);
}
