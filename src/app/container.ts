// The composition root's first half: every domain object built by hand from the config, without
// any role started. CLI commands use it as it is; startApp (app.ts) hands each role the objects it
// uses. Nothing else constructs services, so the whole wiring is readable here.
import type { Config } from "../config/config.schema.js";
import type { Logger } from "../shared/logger.js";
import { systemClock, type Clock } from "../shared/clock.js";
import type { Store } from "../store/store.js";
import { WorkspacesService } from "../workspaces/workspaces.service.js";
import { SuppressionsService } from "../suppressions/suppressions.service.js";
import { BouncesService } from "../bounces/bounces.service.js";
import { BounceIntakeService } from "../bounces/bounce-intake.service.js";
import { verpSecret } from "../bounces/verp.js";
import { MessagesRepository } from "../messages/messages.repository.js";
import { AcceptService } from "../messages/accept/accept.service.js";
import { validateStep } from "../messages/accept/validate.step.js";
import { suppressStep } from "../messages/accept/suppress.step.js";
import { composeStep } from "../compose/compose.step.js";
import { DeliveriesRepository } from "../mta/queue/deliveries.repository.js";
import { QueueService } from "../mta/queue/queue.service.js";
import { SendingDomainsService } from "../sending-domains/sending-domains.service.js";
import { createDomainDns } from "../sending-domains/domain-dns.js";
import { createSecretBox } from "../sending-domains/secret-box.js";
import { InboundMessagesRepository } from "../inbound/inbound-messages.repository.js";
import { InboundService } from "../inbound/inbound.service.js";
import { loadEncryptionKey } from "./encryption-key.js";

export interface Container {
  store: Store;
  clock: Clock;
  workspaces: WorkspacesService;
  suppressions: SuppressionsService;
  bounces: BouncesService;
  messages: MessagesRepository;
  /** The one way in for every message (Postmark API, SMTP submission). */
  accept: AcceptService;
  deliveries: DeliveriesRepository;
  queue: QueueService;
  domains: SendingDomainsService;
  /** Seals secrets at rest (DKIM keys) and keys the VERP signatures. */
  encryptionKey: Buffer;
  inboundMessages: InboundMessagesRepository;
  inbound: InboundService;
  bounceIntake: BounceIntakeService;
}

export interface ContainerOptions {
  clock?: Clock;
  /** New deliveries were committed: the local MTA, if any, looks for work at once. */
  onQueued?: () => void;
  /** An inbound message with a due webhook was committed. */
  onInboundHookDue?: () => void;
}

export function buildContainer(store: Store, config: Config, logger: Logger, options: ContainerOptions = {}): Container {
  const clock = options.clock ?? systemClock;
  const hostname = config.hostname;
  const workspaces = new WorkspacesService({ store, clock });
  const suppressions = new SuppressionsService({ clock });
  const bounces = new BouncesService({ clock, suppressions });
  const messages = new MessagesRepository();
  const accept = new AcceptService({
    store,
    clock,
    messages,
    // In order: the policy, inactive recipients, then the message as it will be sent. Template
    // rendering and link tracking take their places in this list.
    steps: [validateStep({ workspaces }), suppressStep({ store, suppressions }), composeStep({ hostname, now: () => clock.now() })],
    failureNoticesByDefault: config.dsnForApi,
    onQueued: options.onQueued,
  });
  const queue = new QueueService({ store, clock, bounces, messages });
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
  const deliveries = new DeliveriesRepository(store.dialect);
  const inboundMessages = new InboundMessagesRepository();
  const inbound = new InboundService({ store, clock, workspaces, repository: inboundMessages, inboundDomain: config.inbound.domain, onHookDue: options.onInboundHookDue });
  const bounceIntake = new BounceIntakeService({
    store,
    clock,
    logger: logger.child({ component: "inbound" }),
    bounces,
    messages,
    deliveries,
    verpSecret: verpSecret(encryptionKey.key),
    hostname,
  });
  return { store, clock, workspaces, suppressions, bounces, messages, accept, deliveries, queue, domains, encryptionKey: encryptionKey.key, inboundMessages, inbound, bounceIntake };
}
