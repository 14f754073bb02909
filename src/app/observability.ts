// Wiring of the instruments (src/observability/): the backlog gauges and the readiness checks this
// process's roles call for, and the metrics listener when POSTHORN_METRICS_LISTEN is set.
import { connect } from "node:net";
import type { Config } from "../config/config.schema.js";
import type { Clock } from "../shared/clock.js";
import type { Store } from "../store/store.js";
import type { Metrics } from "../observability/metrics.js";
import { CachedRead, lagSeconds, registerBacklogGauges, type ConsumerBacklog, type QueueBacklog } from "../observability/backlog.gauges.js";
import { checkReadiness, type ReadinessAnswer, type ReadinessCheck } from "../observability/readiness.js";
import { startMetricsListener, type MetricsListener } from "../observability/metrics.listener.js";
import { DeliveriesRepository } from "../mta/queue/deliveries.repository.js";
import { OutboxLagRepository } from "../events/outbox-lag.repository.js";
import { JourneysRepository } from "../journeys/journeys.repository.js";
import type { AcceptObserver } from "../messages/accept/accept-observer.js";

export interface Instruments {
  readiness(): Promise<ReadinessAnswer>;
  /** Starts the metrics listener, if configured (after the roles, so /readyz is not asked before they exist). */
  listen(listeners: () => Listening[]): Promise<MetricsListener | null>;
}

/** A port this process should be accepting connections on. */
export interface Listening {
  name: string;
  host: string;
  port: number;
}

/** Acceptance's counts into the metrics: messages by door and workspace, suppressed deliveries by destination. */
export function acceptCounts(metrics: Metrics): AcceptObserver {
  return { accepted: (door, workspaceId) => metrics.messagesAccepted(door, workspaceId), suppressed: (domain) => metrics.deliveryRecorded("suppressed", domain) };
}

/** Waiting journey runs are counted up to this (the same bound as the outbox lag's). */
const MOST_COUNTED = 100_000;

/** A listener that does not accept a connection within this is reported not bound. */
const CONNECT_TIMEOUT_MS = 1_000;

export function buildInstruments(deps: {
  config: Config;
  clock: Clock;
  store: Store;
  metrics: Metrics;
  started: () => boolean;
  /** The outbox consumers this process runs (the worker role's; none before it starts). */
  outboxConsumers: () => ReadonlyArray<{ name: string; types: readonly string[] }>;
}): Instruments {
  const { config, clock, store, metrics } = deps;
  const cacheMs = config.metrics.backlogCacheMs;
  const deliveries = new DeliveriesRepository(store.dialect);
  const lags = new OutboxLagRepository(store.dialect);
  const queue = config.roles.includes("mta") ? new CachedRead<QueueBacklog>(() => deliveries.pendingBacklog(store.db, clock.now()), cacheMs, clock) : null;
  const outbox = config.roles.includes("worker") ? new CachedRead<ConsumerBacklog[]>(() => lags.lagOfEach(store.db, deps.outboxConsumers()), cacheMs, clock) : null;
  const journeysRepository = new JourneysRepository(store.dialect);
  const journeys = config.roles.includes("worker") ? new CachedRead<number>(() => journeysRepository.countWaiting(store.db, MOST_COUNTED), cacheMs, clock) : null;
  registerBacklogGauges(metrics, { queue, outbox, journeys }, clock);

  let listening: () => Listening[] = () => [];
  const checks: ReadinessCheck[] = [
    { name: "database", run: async () => (await store.ping(), { ok: true, detail: `${store.dialect} answered` }) },
    { name: "roles", run: async () => (deps.started() ? { ok: true, detail: `started: ${config.roles.join(", ")}` } : { ok: false, detail: "still starting" }) },
    { name: "listeners", run: () => checkListeners(listening()) },
  ];
  if (queue) {
    const maxS = config.readiness.maxQueueLagMs / 1000;
    checks.push({
      name: "queue",
      run: async () => {
        const q = await queue.get();
        const waitedS = q.oldestDueAt === null ? 0 : Math.max(0, (clock.now() - q.oldestDueAt) / 1000);
        return { ok: waitedS <= maxS, detail: `oldest due delivery waiting ${waitedS.toFixed(1)} s (limit ${maxS} s); ${q.queued} queued, ${q.deferred} deferred` };
      },
    });
  }
  if (outbox) {
    const maxS = config.readiness.maxOutboxLagMs / 1000;
    checks.push({
      name: "outbox",
      run: async () => {
        const now = clock.now();
        const behind = (await outbox.get()).filter((c) => lagSeconds(c, now) > maxS);
        if (behind.length === 0) return { ok: true, detail: `every consumer within ${maxS} s` };
        return { ok: false, detail: `behind more than ${maxS} s: ${behind.map((c) => `${c.consumer} (${lagSeconds(c, now).toFixed(1)} s, ${c.behindEvents} events)`).join(", ")}` };
      },
    });
  }

  return {
    readiness: () => checkReadiness(config.roles, checks),
    async listen(listeners) {
      listening = listeners;
      if (config.metrics.listen === null) return null;
      return startMetricsListener(config.metrics.listen, { metrics, token: config.metrics.token, readiness: () => checkReadiness(config.roles, checks) });
    },
  };
}

async function checkListeners(listeners: Listening[]): Promise<{ ok: boolean; detail: string }> {
  const down = (await Promise.all(listeners.map(async (l) => ((await accepts(l)) ? null : `${l.name} (${l.host}:${l.port})`)))).filter((x) => x !== null);
  if (down.length > 0) return { ok: false, detail: `not accepting connections: ${down.join(", ")}` };
  return { ok: true, detail: listeners.length === 0 ? "none in this process" : `accepting: ${listeners.map((l) => l.name).join(", ")}` };
}

/** Whether a TCP connection to the listener opens; closed at once (an SMTP server sees a client leave before its greeting). */
function accepts(l: Listening): Promise<boolean> {
  const host = l.host === "0.0.0.0" || l.host === "::" || l.host === "" ? "127.0.0.1" : l.host;
  return new Promise((resolve) => {
    const socket = connect({ host, port: l.port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
