// The composition root: builds every object by hand from the config and starts the roles this
// process runs. Nothing else constructs services, so the whole wiring is readable here.
import type { FastifyInstance } from "fastify";
import type { Config } from "../config/config.schema.js";
import type { Logger } from "../shared/logger.js";
import { systemClock, type Clock } from "../shared/clock.js";
import { openStore, type Store } from "../store/store.js";
import { WorkspacesService } from "../workspaces/workspaces.service.js";
import { SuppressionsService } from "../suppressions/suppressions.service.js";
import { BouncesService } from "../bounces/bounces.service.js";
import { MessagesRepository } from "../messages/messages.repository.js";
import { AcceptService } from "../messages/accept.service.js";
import { RawAcceptService } from "../messages/raw-accept.service.js";
import { DeliveriesRepository } from "../mta/deliveries.repository.js";
import { OutcomeRecorder } from "../mta/outcome.recorder.js";
import { MtaWorker } from "../mta/mta.worker.js";
import { QueueService } from "../mta/queue.service.js";
import { verpSecret } from "../mta/verp.js";
import { loadEncryptionKey } from "./encryption-key.js";
import { SendingDomainsService } from "../sending-domains/sending-domains.service.js";
import { createDomainDns } from "../sending-domains/domain-dns.js";
import { createSecretBox } from "../sending-domains/secret-box.js";
import { createDkimSigner } from "../sending-domains/dkim.signer.js";
import { createDkimSignPool } from "../sending-domains/dkim-sign.pool.js";
import { startDomainRecheck, type DomainRecheck } from "../sending-domains/domain-recheck.js";
import { domainsRoutes } from "../api/postmark/domains.routes.js";
import { returnPathDomains } from "./return-path.js";
import { queueRoutes } from "../api/app/queue.routes.js";
import { buildHttpServer } from "../api/http.server.js";
import { createMtaTransport } from "./transport.factory.js";
import type { Transport } from "../mta/mta.types.js";
import { startSmtpRole, type SmtpRole } from "./smtp-role.js";
import { InboundMessagesRepository } from "../inbound/inbound-messages.repository.js";
import { InboundService } from "../inbound/inbound.service.js";
import { BounceIntakeService } from "../inbound/bounce-intake.service.js";
import type { DnsResolve } from "../inbound/authentication.js";

export interface AppServices {
  store: Store;
  clock: Clock;
  workspaces: WorkspacesService;
  suppressions: SuppressionsService;
  bounces: BouncesService;
  messages: MessagesRepository;
  accept: AcceptService;
  /** Raw RFC 5322 submissions (SMTP). */
  rawAccept: RawAcceptService;
  deliveries: DeliveriesRepository;
  queue: QueueService;
  domains: SendingDomainsService;
  /** Seals secrets at rest (DKIM keys) and keys the VERP signatures. */
  encryptionKey: Buffer;
  inboundMessages: InboundMessagesRepository;
  inbound: InboundService;
  bounceIntake: BounceIntakeService;
}

/** The domain services over a store, without any role started: used by CLI commands and by start. */
export function buildServices(store: Store, config: Config, logger: Logger, options: { clock?: Clock; onQueued?: () => void; onInboundHookDue?: () => void } = {}): AppServices {
  const clock = options.clock ?? systemClock;
  const hostname = config.hostname;
  const workspaces = new WorkspacesService({ store, clock });
  const suppressions = new SuppressionsService({ clock });
  const bounces = new BouncesService({ clock, suppressions });
  const messages = new MessagesRepository();
  const accept = new AcceptService({ store, clock, hostname, workspaces, suppressions, messages, notifyFailures: config.dsnForApi, onQueued: options.onQueued });
  const queue = new QueueService({ store, clock, bounces, messages });
  const rawAccept = new RawAcceptService({ store, clock, hostname, workspaces, suppressions, messages, onQueued: options.onQueued });
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
  return { store, clock, workspaces, suppressions, bounces, messages, accept, rawAccept, deliveries, queue, domains, encryptionKey: encryptionKey.key, inboundMessages, inbound, bounceIntake };
}

export interface RunningApp {
  services: AppServices;
  /** The API's base URL, when the api role runs. */
  httpUrl: string | null;
  /** The smtp role's listeners, when it runs. */
  smtp: SmtpRole | null;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Replaces the SMTP transport (benchmarks measuring the queue alone). */
  transport?: Transport;
  /** DNS for SPF/DKIM/DMARC checks of inbound mail (tests answer from a fixed zone). */
  inboundDns?: DnsResolve;
}

export async function startApp(config: Config, logger: Logger, options: StartOptions = {}): Promise<RunningApp> {
  const clock = systemClock;
  const store = openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  await store.migrate();

  let worker: MtaWorker | null = null;
  let smtp: SmtpRole | null = null;
  const services = buildServices(store, config, logger, { clock, onQueued: () => worker?.wake(), onInboundHookDue: () => smtp?.wakeHooks() });
  const { workspaces, bounces, messages, accept, deliveries, domains } = services;
  let recheck: DomainRecheck | null = null;

  let transport: Transport | null = null;
  const signPool = createDkimSignPool();
  if (config.roles.includes("mta")) {
    transport = options.transport ?? createMtaTransport(config, logger, store);
    const recorder = new OutcomeRecorder({
      store,
      clock,
      logger: logger.child({ component: "mta" }),
      retry: { scheduleMs: config.delivery.retryScheduleMs, maxAgeMs: config.delivery.maxQueueAgeMs },
      deliveries,
      messages,
      bounces,
      hostname: config.hostname,
      onQueued: () => worker?.wake(),
    });
    worker = new MtaWorker(
      { store, clock, logger: logger.child({ component: "mta" }), transport, deliveries, messages, recorder, signer: createDkimSigner({ service: domains, clock, sign: signPool.sign }) },
      {
        concurrency: config.delivery.concurrency,
        leaseMs: config.delivery.leaseMs,
        envelope: config.envelope.verp
          ? { verp: true, secret: verpSecret(services.encryptionKey), returnPathDomain: returnPathDomains(domains, config.envelope.returnPathDomain, clock) }
          : { verp: false },
      },
    );
    worker.start();
    // DNS rechecks of sending domains ride with the MTA role, which needs their results.
    recheck = startDomainRecheck({ service: domains, intervalMs: config.dkim.recheckIntervalMs, logger: logger.child({ component: "sending-domains" }) });
  }

  let http: FastifyInstance | null = null;
  let httpUrl: string | null = null;
  let started = false;
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      // Phase one: stop taking work (no new HTTP requests, no new claims). Phase two: drain what
      // is in flight within the deadline, give back what is not done, close the store.
      const deadline = config.shutdownTimeoutMs;
      await Promise.all([http?.close(), smtp?.stop(), worker?.stop(deadline), recheck?.stop()]);
      await transport?.close();
      await signPool.close();
      await store.close();
    })());

  try {
    if (config.roles.includes("api")) {
      http = buildHttpServer({
        logger,
        store,
        workspaces,
        accept,
        messages,
        inbound: services.inbound,
        accountRoutes: [queueRoutes(services.queue), domainsRoutes({ domains })],
        readiness: async () => {
          try {
            await store.ping();
            return { ready: started, detail: { database: "ok", roles: config.roles } };
          } catch (err) {
            return { ready: false, detail: { database: (err as Error).message, roles: config.roles } };
          }
        },
      });
      await http.listen({ port: config.http.port, host: config.http.host });
      const address = http.server.address();
      const port = typeof address === "object" && address ? address.port : config.http.port;
      const host = config.http.host === "0.0.0.0" || config.http.host === "::" ? "127.0.0.1" : config.http.host;
      httpUrl = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    }
    if (config.roles.includes("smtp")) {
      smtp = await startSmtpRole({ config, logger, clock, services, options: { resolve: options.inboundDns } });
    }
  } catch (err) {
    // A listener that cannot start (port in use, unreadable certificate) stops what did start.
    await stop().catch(() => undefined);
    throw err;
  }
  started = true;

  return { services, httpUrl, smtp, stop };
}
