// The journey runtime wired in this process against a real store (SQLite or PostgreSQL): the people
// and segments domains, the outbox with the journey triggers and segment upkeep as consumers, the
// journeys service and one or more runtimes. Email goes to a RecordingMailer, a test double of the
// OutreachMailer port that accepts each idempotency key once and runs alsoWrite in the same
// transaction as its own record — the end-to-end tests (test/journeys-runtime-e2e.test.ts) use
// the real mailer and MTA instead.
import type { Store, Db } from "../../src/store/store.js";
import type { Clock } from "../../src/shared/clock.js";
import { silentLogger } from "../../src/shared/logger.js";
import { EventsRepository } from "../../src/events/events.repository.js";
import { Outbox } from "../../src/events/outbox.js";
import { OutboxRunner } from "../../src/events/outbox.runner.js";
import { peopleServiceFor } from "../../src/people/testing/people-service.js";
import type { PeopleService } from "../../src/people/people.service.js";
import { SegmentsRepository } from "../../src/segments/segments.repository.js";
import { SegmentsService } from "../../src/segments/segments.service.js";
import { MembershipKeeper } from "../../src/segments/membership.keeper.js";
import { segmentsConsumer } from "../../src/segments/segments.consumer.js";
import { WorkspacesService } from "../../src/workspaces/workspaces.service.js";
import { LiquidRenderer } from "../../src/templates/liquid/liquid.renderer.js";
import { parseJourney } from "../../src/journeys/journey-definition.js";
import { createJourneyInterpreter } from "../../src/journeys/journey-interpreter.js";
import { JourneysRepository } from "../../src/journeys/journeys.repository.js";
import { JourneysService } from "../../src/journeys/journeys.service.js";
import { JourneyBackfillsRepository } from "../../src/journeys/journey-backfills.repository.js";
import { JourneyBackfillProcessor } from "../../src/journeys/journey-backfill.processor.js";
import { JourneyRuntime } from "../../src/journeys/journey-runtime.js";
import { JourneyDefinitions } from "../../src/journeys/journey-runtime.definitions.js";
import { JourneyTriggers } from "../../src/journeys/journey-triggers.consumer.js";
import { destinationPolicy } from "../../src/webhooks/webhook-destinations.js";
import type { OutreachLedger, OutreachMail, OutreachMailer, OutreachMessage, OutreachOutcome } from "../../src/channels/email/outreach.port.js";
import type { MessageCounts } from "../../src/journeys/journeys.port.js";
import type { PersonOperation } from "../../src/people/people.port.js";
import type { WebhookRetryPolicy } from "../../src/journeys/journey-webhook-retry.js";

export interface RecordedSend {
  mail: OutreachMail;
  messageId: string;
  at: number;
}

/** Accepts each idempotency key once (a repeat answers the first message, duplicate); `hold` decides held mail. */
export class RecordingMailer implements OutreachMailer, Pick<OutreachLedger, "ofRunStep" | "countsByStep"> {
  readonly sent: RecordedSend[] = [];
  readonly byKey = new Map<string, string>();
  /** Calls of send() made, and the mails in each. */
  readonly calls: number[] = [];
  hold: ((mail: OutreachMail) => number | null) | null = null;
  /** Runs in the send's transaction just before alsoWrite (a test takes a run's lease away there). */
  beforeAlsoWrite: ((trx: Db, mails: OutreachMail[]) => Promise<void>) | null = null;
  private next = 1;

  constructor(private readonly store: Store, private readonly clock: Clock) {}

  async send(mails: OutreachMail[], alsoWrite?: (trx: Db, outcomes: OutreachOutcome[]) => Promise<void>): Promise<OutreachOutcome[]> {
    this.calls.push(mails.length);
    const fresh: RecordedSend[] = [];
    const outcomes = await this.store.write(async (trx) => {
      const outcomes: OutreachOutcome[] = mails.map((mail) => {
        const until = this.hold?.(mail) ?? null;
        if (until !== null) return { kind: "held", until, reason: "message_limit" };
        const known = mail.idempotencyKey === null ? undefined : this.byKey.get(mail.idempotencyKey);
        if (known) return { kind: "accepted", messageId: known, deliveryId: known, duplicate: true };
        const messageId = `m${this.next++}`;
        fresh.push({ mail, messageId, at: this.clock.now() });
        return { kind: "accepted", messageId, deliveryId: messageId, duplicate: false };
      });
      await this.beforeAlsoWrite?.(trx, mails);
      await alsoWrite?.(trx, outcomes);
      return outcomes;
    });
    // Recorded only once committed: a rolled-back send sent nothing.
    for (const s of fresh) {
      this.sent.push(s);
      if (s.mail.idempotencyKey !== null) this.byKey.set(s.mail.idempotencyKey, s.messageId);
    }
    return outcomes;
  }

  async ofRunStep(_workspaceId: string, runId: string, stepId: string): Promise<OutreachMessage | null> {
    const s = this.sent.find((x) => x.mail.origin.kind === "journey" && x.mail.origin.runId === runId && x.mail.origin.stepId === stepId);
    if (!s) return null;
    return { messageId: s.messageId, deliveryId: s.messageId, workspaceId: s.mail.workspaceId, personId: s.mail.personId, recipient: "", subject: "", origin: s.mail.origin, statuses: ["sent"], createdAt: s.at, updatedAt: s.at };
  }

  async countsByStep(_workspaceId: string, journeyId: string): Promise<Map<string, MessageCounts>> {
    const out = new Map<string, MessageCounts>();
    for (const s of this.sent) {
      if (s.mail.origin.kind !== "journey" || s.mail.origin.journeyId !== journeyId) continue;
      const c = out.get(s.mail.origin.stepId) ?? { sent: 0, delivered: 0, opened: 0, clicked: 0, bounced: 0, unsubscribed: 0, skipped: 0 };
      c.sent += 1;
      out.set(s.mail.origin.stepId, c);
    }
    return out;
  }
}

export interface JourneyWorld {
  store: Store;
  workspaceId: string;
  workspaceName: string;
  workspaces: WorkspacesService;
  people: PeopleService;
  segments: SegmentsService;
  journeys: JourneysService;
  repository: JourneysRepository;
  mailer: RecordingMailer;
  triggers: JourneyTriggers;
  runtimes: JourneyRuntime[];
  newRuntime(options?: { leaseMs?: number; batchSize?: number; start?: boolean }): JourneyRuntime;
  /** A backfill processor (not started: tests drive runOnce); `people` and `segments` replace what it pages (to make it fail or pause). */
  newBackfill(options?: { pageSize?: number; leaseMs?: number; people?: Pick<PeopleService, "search">; segments?: Pick<SegmentsService, "members"> }): JourneyBackfillProcessor;
  apply(...operations: PersonOperation[]): Promise<void>;
  personId(id: string): Promise<string>;
  close(): Promise<void>;
}

export async function journeyWorld(store: Store, clock: Clock, options: { pollMs?: number; startRuntime?: boolean; webhookRetry?: WebhookRetryPolicy } = {}): Promise<JourneyWorld> {
  const logger = silentLogger();
  const outbox = new Outbox({ repository: new EventsRepository(store.dialect), clock });
  const people = peopleServiceFor(store, clock, { outbox });
  const segmentsRepository = new SegmentsRepository();
  const keeper = new MembershipKeeper({ store, clock, outbox, repository: segmentsRepository, people });
  const segments = new SegmentsService({ store, clock, repository: segmentsRepository, keeper, people });
  const repository = new JourneysRepository(store.dialect);
  const interpreter = createJourneyInterpreter({ liquid: new LiquidRenderer() });
  const mailer = new RecordingMailer(store, clock);
  const environment = { people, segmentsOf: (w: string, p: string) => segments.segmentsOf(w, p), ledger: mailer };
  const runtimes: JourneyRuntime[] = [];
  const wakeAll = () => runtimes.forEach((r) => r.wake());
  const backfills = new JourneyBackfillsRepository();
  const journeys = new JourneysService({ store, clock, repository, backfills, parse: (d) => parseJourney(d), interpreter, outbox, people, segments, ledger: mailer, onRunsDue: wakeAll });
  const triggers = new JourneyTriggers({ store, clock, repository, outbox, interpreter, environment, onRunsDue: wakeAll });
  const definitions = new JourneyDefinitions(repository);
  const pollMs = options.pollMs ?? 50;
  const newRuntime = (o: { leaseMs?: number; batchSize?: number; start?: boolean } = {}) => {
    const runtime = new JourneyRuntime({
      store,
      clock,
      logger,
      repository,
      definitions,
      interpreter,
      outbox,
      environment,
      mailer,
      effects: { people, segments, destinations: destinationPolicy(["127.0.0.0/8"]), userAgent: "Posthorn-test", webhookRetry: options.webhookRetry, now: () => clock.now() },
      leaseMs: o.leaseMs ?? 30_000,
      pollMs,
      batchSize: o.batchSize ?? 100,
    });
    runtimes.push(runtime);
    if (o.start !== false) runtime.start();
    return runtime;
  };
  if (options.startRuntime !== false) newRuntime();
  const newBackfill = (o: { pageSize?: number; leaseMs?: number; people?: Pick<PeopleService, "search">; segments?: Pick<SegmentsService, "members"> } = {}) =>
    new JourneyBackfillProcessor({ store, clock, logger, repository, outbox, interpreter, backfills, environment, people: o.people ?? people, segments: o.segments ?? segments, pageSize: o.pageSize, leaseMs: o.leaseMs ?? 30_000, onRunsDue: wakeAll });
  const runner = new OutboxRunner({ store, clock, logger, events: new EventsRepository(store.dialect), consumers: [triggers.consumer(), segmentsConsumer({ keeper })] }, { pollMs: 20 });
  outbox.onAppended(() => runner.wake());
  await runner.start();
  const workspaces = new WorkspacesService({ store, clock });
  const workspaceName = `shop-${Math.random().toString(36).slice(2, 8)}`;
  const { workspace } = await workspaces.create(workspaceName, { sandbox: false });
  const workspaceId = workspace.id;
  return {
    store,
    workspaceId,
    workspaceName,
    workspaces,
    people,
    segments,
    journeys,
    repository,
    mailer,
    triggers,
    runtimes,
    newRuntime,
    newBackfill,
    async apply(...operations) {
      const results = await people.apply(workspaceId, operations, { atomic: true });
      for (const r of results) if (!r.ok) throw new Error(JSON.stringify(r));
    },
    async personId(id) {
      const person = await people.find(workspaceId, { kind: "id", value: id });
      if (!person) throw new Error(`no person ${id}`);
      return person.personId;
    },
    async close() {
      await runner.stop();
      await Promise.all(runtimes.map((r) => r.stop()));
    },
  };
}

export const identify = (id: string, attributes: Record<string, unknown> = {}): PersonOperation => ({ op: "identify", who: { kind: "id", value: id }, attributes: { email: `${id}@example.com`, ...attributes } });
export const track = (id: string, name: string, data: Record<string, unknown> = {}): PersonOperation => ({ op: "track", who: { kind: "id", value: id }, event: { name, type: "event", dedupeKey: null, timestamp: null, data } });
