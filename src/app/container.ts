// The composition root's first half: every domain object built by hand from the config, and the
// reactions of domains to each other's events registered, without any role started. CLI commands
// use it as it is; startApp (app.ts) hands each role the objects it uses. Nothing else constructs
// services, so the whole wiring is readable here.
import type { Config } from "../config/config.schema.js";
import type { Logger } from "../shared/logger.js";
import { systemClock, type Clock } from "../shared/clock.js";
import type { Store } from "../store/store.js";
import { EventsRepository } from "../events/events.repository.js";
import { Outbox } from "../events/outbox.js";
import { WorkspacesService } from "../workspaces/workspaces.service.js";
import { SuppressionsService } from "../suppressions/suppressions.service.js";
import { BouncesRepository } from "../bounces/bounces.repository.js";
import { BouncesService } from "../bounces/bounces.service.js";
import { BounceIntakeService } from "../bounces/bounce-intake.service.js";
import { verpSecret } from "../bounces/verp.js";
import { MessagesRepository } from "../messages/messages.repository.js";
import { MessagesService } from "../messages/messages.service.js";
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
import { createDomainDns } from "../sending-domains/domain-dns.js";
import { createSecretBox } from "../sending-domains/secret-box.js";
import { InboundMessagesRepository } from "../inbound/inbound-messages.repository.js";
import { InboundService } from "../inbound/inbound.service.js";
import { createInboundDomainProof } from "../inbound/inbound-domain-proof.js";
import { reservedDomains } from "../inbound/reserved-domains.js";
import { destinationPolicy } from "../webhooks/webhook-destinations.js";
import { loadEncryptionKey } from "./encryption-key.js";
import { StatsRepository } from "../stats/stats.repository.js";
import { StatsService } from "../stats/stats.service.js";

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
  deliveries: DeliveriesRepository;
  queue: QueueService;
  domains: SendingDomainsService;
  /** Seals secrets at rest (DKIM keys) and keys the VERP signatures. */
  encryptionKey: Buffer;
  inboundMessages: InboundMessagesRepository;
  inbound: InboundService;
  bounceIntake: BounceIntakeService;
  /** Outbound stats read from the rollups that the worker role keeps (stats-rollup.consumer.ts). */
  stats: StatsService;
  statsRepository: StatsRepository;
}

export interface ContainerOptions {
  clock?: Clock;
  /** New deliveries were committed: the local MTA, if any, looks for work at once. */
  onQueued?: () => void;
  /** The local MTA's hand-off, when this process runs one (see delivery-handoff.ts). */
  handoff?: () => DeliveryHandoff | null;
}

export function buildContainer(store: Store, config: Config, logger: Logger, options: ContainerOptions = {}): Container {
  const clock = options.clock ?? systemClock;
  const hostname = config.hostname;
  const outbox = new Outbox({ repository: new EventsRepository(store.dialect), clock });
  const workspaces = new WorkspacesService({ store, clock });
  const suppressions = new SuppressionsService({ clock });
  const messagesRepository = new MessagesRepository();
  const messages = new MessagesService({ store, repository: messagesRepository, events: new EventsRepository(store.dialect) });
  const bounces = new BouncesService({ clock, repository: new BouncesRepository(), messages });
  const deliveries = new DeliveriesRepository(store.dialect);

  // What follows a change in the same transaction, in this order: the message's state, the bounce
  // record (which may suppress the address), a failure notice to the sender who asked for one.
  outbox.react(messages.finishReaction());
  outbox.react(bounces.recordReaction());
  outbox.react(suppressions.deactivateReaction());
  outbox.react(failureNoticeReaction({ hostname, clock, messages }));

  const accept = new AcceptService({
    store,
    clock,
    messages: messagesRepository,
    outbox,
    // In order: the policy, inactive recipients, then the message as it will be sent. Template
    // rendering and link tracking take their places in this list.
    steps: [validateStep({ workspaces }), suppressStep({ store, suppressions }), composeStep({ hostname, now: () => clock.now() })],
    failureNoticesByDefault: config.dsnForApi,
    onQueued: options.onQueued,
    handoff: options.handoff,
  });
  const queue = new QueueService({ store, clock, deliveries, outbox });
  const encryptionKey = loadEncryptionKey({ configured: config.encryptionKey, dataDir: config.dataDir });
  if (encryptionKey.looseFileMode) logger.warn({ path: encryptionKey.path }, "the encryption key file is readable by other users; chmod 600 it");
  const domains = new SendingDomainsService({
    store,
    clock,
    logger: logger.child({ component: "sending-domains" }),
    dns: createDomainDns({ dnsServers: config.delivery.dnsServers ? [...config.delivery.dnsServers] : undefined }),
    secrets: createSecretBox(encryptionKey.key),
    settings: { hostname, spfInclude: null, ed25519: config.dkim.ed25519 },
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
    verpSecret: verpSecret(encryptionKey.key),
    hostname,
  });
  const statsRepository = new StatsRepository();
  const stats = new StatsService({ store, repository: statsRepository });
  return { store, clock, outbox, workspaces, suppressions, accept, messages, deliveries, queue, domains, encryptionKey: encryptionKey.key, inboundMessages, inbound, bounceIntake, stats, statsRepository };
}
