// The composition root's second half: opens the store, builds the container and starts the roles
// this process runs (POSTHORN_ROLES), each with the objects it uses. Shutdown has two phases: every
// role stops taking work, then drains what is in flight within the deadline; the store closes last.
import type { Config } from "../config/config.schema.js";
import type { Logger } from "../shared/logger.js";
import { systemClock, type Clock } from "../shared/clock.js";
import { openStore } from "../store/store.js";
import type { Transport } from "../mta/mta.types.js";
import type { DnsResolve } from "../inbound/authentication.js";
import { buildContainer, type Container } from "./container.js";
import { startApiRole, type ApiRole } from "./roles/api.js";
import { startMtaRole, type MtaRole } from "./roles/mta.js";
import { startSmtpRole, type SmtpRole } from "./roles/smtp.js";
import { startWorkerRole, type WorkerRole } from "./roles/worker.js";
import { Metrics } from "../observability/metrics.js";
import type { MetricsListener } from "../observability/metrics.listener.js";
import { buildInstruments, type Listening } from "./observability.js";
import { startTracing } from "../observability/tracing.js";

export interface RunningApp {
  services: Container;
  /** The API's base URL, when the api role runs. */
  httpUrl: string | null;
  /** The same API over HTTPS for customerio-node (POSTHORN_TRACK_HTTPS_PORT), and its certificate; null when off. */
  trackHttps: { url: string; fingerprint256: string; certPath: string } | null;
  /** The smtp role's listeners, when it runs. */
  smtp: SmtpRole | null;
  /** This process's metrics (what /metrics serves). */
  metrics: Metrics;
  /** The metrics listener's base URL (POSTHORN_METRICS_LISTEN), or null when there is none. */
  metricsUrl: string | null;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Replaces the SMTP transport (benchmarks measuring the queue alone). */
  transport?: Transport;
  /** DNS for SPF/DKIM/DMARC checks of inbound mail (tests answer from a fixed zone). */
  inboundDns?: DnsResolve;
  /** Replaces the system clock (tests of time-windowed segments and timers move it by hand). */
  clock?: Clock;
}

export async function startApp(config: Config, logger: Logger, options: StartOptions = {}): Promise<RunningApp> {
  const clock = options.clock ?? systemClock;
  const store = openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, namedStatements: config.databaseNamedStatements });
  await store.migrate();
  // Null (and the SDK never loaded) unless an OTLP endpoint is configured.
  const tracing = await startTracing(config.tracing);
  const spans = tracing ? { spans: tracing } : {};

  let mta: MtaRole | null = null;
  let smtp: SmtpRole | null = null;
  let api: ApiRole | null = null;
  let worker: WorkerRole | null = null;
  let metricsListener: MetricsListener | null = null;
  const metrics = new Metrics({ topDestinations: config.metrics.topDestinations });
  const services = buildContainer(store, config, logger, { metrics, clock, onQueued: () => mta?.wake(), handoff: () => mta?.handoff ?? null, onBulkSubmitted: () => worker?.wakeBulk(), onSegmentFill: () => worker?.wakeSegments(), onJourneyRunsDue: () => worker?.wakeJourneys(), onBroadcastStored: () => worker?.wakeBroadcasts(), onExportStored: () => worker?.wakeExports(), ...spans });
  let started = false;
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.all([api?.stop(), smtp?.stop(), mta?.stop(config.shutdownTimeoutMs), worker?.stop(), metricsListener?.close()]);
      await store.close();
      // Last: the spans of the drained work are sent before the process ends.
      await tracing?.shutdown();
    })());

  const instruments = buildInstruments({ config, clock, store, metrics, started: () => started, outboxConsumers: () => worker?.consumers ?? [] });
  try {
    if (config.roles.includes("mta")) {
      mta = startMtaRole({ config, logger, clock, store, metrics, ...pick(services, "deliveries", "messages", "outbox", "domains", "encryptionKey", "tracking"), transport: options.transport, ...spans });
    }
    if (config.roles.includes("api")) {
      api = await startApiRole({ config, logger, store, ...pick(services, "workspaces", "accept", "messages", "activity", "inbound", "queue", "domains", "streams", "suppressions", "bounces", "senders", "templates", "dataRemovals", "tracking", "webhooks", "bulk", "stats", "segments", "people", "clock", "transactional", "messageLimits", "broadcasts", "outreachLedger", "journeys", "broadcastTriggers", "users", "exports"), metrics, readiness: instruments.readiness, ...(tracing ? { tracing } : {}) });
    }
    if (config.roles.includes("smtp")) {
      smtp = await startSmtpRole({ config, logger, clock, ...pick(services, "workspaces", "accept", "domains", "bounceIntake", "inbound", "tracking"), resolve: options.inboundDns });
    }
    if (config.roles.includes("worker")) {
      worker = await startWorkerRole({
        config,
        logger,
        clock,
        store,
        metrics,
        ...pick(services, "outbox", "inbound", "dataRemovals", "messages", "bounces", "webhooks", "encryptionKey", "accept", "workspaces", "bulkRenderer", "statsRepository", "segments", "segmentKeeper", "segmentsRepository", "people", "outreachLedgerRepository"),
        ...pick(services, "journeys", "journeysRepository", "journeyInterpreter", "outreachMailer", "outreachLedger", "broadcastsRepository", "broadcastAudience", "users"),
        ...pick(services, "exportsRepository"),
        ...spans,
      });
    }
    metricsListener = await instruments.listen(() => listening(config, api, smtp));
  } catch (err) {
    // A listener that cannot start (port in use, unreadable certificate) stops what did start.
    await stop().catch(() => undefined);
    throw err;
  }
  started = true;
  const trackHttps = api?.httpsUrl && api.httpsCertificate ? { url: api.httpsUrl, fingerprint256: api.httpsCertificate.fingerprint256, certPath: api.httpsCertificate.path } : null;
  const metricsUrl = metricsListener ? `http://${urlHost(metricsListener.address.host)}:${metricsListener.address.port}` : null;
  return { services, httpUrl: api?.url ?? null, trackHttps, smtp, metrics, metricsUrl, stop };
}

/** The ports this process's roles listen on, for /readyz's listeners check. */
function listening(config: Config, api: ApiRole | null, smtp: SmtpRole | null): Listening[] {
  const out: Listening[] = [];
  if (api) out.push({ name: "api", host: config.http.host, port: Number(new URL(api.url).port) });
  for (const s of smtp?.submission ?? []) out.push({ name: `smtp:${s.port}`, host: s.host, port: s.port });
  if (smtp?.inbound) out.push({ name: "inbound", host: config.inbound.host, port: smtp.inbound.port });
  return out;
}

function urlHost(host: string): string {
  const reachable = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return reachable.includes(":") ? `[${reachable}]` : reachable;
}

/** The named members of the container: each role gets what it uses, not the whole bag. */
function pick<K extends keyof Container>(container: Container, ...keys: K[]): Pick<Container, K> {
  return Object.fromEntries(keys.map((k) => [k, container[k]])) as Pick<Container, K>;
}
