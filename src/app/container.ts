// The composition root's first half: every domain object built by hand from the config, and the
// reactions of domains to each other's events registered, without any role started. CLI commands
// use it as it is (those that only administer workspaces and users, its admin-services.ts part
// alone); startApp (app.ts) hands each role the objects it uses. Nothing else constructs
// services, so the whole wiring is readable here.
import type { Spans } from "../shared/spans.js";
import type { Config } from "../config/config.schema.js";
import type { Logger } from "../shared/logger.js";
import { systemClock, type Clock } from "../shared/clock.js";
import type { Store } from "../store/store.js";
import { EventsRepository } from "../events/events.repository.js";
import { appendedRowsOf } from "../events/appended-rows.js";
import { Outbox } from "../events/outbox.js";
import type { WorkspacesService } from "../workspaces/workspaces.service.js";
import { SuppressionsService } from "../suppressions/suppressions.service.js";
import { BouncesRepository } from "../bounces/bounces.repository.js";
import { BouncesService } from "../bounces/bounces.service.js";
import { BounceIntakeService } from "../bounces/bounce-intake.service.js";
import { verpSecret } from "../bounces/verp.js";
import { MessagesRepository } from "../messages/messages.repository.js";
import { MessagesService } from "../messages/messages.service.js";
import { ActivityService } from "../messages/activity/activity.service.js";
import { ActivityRepository } from "../messages/activity/activity.repository.js";
import { WebhookTrail } from "../webhooks/webhook-trail.js";
import { WebhookDeliveriesRepository } from "../webhooks/webhook-deliveries.repository.js";
import { AcceptService } from "../messages/accept/accept.service.js";
import { validateStep } from "../messages/accept/validate.step.js";
import { suppressStep } from "../messages/accept/suppress.step.js";
import { composeStep } from "../compose/compose.step.js";
import type { DeliveryHandoff } from "../messages/accept/delivery-handoff.js";
import { DeliveriesRepository } from "../mta/queue/deliveries.repository.js";
import { DeliveriesService } from "../mta/queue/deliveries.service.js";
import { QueueService } from "../mta/queue/queue.service.js";
import { failureNoticeReaction } from "../mta/failure-notices/failure-notices.js";
import { SendingDomainsService } from "../sending-domains/sending-domains.service.js";
import { SendersRepository } from "../senders/senders.repository.js";
import { createDomainDns } from "../sending-domains/domain-dns.js";
import { createSecretBox } from "../sending-domains/secret-box.js";
import { InboundMessagesRepository } from "../inbound/inbound-messages.repository.js";
import { InboundService } from "../inbound/inbound.service.js";
import { createInboundDomainProof } from "../inbound/inbound-domain-proof.js";
import { reservedDomains } from "../inbound/reserved-domains.js";
import { destinationPolicy } from "../webhooks/webhook-destinations.js";
import { WebhooksRepository } from "../webhooks/webhooks.repository.js";
import { WebhooksService } from "../webhooks/webhooks.service.js";
import { buildAdminServices } from "./admin-services.js";
import { StreamsService } from "../workspaces/streams.service.js";
import { senderStep } from "../messages/accept/sender.step.js";
import { SendersService } from "../senders/senders.service.js";
import { SenderStanding } from "../senders/from-authority.js";
import { ConfirmationLinks } from "../senders/confirmation-link.js";
import { systemMailer } from "./system-mail.js";
import { PublicDeliveryIds } from "../messages/public-delivery-ids.js";
import { TemplatesRepository } from "../templates/templates.repository.js";
import { TemplatesService } from "../templates/templates.service.js";
import { DataRemovalsService } from "../data-removals/data-removals.service.js";
import { DataRemovalsRepository } from "../data-removals/data-removals.repository.js";
import { ErasureRepository } from "../data-removals/erasure.repository.js";
import { TrackingService } from "../tracking/tracking.service.js";
import { TrackingSettings } from "../tracking/tracking-settings.js";
import { TrackingTokens, trackingKey } from "../tracking/tracking-tokens.js";
import { geoDatabase } from "../tracking/geo.js";
import { trackingStep } from "../compose/tracking.step.js";
import { unsubscribeStep } from "../compose/unsubscribe.step.js";
import { BulkService } from "../bulk/bulk.service.js";
import { bulkRendererOf } from "../templates/bulk-renderer.js";
import { BulkRepository } from "../bulk/bulk.repository.js";
import type { BulkRenderer } from "../bulk/bulk.types.js";
import { StatsRepository } from "../stats/stats.repository.js";
import { StatsService } from "../stats/stats.service.js";
import { PeopleService } from "../people/people.service.js";
import { PeopleRepository } from "../people/people.repository.js";
import { PersonEventsRepository } from "../people/person-events.repository.js";
import { DeliveryRecipientRepository } from "../people/delivery-recipient.repository.js";
import { SegmentsRepository } from "../segments/segments.repository.js";
import { SegmentsService } from "../segments/segments.service.js";
import { MembershipKeeper } from "../segments/membership.keeper.js";
import { LiquidRenderer } from "../templates/liquid/liquid.renderer.js";
import { StoredOutreachMailer } from "../channels/email/outreach.mailer.js";
import { StoredOutreachLedger } from "../channels/email/outreach-ledger.js";
import { OutreachLedgerRepository } from "../channels/email/outreach-ledger.repository.js";
import { StoredMessageLimits } from "../channels/email/message-limits.js";
import { MessageLimitsRepository } from "../channels/email/message-limits.repository.js";
import { TransactionalMessagesService } from "../channels/email/transactional-messages.service.js";
import { TransactionalMessagesRepository } from "../channels/email/transactional-messages.repository.js";
import type { MessageLimitsSettings, OutreachLedger, OutreachMailer } from "../channels/email/outreach.port.js";
import { BroadcastsRepository } from "../broadcasts/broadcasts.repository.js";
import { BroadcastsService } from "../broadcasts/broadcasts.service.js";
import { AudienceReader } from "../broadcasts/audience.reader.js";
import { BroadcastTriggersService } from "../broadcasts/broadcast-triggers.service.js";
import type { UsersService } from "../users/users.service.js";
import { JourneysRepository } from "../journeys/journeys.repository.js";
import { JourneysService } from "../journeys/journeys.service.js";
import { JourneyBackfillsRepository } from "../journeys/journey-backfills.repository.js";
import { parseJourney } from "../journeys/journey-definition.js";
import { createJourneyInterpreter } from "../journeys/journey-interpreter.js";
import type { JourneyInterpreter } from "../journeys/journey-interpreter.port.js";
import { ExportsRepository } from "../exports/exports.repository.js";
import { ExportsService } from "../exports/exports.service.js";
import { DownloadLinks, downloadLinkKey } from "../exports/download-links.js";
import type { Metrics } from "../observability/metrics.js";
import { acceptCounts } from "./observability.js";

export interface Container {
  store: Store;
  clock: Clock;
  /** Where every state change's event is written; reactions are registered on it below. */
  outbox: Outbox;
  workspaces: WorkspacesService;
  suppressions: SuppressionsService;
  /** The one way in for every message (Postmark API, SMTP submission). */
  accept: AcceptService;
  /** Accepted messages read back: search, details with timeline, MIME. */
  messages: MessagesService;
  /** The dashboard's activity list and message detail (issue 13). */
  activity: ActivityService;
  deliveries: DeliveriesRepository;
  queue: QueueService;
  domains: SendingDomainsService;
  /** Seals secrets at rest (DKIM keys) and keys the VERP signatures. */
  encryptionKey: Buffer;
  inboundMessages: InboundMessagesRepository;
  inbound: InboundService;
  bounceIntake: BounceIntakeService;
  /** Message streams: list, create, edit, archive (Postmark's Message Streams API). */
  streams: StreamsService;
  /** Bounce records read and activated (Postmark's Bounces API). */
  bounces: BouncesService;
  /** Sender signatures (account API) and their confirmation links. */
  senders: SendersService;
  /** Templates and layouts; rendered for /email/withTemplate before acceptance. */
  templates: TemplatesService;
  /** Requests to erase an address everywhere (account API), carried out by the worker role. */
  dataRemovals: DataRemovalsService;
  /** Open and click tracking, unsubscribe links, and the searches over opens and clicks. */
  tracking: TrackingService;
  /** Outbound webhook endpoints (Postmark's /webhooks and the legacy server hook URLs). */
  webhooks: WebhooksService;
  /** Bulk sends: stored by the API, processed by the worker role with this renderer. */
  bulk: BulkService;
  bulkRenderer: BulkRenderer;
  /** Outbound stats read from the rollups that the worker role keeps (stats-rollup.consumer.ts). */
  stats: StatsService;
  statsRepository: StatsRepository;
  /** People, their events, devices and objects (Track API, Segment-spec pipeline, App API). */
  people: PeopleService;
  /** Segments: definitions, membership reads, manual segments (the worker role keeps membership with segmentKeeper). */
  segments: SegmentsService;
  segmentKeeper: MembershipKeeper;
  segmentsRepository: SegmentsRepository;
  /** Mail to people (journeys, broadcasts, transactional messages), its ledger, and the message limits it keeps. */
  outreachMailer: OutreachMailer;
  outreachLedger: OutreachLedger;
  outreachLedgerRepository: OutreachLedgerRepository;
  messageLimits: MessageLimitsSettings;
  liquid: LiquidRenderer;
  /** Customer.io's transactional messages: defined once, sent by POST /v1/send/email. */
  transactional: TransactionalMessagesService;
  /** Newsletters (App API /v1/broadcasts), sent by the worker role's broadcast processor through the outreach mailer. */
  broadcasts: BroadcastsService;
  broadcastsRepository: BroadcastsRepository;
  /** Reads a broadcast's audience (a segment or filter tree) page by page. */
  broadcastAudience: AudienceReader;
  /** API-triggered broadcasts (triggerBroadcast): recorded here, entered by the worker role. */
  broadcastTriggers: BroadcastTriggersService;
  /** Journeys: versioned definitions, broadcast entry, runs and metrics (the worker role runs them). */
  journeys: JourneysService;
  journeysRepository: JourneysRepository;
  journeyInterpreter: JourneyInterpreter;
  /** Dashboard users and their sessions (src/users/). */
  users: UsersService;
  /** Customers and deliveries exports (App API /v1/exports), built by the worker role. */
  exports: ExportsService;
  exportsRepository: ExportsRepository;
}

export interface ContainerOptions {
  clock?: Clock;
  /** The process's metrics: acceptance counts what it commits. */
  metrics?: Metrics;
  /** New deliveries were committed: the local MTA, if any, looks for work at once. */
  onQueued?: () => void;
  /** The local MTA's hand-off, when this process runs one (see delivery-handoff.ts). */
  handoff?: () => DeliveryHandoff | null;
  /** A bulk send was stored: the local worker, if any, starts on it at once. */
  onBulkSubmitted?: () => void;
  /** A data-driven segment was defined or changed: the local worker, if any, starts filling it at once. */
  onSegmentFill?: () => void;
  /** A broadcast or broadcast trigger was stored: the local worker, if any, starts on it at once. */
  onBroadcastStored?: () => void;
  /** Journey runs were entered or made due: the local worker, if any, advances them at once. */
  onJourneyRunsDue?: () => void;
  /** An export was recorded: the local worker, if any, starts building it at once. */
  onExportStored?: () => void;
  /** Traces (src/observability/tracing.ts), when OTEL_EXPORTER_OTLP_ENDPOINT is set; absent: nothing is traced. */
  spans?: Spans;
}

export function buildContainer(store: Store, config: Config, logger: Logger, options: ContainerOptions = {}): Container {
  const clock = options.clock ?? systemClock;
  const hostname = config.hostname;
  const outbox = new Outbox({ repository: new EventsRepository(store.dialect, appendedRowsOf(store)), clock });
  const { workspaces, users, encryptionKey } = buildAdminServices(store, config, logger, clock);
  const streams = new StreamsService({ store, clock, onChanged: (workspaceId, streamId) => workspaces.forgetStream(workspaceId, streamId) });
  const suppressions = new SuppressionsService({ clock, store, outbox, assertStream: (workspaceId, streamId) => streams.assertOutbound(workspaceId, streamId) });
  const messagesRepository = new MessagesRepository();
  const messages = new MessagesService({ store, repository: messagesRepository, events: new EventsRepository(store.dialect) });
  const activity = new ActivityService({ store, repository: new ActivityRepository(store.dialect), messages, webhooks: new WebhookTrail({ store, repository: new WebhookDeliveriesRepository() }) });
  const bounces = new BouncesService({ clock, repository: new BouncesRepository(), messages, store, suppressions });
  const deliveries = new DeliveriesRepository(store.dialect);

  // What follows a change in the same transaction, in this order: the message's state, the bounce
  // record (which may suppress the address), a failure notice to the sender who asked for one.
  outbox.react(messages.finishReaction());
  outbox.react(bounces.recordReaction());
  outbox.react(suppressions.deactivateReaction());
  outbox.react(failureNoticeReaction({ hostname, clock, messages }));
  outbox.react(bounces.reactivatedReaction());

  // The From rule's lookups; `domains` is built below, and asked only once messages arrive.
  let domainsForRule: SendingDomainsService | null = null;
  const senderStanding = new SenderStanding({
    store,
    clock,
    repository: new SendersRepository(),
    verifiedDomains: (names) => domainsForRule!.dkimVerifiedNames(names),
  });
  const tracking = new TrackingService({
    store,
    clock,
    outbox,
    suppressions,
    tokens: new TrackingTokens(trackingKey(encryptionKey)),
    geo: geoDatabase(config.tracking.geoipDatabase),
    baseUrl: config.tracking.baseUrl,
    fallbackBaseUrl: `http://${hostname}${config.http.port === 80 || config.http.port === 0 ? "" : `:${config.http.port}`}`,
    // Port 0 (tests) has no known port before the listener starts: the API role then says where it is.
    listenerDecides: config.tracking.baseUrl === null && config.http.port === 0,
    // Mail to the return-path domain reaches the inbound listener, when there is one.
    unsubscribeMailDomain: config.inbound.port === null ? null : config.envelope.returnPathDomain,
  });
  const trackingSettings = new TrackingSettings({ store, clock });

  const accept = new AcceptService({
    store,
    clock,
    messages: messagesRepository,
    outbox,
    // In order: the policy, inactive recipients, then the message as it will be sent. Template
    // rendering and link tracking take their places in this list.
    steps: [
      validateStep({ workspaces }),
      senderStep({ enabled: config.senders.requireVerifiedFrom, authority: senderStanding }),
      suppressStep({ store, suppressions }),
      composeStep({ hostname, now: () => clock.now() }),
      trackingStep({ settings: trackingSettings, tracking }),
      unsubscribeStep({ settings: trackingSettings, tracking }),
    ],
    failureNoticesByDefault: config.dsnForApi,
    onQueued: options.onQueued,
    handoff: options.handoff,
    deliveryIds: new PublicDeliveryIds(encryptionKey),
    observer: options.metrics && acceptCounts(options.metrics),
    ...(options.spans ? { spans: options.spans } : {}),
  });
  const queue = new QueueService({ store, clock, deliveries, outbox });
  const domains = new SendingDomainsService({
    store,
    clock,
    logger: logger.child({ component: "sending-domains" }),
    dns: createDomainDns({ dnsServers: config.delivery.dnsServers ? [...config.delivery.dnsServers] : undefined }),
    secrets: createSecretBox(encryptionKey),
    settings: { hostname, spfInclude: null, ed25519: config.dkim.ed25519 },
  });
  domainsForRule = domains;
  domains.onDomainChanged(() => senderStanding.forget());
  const senders = new SendersService({
    store,
    clock,
    logger: logger.child({ component: "senders" }),
    domains,
    links: new ConfirmationLinks(encryptionKey, config.senders.confirmationBaseUrl),
    resendIntervalMs: config.senders.resendIntervalMs,
    sendConfirmation: systemMailer({ workspaces, accept, from: config.senders.systemFrom, workspaceName: config.senders.systemWorkspace }),
    onChanged: () => senderStanding.forget(),
  });
  const inboundMessages = new InboundMessagesRepository();
  const inbound = new InboundService({
    store,
    clock,
    workspaces,
    repository: inboundMessages,
    outbox,
    inboundDomain: config.inbound.domain,
    hookDestinations: destinationPolicy(config.inbound.hookAllowedNetworks),
    domainProof: createInboundDomainProof({ hostname, dnsServers: config.delivery.dnsServers, clock }),
    reservedDomain: reservedDomains({ hostname, returnPathDomain: config.envelope.returnPathDomain, inboundDomain: config.inbound.domain, domains }),
  });
  outbox.react(inbound.hookOutcomeReaction());
  const bounceIntake = new BounceIntakeService({
    store,
    logger: logger.child({ component: "inbound" }),
    outbox,
    deliveries: new DeliveriesService({ repository: deliveries, clock }),
    verpSecret: verpSecret(encryptionKey),
    hostname,
    clock,
  });
  const templates = new TemplatesService({ store, clock, repository: new TemplatesRepository() });
  const dataRemovals = new DataRemovalsService({
    store,
    clock,
    repository: new DataRemovalsRepository(),
    erasure: new ErasureRepository(store.dialect),
    events: new EventsRepository(store.dialect),
    outbox,
    hashKey: encryptionKey,
    notify: systemMailer({ workspaces, accept, from: config.senders.systemFrom, workspaceName: config.senders.systemWorkspace }),
  });
  const webhooks = new WebhooksService({
    store,
    clock,
    repository: new WebhooksRepository(),
    workspaces,
    secrets: createSecretBox(encryptionKey),
    destinations: destinationPolicy(config.inbound.hookAllowedNetworks),
  });
  const bulkRenderer = bulkRendererOf(templates);
  const bulk = new BulkService({ store, clock, repository: new BulkRepository(), workspaces, renderer: bulkRenderer, onSubmitted: options.onBulkSubmitted });
  const statsRepository = new StatsRepository();
  const stats = new StatsService({ store, repository: statsRepository });
  const people = new PeopleService({ store, clock, outbox, people: new PeopleRepository(), events: new PersonEventsRepository(store.dialect), deliveries: new DeliveryRecipientRepository(), deliveryIds: new PublicDeliveryIds(encryptionKey), dedupeWindowMs: config.people.dedupeWindowMs, applied: options.metrics && ((w, op, n) => options.metrics!.peopleApplied(op, w, n)), ...(options.spans ? { spans: options.spans } : {}) });
  const segmentsRepository = new SegmentsRepository();
  const segmentKeeper = new MembershipKeeper({ store, clock, outbox, repository: segmentsRepository, people });
  const segments = new SegmentsService({ store, clock, repository: segmentsRepository, keeper: segmentKeeper, people, onFillNeeded: options.onSegmentFill });
  const liquid = new LiquidRenderer();
  const outreachLedgerRepository = new OutreachLedgerRepository();
  const messageLimits = new StoredMessageLimits({ store, clock, repository: new MessageLimitsRepository() });
  const outreachMailer = new StoredOutreachMailer({ store, clock, people, renderer: liquid, templates, suppressions, workspaces, accept, limits: messageLimits, ledger: outreachLedgerRepository });
  const transactional = new TransactionalMessagesService({ store, clock, repository: new TransactionalMessagesRepository(), mailer: outreachMailer, people, renderer: liquid });
  const outreachLedger = new StoredOutreachLedger({ store, repository: outreachLedgerRepository });
  const journeysRepository = new JourneysRepository(store.dialect);
  const journeyInterpreter = createJourneyInterpreter({ liquid });
  const journeys = new JourneysService({ store, clock, repository: journeysRepository, backfills: new JourneyBackfillsRepository(), parse: (document) => parseJourney(document), interpreter: journeyInterpreter, outbox, people, segments, ledger: outreachLedger, onRunsDue: options.onJourneyRunsDue });
  const broadcastsRepository = new BroadcastsRepository();
  const broadcasts = new BroadcastsService({ store, clock, repository: broadcastsRepository, segments, ledger: outreachLedger, onStored: options.onBroadcastStored });
  const broadcastAudience = new AudienceReader({ people, segments });
  const broadcastTriggers = new BroadcastTriggersService({ store, clock, repository: broadcastsRepository, journeys, onStored: options.onBroadcastStored });
  const exportsRepository = new ExportsRepository();
  const exports = new ExportsService({ store, clock, repository: exportsRepository, segments, broadcasts, links: new DownloadLinks(downloadLinkKey(encryptionKey)), onStored: options.onExportStored });
  return { store, clock, outbox, users, workspaces, suppressions, accept, messages, activity, deliveries, queue, domains, encryptionKey, inboundMessages, inbound, bounceIntake, streams, bounces, senders, templates, dataRemovals, tracking, webhooks, bulk, bulkRenderer, stats, statsRepository, people, segments, segmentKeeper, segmentsRepository, outreachMailer, outreachLedger, outreachLedgerRepository, messageLimits, liquid, transactional, journeys, journeysRepository, journeyInterpreter, broadcasts, broadcastsRepository, broadcastAudience, broadcastTriggers, exports, exportsRepository };
}
