// The worker role: the outbox consumers (inbound and outbound webhooks; stats and journeys come
// next) and the webhook dispatcher. Any number of processes may run it against one
// PostgreSQL: each consumer's cursor and each post are leased.
import type { Config } from "../../config/config.schema.js";
import type { Logger } from "../../shared/logger.js";
import type { Clock } from "../../shared/clock.js";
import type { Store } from "../../store/store.js";
import { EventsRepository } from "../../events/events.repository.js";
import { appendedRowsOf } from "../../events/appended-rows.js";
import { OutboxRunner } from "../../events/outbox.runner.js";
import { LogWindow } from "../../events/log-window.js";
import { WorkLoop } from "../../shared/work-loop.js";
import { WebhookDeliveriesRepository } from "../../webhooks/webhook-deliveries.repository.js";
import { WebhookDispatcher } from "../../webhooks/webhook.dispatcher.js";
import type { Metrics } from "../../observability/metrics.js";
import { inboundHooksConsumer } from "../../webhooks/inbound-hooks.consumer.js";
import { destinationPolicy } from "../../webhooks/webhook-destinations.js";
import { OUTBOUND_RETRY_STEPS, outboundHooksConsumer, outboundHooksSource } from "../../webhooks/outbound-hooks.consumer.js";
import { signingSecret } from "../../webhooks/webhook-signature.js";
import { postmarkWebhookPayloads } from "../../api/postmark/webhook-payloads.js";
import { BulkProcessor } from "../../bulk/bulk.processor.js";
import { BulkRepository } from "../../bulk/bulk.repository.js";
import { statsRollupConsumer } from "../../stats/stats-rollup.consumer.js";
import type { Container } from "../container.js";
import { DataRemovalsWorker } from "../../data-removals/data-removals.worker.js";
import { PeopleMaintenance, PersonEventIndexer, PersonEventKeyMerger } from "../../people/people.maintenance.js";
import { PersonEventsRepository } from "../../people/person-events.repository.js";
import { segmentsConsumer } from "../../segments/segments.consumer.js";
import { outreachStatusConsumer } from "../../channels/email/outreach-status.consumer.js";
import { SegmentUpkeep } from "../../segments/segment-upkeep.js";
import { loadSegmentFiles } from "../../segments/segment-files.js";
import { BroadcastProcessor } from "../../broadcasts/broadcast.processor.js";
import { BroadcastTriggerProcessor } from "../../broadcasts/broadcast-trigger.processor.js";
import { startJourneyWorker, type JourneyWorkerDeps } from "./worker-journeys.js";
import { ExportProcessor } from "../../exports/export.processor.js";
import { ExportSources } from "../../exports/export-sources.js";
import { SearchIndexRepository } from "../../messages/activity/search-index.repository.js";
import { SearchBackfill, searchIndexConsumer } from "../../messages/activity/search-indexer.js";
import { RetentionWorker } from "../../retention/retention.worker.js";
import { RetentionRepository } from "../../retention/retention.repository.js";

/** How often expired dashboard sessions are deleted. */
const SESSIONS_PRUNE_MS = 60 * 60 * 1000;
/** How soon the segment consumer looks at the log again (see startWorkerRole). */
const SEGMENT_LOOK_MS = 10;
/**
 * Events per batch of the segment consumer: it reads every person.event, and at full ingest a
 * batch of 100 would mean hundreds of cursor writes a second beside the ingest's own commits.
 */
const SEGMENT_BATCH = 1_000;
/** Messages per batch of the search indexer (see below). */
const SEARCH_BATCH = 5_000;
/** How often the search indexer looks at the log (see below). */
const SEARCH_LOOK_MS = 1_000;

export interface WorkerRole {
  /** A bulk send was just stored: start on it now rather than at the next poll. */
  wakeBulk(): void;
  /** A data-driven segment was defined or changed: fill it now rather than at the next poll. */
  wakeSegments(): void;
  /** A broadcast or broadcast trigger was just stored: start on it now rather than at the next poll. */
  wakeBroadcasts(): void;
  /** Journey runs were entered or made due: advance them now rather than at the next poll. */
  wakeJourneys(): void;
  /** An export was just recorded: start building it now rather than at the next poll. */
  wakeExports(): void;
  /** The outbox consumers it runs (for their lag: src/app/observability.ts). */
  consumers: ReadonlyArray<{ name: string; types: readonly string[] }>;
  stop(): Promise<void>;
}

export interface WorkerRoleDeps extends Pick<Container, "outbox" | "inbound" | "dataRemovals" | "messages" | "bounces" | "webhooks" | "encryptionKey" | "accept" | "workspaces" | "bulkRenderer" | "statsRepository" | "segments" | "segmentKeeper" | "segmentsRepository" | "people" | "outreachLedgerRepository" | "broadcastsRepository" | "broadcastAudience" | "users" | "exportsRepository">, Omit<JourneyWorkerDeps, "config" | "logger" | "clock" | "store"> {
  config: Config;
  logger: Logger;
  clock: Clock;
  store: Store;
  /** Counts webhook attempts, journey timers' lateness and what retention removes; absent in tests that start the role alone. */
  metrics?: Metrics;
}

export async function startWorkerRole(deps: WorkerRoleDeps): Promise<WorkerRole> {
  const { config, logger, clock, store, outbox } = deps;
  // File-defined segments first: a bad file fails the start, listing every problem (segment-files.ts).
  if (config.segments.dir !== null) {
    const loaded = await loadSegmentFiles(config.segments.dir, { workspaceIdOf: async (name) => (await deps.workspaces.get(name)).id, segments: deps.segments });
    logger.info({ event: "segment.definitions.loaded", dir: config.segments.dir, ...loaded }, "segment definitions loaded from files");
  }
  const webhookDeliveries = new WebhookDeliveriesRepository();
  const dispatcher = new WebhookDispatcher({
    store,
    clock,
    logger: logger.child({ component: "webhooks" }),
    outbox,
    repository: webhookDeliveries,
    sources: [
      deps.inbound.webhookSource(),
      outboundHooksSource({ webhooks: deps.webhooks, clock, retryDelaysMs: OUTBOUND_RETRY_STEPS.map((n) => n * config.webhooks.backoffMs) }),
    ],
    destinations: destinationPolicy(config.inbound.hookAllowedNetworks),
    backoffMs: config.inbound.hookBackoffMs,
    // One timeout for both kinds: the longer of the two settings, so neither is cut short.
    timeoutMs: Math.max(config.inbound.hookTimeoutMs, config.webhooks.timeoutMs),
    signingSecret: secretOf(deps.encryptionKey),
    endpointConcurrency: config.webhooks.endpointConcurrency,
    breakerThreshold: config.webhooks.breakerThreshold,
    breakerPauseMs: config.webhooks.breakerPauseMs,
    onAttempt: deps.metrics && ((kind, outcome) => deps.metrics!.webhookAttempted(kind, outcome)),
  });
  // Every outbox consumer of this process reads the log through one window (log-window.ts), and on
  // SQLite takes the rows this process's own ingest has just written from memory (appended-rows.ts).
  const events = new EventsRepository(store.dialect, appendedRowsOf(store));
  const window = new LogWindow(events);
  const consumers = [
      inboundHooksConsumer({ store, clock, repository: webhookDeliveries, scheduled: () => dispatcher.wake() }),
      outboundHooksConsumer({
        store,
        clock,
        repository: webhookDeliveries,
        webhooks: deps.webhooks,
        payloads: postmarkWebhookPayloads({ messages: deps.messages, bounces: deps.bounces }),
        scheduled: () => dispatcher.wake(),
      }),
      statsRollupConsumer({ repository: deps.statsRepository, tagsOf: async (db, ids) => new Map([...(await deps.messages.forBounces(db, ids))].map(([id, m]) => [id, m.tag])), liveWorkspaces: (db, ids) => deps.workspaces.liveWorkspaces(db, ids) }),
      outreachStatusConsumer({ ledger: deps.outreachLedgerRepository }),
  ];
  const runner = new OutboxRunner({ store, clock, logger: logger.child({ component: "outbox" }), events, window, consumers });
  // Segment upkeep has a latency target (an event to the segment entry it causes: p99 < 100 ms,
  // docs/segments-benchmark.md), so it reads the log with a runner of its own that looks again
  // 10 ms after a batch or a wake-up, where the runner above waits 50 ms between looks. Idle, it
  // costs one indexed read of the log's end every 20 ms.
  const segmentConsumers = [segmentsConsumer({ keeper: deps.segmentKeeper })];
  const segmentRunner = new OutboxRunner(
    { store, clock, logger: logger.child({ component: "outbox" }), events, window, consumers: segmentConsumers },
    { pollMs: SEGMENT_LOOK_MS, batchSize: SEGMENT_BATCH },
  );
  // The activity list's search index, off the accept path (src/messages/activity/search-indexer.ts):
  // a runner of its own that looks once a second with batches of up to SEARCH_BATCH, so that at
  // full ingest it commits about once a second rather than twenty times (measured: at 50 ms its
  // commits and reads were the largest new cost per relayed message, docs/benchmarks.md); search
  // lags acceptance by about a second, as the page says. The backfill starts once its cursor is recorded.
  const searchIndex = new SearchIndexRepository(store.dialect);
  const searchRunner = new OutboxRunner(
    { store, clock, logger: logger.child({ component: "outbox" }), events, window, consumers: [searchIndexConsumer({ repository: searchIndex })] },
    { batchSize: SEARCH_BATCH, pollMs: SEARCH_LOOK_MS, minLookMs: SEARCH_LOOK_MS },
  );
  const searchBackfill = new SearchBackfill({ store, logger: logger.child({ component: "search" }), repository: searchIndex });
  const bulk = new BulkProcessor({
    store,
    clock,
    logger: logger.child({ component: "bulk" }),
    repository: new BulkRepository(),
    accept: deps.accept,
    workspaces: deps.workspaces,
    renderer: deps.bulkRenderer,
    // A claim on a bulk send is held and renewed like a claim on deliveries.
    leaseMs: config.delivery.leaseMs,
  });
  // Newsletters: claimed like bulk sends, each chunk's messages and progress in one transaction (src/broadcasts/README.md).
  const broadcasts = new BroadcastProcessor({
    store,
    clock,
    logger: logger.child({ component: "broadcasts" }),
    repository: deps.broadcastsRepository,
    mailer: deps.outreachMailer,
    audience: deps.broadcastAudience,
    leaseMs: config.delivery.leaseMs,
  });
  // API-triggered broadcasts: their people enter the journey in chunks (broadcast-trigger.processor.ts).
  const broadcastTriggers = new BroadcastTriggerProcessor({
    store,
    clock,
    logger: logger.child({ component: "broadcasts" }),
    repository: deps.broadcastsRepository,
    journeys: deps.journeys,
    people: deps.people,
    audience: deps.broadcastAudience,
    leaseMs: config.delivery.leaseMs,
  });
  // Exports: built in batches, each batch's rows and cursor in one transaction (src/exports/README.md).
  const exportBuilder = new ExportProcessor({
    store,
    clock,
    logger: logger.child({ component: "exports" }),
    repository: deps.exportsRepository,
    sources: new ExportSources({ audience: deps.broadcastAudience, ledger: deps.outreachLedger, people: deps.people }),
    leaseMs: config.delivery.leaseMs,
  });
  const journeys = await startJourneyWorker({ ...deps, config, logger, clock, store, window });
  outbox.onAppended(() => {
    runner.wake();
    segmentRunner.wake();
    searchRunner.wake();
    journeys.wakeTriggers();
  });
  const segmentUpkeep = new SegmentUpkeep({
    store,
    clock,
    logger: logger.child({ component: "segments" }),
    repository: deps.segmentsRepository,
    keeper: deps.segmentKeeper,
    people: deps.people,
    pollMs: config.segments.pollMs,
  });
  const removals = new DataRemovalsWorker({ service: deps.dataRemovals, logger: logger.child({ component: "data-removals" }) });
  const peopleUpkeep = new PeopleMaintenance({
    store,
    clock,
    logger: logger.child({ component: "people" }),
    events: new PersonEventsRepository(store.dialect),
    retentionMs: config.people.eventRetentionMs,
    dedupeWindowMs: config.people.dedupeWindowMs,
    intervalMs: config.people.maintenanceIntervalMs,
  });
  const peopleIndexer = new PersonEventIndexer({ store, logger: logger.child({ component: "people" }), events: new PersonEventsRepository(store.dialect) });
  const eventKeyMerger = new PersonEventKeyMerger({ store, logger: logger.child({ component: "people" }), events: new PersonEventsRepository(store.dialect) });
  // Bodies and events past their retention, a batch per transaction (src/retention/README.md).
  const retention = new RetentionWorker({
    store,
    clock,
    logger: logger.child({ component: "retention" }),
    repository: new RetentionRepository(store.dialect),
    settings: config.retention,
    removed: deps.metrics && ((kind, count) => deps.metrics!.retentionRemovedRows(kind, count)),
  });
  // Expired dashboard sessions are refused when presented; this only keeps the table small.
  const sessionsPruner = new WorkLoop({ runOnce: async () => { await deps.users.prune(); return false; }, pollMs: SESSIONS_PRUNE_MS, logger: logger.child({ component: "users" }), what: "pruning expired sessions" });
  dispatcher.start();
  sessionsPruner.start();
  await runner.start();
  await segmentRunner.start();
  await searchRunner.start();
  searchBackfill.start();
  removals.start();
  bulk.start();
  broadcasts.start();
  broadcastTriggers.start();
  exportBuilder.start();
  segmentUpkeep.start();
  peopleUpkeep.start();
  peopleIndexer.start();
  eventKeyMerger.start();
  // After the outbox runners, whose cursors it reads: with none recorded it deletes no event.
  retention.start();
  return {
    wakeBulk: () => bulk.wake(),
    wakeSegments: () => segmentUpkeep.wakeFiller(),
    wakeJourneys: () => journeys.wake(),
    wakeExports: () => exportBuilder.wake(),
    consumers: [...consumers, ...segmentConsumers, ...journeys.consumers],
    wakeBroadcasts: () => {
      broadcasts.wake();
      broadcastTriggers.wake();
    },
    async stop() {
      await Promise.all([journeys.stop(), runner.stop(), segmentRunner.stop(), searchRunner.stop(), searchBackfill.stop(), dispatcher.stop(), removals.stop(), bulk.stop(), broadcasts.stop(), broadcastTriggers.stop(), exportBuilder.stop(), segmentUpkeep.stop(), peopleUpkeep.stop(), peopleIndexer.stop(), eventKeyMerger.stop(), sessionsPruner.stop(), retention.stop()]);
    },
  };
}

/** Each workspace's signing secret, derived once per workspace (an HMAC each time would cost a little per post). */
function secretOf(key: Buffer): (workspaceId: string) => string {
  const known = new Map<string, string>();
  return (workspaceId) => {
    let secret = known.get(workspaceId);
    if (secret === undefined) {
      secret = signingSecret(key, workspaceId);
      if (known.size > 10_000) known.clear();
      known.set(workspaceId, secret);
    }
    return secret;
  };
}
