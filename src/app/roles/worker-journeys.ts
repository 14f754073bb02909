// The journeys part of the worker role: journeys as code loaded first (a bad file fails the start),
// the trigger consumer on an outbox runner of its own (an event to the run it starts is a latency
// that people see, like segment upkeep's), and the runtime that claims due runs.
import type { Spans } from "../../shared/spans.js";
import type { Config } from "../../config/config.schema.js";
import type { Logger } from "../../shared/logger.js";
import type { Clock } from "../../shared/clock.js";
import type { Store } from "../../store/store.js";
import type { Container } from "../container.js";
import { EventsRepository } from "../../events/events.repository.js";
import { OutboxRunner } from "../../events/outbox.runner.js";
import type { LogWindow } from "../../events/log-window.js";
import { destinationPolicy } from "../../webhooks/webhook-destinations.js";
import { JourneyRuntime } from "../../journeys/journey-runtime.js";
import type { Metrics } from "../../observability/metrics.js";
import { JourneyDefinitions } from "../../journeys/journey-runtime.definitions.js";
import { JourneyTriggers } from "../../journeys/journey-triggers.consumer.js";
import { loadJourneyFiles } from "../../journeys/journey-files.js";
import { JourneyBackfillProcessor } from "../../journeys/journey-backfill.processor.js";
import { JourneyBackfillsRepository } from "../../journeys/journey-backfills.repository.js";

/** How soon the trigger consumer looks at the log again after a batch or a wake-up. */
const TRIGGER_LOOK_MS = 10;
/** Events per batch of the trigger consumer: it reads every person.event (most cost a map lookup). */
const TRIGGER_BATCH = 1_000;

export type JourneyWorkerDeps = Pick<Container, "outbox" | "workspaces" | "journeys" | "journeysRepository" | "journeyInterpreter" | "outreachMailer" | "outreachLedger" | "people" | "segments"> & {
  config: Config;
  logger: Logger;
  clock: Clock;
  store: Store;
  /** The process's shared read of the event log (log-window.ts); a window of its own when absent. */
  window?: LogWindow;
  /** Times journey timers' lateness. */
  metrics?: Metrics;
  /** Traces, when on: each run's steps continue the trace of what started it. */
  spans?: Spans;
};

export interface JourneyWorker {
  wake(): void;
  /** Wakes the trigger consumer (events were appended). */
  wakeTriggers(): void;
  /** The outbox consumers it runs (for their lag: src/app/observability.ts). */
  consumers: ReadonlyArray<{ name: string; types: readonly string[] }>;
  stop(): Promise<void>;
}

export async function startJourneyWorker(deps: JourneyWorkerDeps): Promise<JourneyWorker> {
  const { config, logger, clock, store } = deps;
  if (config.journeys.dir !== null) {
    const loaded = await loadJourneyFiles(config.journeys.dir, { workspaceIdOf: async (name) => (await deps.workspaces.get(name)).id, journeys: deps.journeys });
    logger.info({ event: "journey.definitions.loaded", dir: config.journeys.dir, ...loaded }, "journeys loaded from files");
  }
  const environment = { people: deps.people, segmentsOf: (w: string, p: string) => deps.segments.segmentsOf(w, p), ledger: deps.outreachLedger };
  let runtime: JourneyRuntime | null = null;
  const triggers = new JourneyTriggers({ store, clock, repository: deps.journeysRepository, outbox: deps.outbox, interpreter: deps.journeyInterpreter, environment, onRunsDue: () => runtime?.wake() });
  runtime = new JourneyRuntime({
    store,
    clock,
    logger: logger.child({ component: "journeys" }),
    repository: deps.journeysRepository,
    definitions: new JourneyDefinitions(deps.journeysRepository),
    interpreter: deps.journeyInterpreter,
    outbox: deps.outbox,
    environment,
    mailer: deps.outreachMailer,
    effects: { people: deps.people, segments: deps.segments, destinations: destinationPolicy(config.inbound.hookAllowedNetworks), userAgent: "Posthorn journeys", webhookRetry: config.journeys.webhookRetry, now: () => clock.now() },
    leaseMs: config.journeys.leaseMs,
    pollMs: config.journeys.pollMs,
    batchSize: config.journeys.batchSize,
    // SQLite has one connection: a second loop would only queue behind the first.
    concurrency: config.journeys.concurrency ?? (store.dialect === "postgres" ? 4 : 1),
    timerLate: deps.metrics && ((seconds) => deps.metrics!.journeyTimerLate(seconds)),
    ...(deps.spans ? { spans: deps.spans } : {}),
  });
  const consumers = [triggers.consumer()];
  const runner = new OutboxRunner(
    { store, clock, logger: logger.child({ component: "outbox" }), events: new EventsRepository(store.dialect), ...(deps.window ? { window: deps.window } : {}), consumers },
    { pollMs: TRIGGER_LOOK_MS, batchSize: TRIGGER_BATCH },
  );
  // Who already qualifies when a journey goes live: entered in pages, in the background (journey-backfill.processor.ts).
  const backfill = new JourneyBackfillProcessor({ store, clock, logger: logger.child({ component: "journeys" }), repository: deps.journeysRepository, backfills: new JourneyBackfillsRepository(), outbox: deps.outbox, interpreter: deps.journeyInterpreter, environment, people: deps.people, segments: deps.segments, leaseMs: config.journeys.leaseMs, onRunsDue: () => runtime?.wake() });
  await runner.start();
  runtime.start();
  backfill.start();
  const started = runtime;
  return {
    wake: () => {
      started.wake();
      backfill.wake();
    },
    wakeTriggers: () => runner.wake(),
    consumers,
    async stop() {
      await Promise.all([runner.stop(), started.stop(), backfill.stop()]);
    },
  };
}
