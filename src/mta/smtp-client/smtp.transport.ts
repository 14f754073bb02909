// The outbound SMTP transport: from "this message, these recipients at this domain" to each
// recipient's outcome. It routes (relay, or MX with the domain's MTA-STS policy), finds the
// destination's limits, and hands the job to that destination's ready queue (destination.pool.ts),
// which caps and reuses connections. On the way it applies, per destination: the message-rate
// cap, the adaptive throttle (throttle.ts), the memory of unreachable hosts, and connection slots
// shared with other MTA processes (connection-slots.repository.ts).
//
// Two words: a *site* is one ready queue, the MX host set of a domain (domains sharing MX hosts
// share it); a *cap* is what limits and throttling apply to, a limits entry ("google": every
// Google-hosted site together) or else the site itself.
//
// Delivery is at least once. A connection that drops after the message was sent but before the
// server answered the end of DATA defers every recipient, though the server may already have
// the message: RFC 5321 §3.8 tells the client to treat that as a temporary failure, and the retry
// can duplicate it (RFC 1047). Losing mail would be worse than a rare duplicate.
import { randomHex } from "../../shared/ids.js";
import type { AttemptResult, DeliveryJob, SmtpReply, Transport } from "../mta.types.js";
import type { MxResolver, TxtResolver } from "../routing/mx.resolver.js";
import { DestinationPool, QueueWaitExpired } from "../shaping/destination.pool.js";
import { createDestinationRouter, deferredAll, everyRecipient, noConnection, outcomeOf, type Need, type Placement } from "../routing/destination.router.js";
import { openDestinationLimits, type DestinationLimitsSource } from "../shaping/destination-limits.loader.js";
import { MemorySlotStore, type ConnectionSlotStore } from "../shaping/connection-slots.repository.js";
import { createMtaStsResolver, type MtaStsResolver } from "../routing/mta-sts.js";
import { createConnector, DestinationUnreachable, type ConnectTarget } from "./smtp.connector.js";
import { SmtpSessionError, type RecipientReply, type SmtpSession, type SmtpTimeouts, type TlsPolicy } from "./smtp.session.js";
import { throttleKindOf, type ThrottleKind } from "../shaping/throttle.js";
import { DestinationShaping, UnreachableDestinations } from "../shaping/traffic-shaping.js";
import { createSlotKeeper } from "../shaping/slot-keeper.js";
import { contentForHop } from "./hop-content.js";

export interface TransportLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface SmtpTransportOptions {
  /** Our FQDN, sent with EHLO. */
  hostname: string;
  /** Send everything through this smarthost instead of the recipients' MX hosts. */
  relay: { host: string; port: number } | null;
  /** Port for MX delivery: 25, configurable for tests. */
  port: number;
  resolver: MxResolver & Partial<TxtResolver>;
  /** Defaults of the limits when `limits` is not given (POSTHORN_MAX_CONNECTIONS_PER_DESTINATION). */
  maxConnectionsPerDestination?: number;
  /** Likewise POSTHORN_MAX_MESSAGES_PER_CONNECTION. */
  maxMessagesPerConnection?: number;
  /** Limits per destination (openDestinationLimits); the transport closes it on close(). Default:
   *  the shipped limits over the two defaults above. */
  limits?: DestinationLimitsSource;
  /** Connection slots shared by MTA processes (ConnectionSlotsRepository over the store). Default:
   *  in memory, which holds the caps within this process only. */
  slots?: ConnectionSlotStore;
  /** How long a slot is leased; renewed every third of it while its connection lives. Default 60 s. */
  slotLeaseMs?: number;
  /** How soon to try again for a slot when every one is held. Default 250 ms. */
  slotRetryMs?: number;
  /** MTA-STS policies (RFC 8461); null turns them off. Default: fetched over HTTPS, discovered
   *  through `resolver` when it can look up TXT records. Not used with a relay. */
  mtaSts?: MtaStsResolver | null;
  /** An idle session quits after this long. Default 5 s (ZoneMTA 5 s, Postfix 2 s): servers
   *  drop idle clients anyway, and an idle connection holds a slot on the server. */
  idleTimeoutMs?: number;
  /** Replaces the limits' per-phase timeouts for every destination (tests). */
  timeouts?: Partial<SmtpTimeouts>;
  /** TLS for every destination: "opportunistic" unless set; requireTls and MTA-STS raise it. */
  tls?: TlsPolicy;
  /** Trust anchors replacing the system's CAs for certificate checks (SMTP and MTA-STS); tests only. */
  tlsCa?: string | Buffer | Array<string | Buffer>;
  /** How long an address that refused or timed out is tried after the others. Default 60 s. */
  unreachableMemoryMs?: number;
  /** How long a site whose every host failed is skipped; doubles per failed probe. Default 60 s. */
  unreachableRetryMs?: number;
  /** Longest skip of an unreachable site. Default 10 min. */
  maxUnreachableRetryMs?: number;
  /** Longest a job waits in a ready queue (for a connection or the rate cap) before it is deferred,
   *  so that one slow destination cannot hold the worker's capacity. Default 60 s. */
  maxQueueWaitMs?: number;
  /** Throttle replies within this long count as one episode (one halving). Default 1 s. */
  throttleCooldownMs?: number;
  logger?: TransportLogger;
  now?: () => number;
}

export interface TransportStatus {
  caps: Array<{ key: string; entry: string | null; maxConnections: number; connectionLimit: number; inUse: number; pausedUntil: number | null }>;
  sites: Array<{ key: string; cap: string; hosts: string[]; open: number; waiting: number }>;
  unreachable: Array<{ key: string; until: number; reason: string }>;
}

export interface SmtpTransport extends Transport {
  /** What each destination is doing: for `posthorn queue`, metrics and tests. */
  status(): TransportStatus;
}

interface Site {
  key: string;
  label: string;
  target: ConnectTarget;
  shaping: DestinationShaping;
  pool: DestinationPool<SmtpSession, Need>;
}

/** A job that will not be tried now: why, and what the last failure said. */
class NotNow extends Error {
  constructor(message: string, readonly failure: DestinationUnreachable | null = null) {
    super(message);
  }
}

/** Bound on caps remembered for their throttle state after their queues emptied. */
const MAX_REMEMBERED_CAPS = 10_000;
const iso = (ms: number) => new Date(ms).toISOString();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createSmtpTransport(options: SmtpTransportOptions): SmtpTransport {
  const now = options.now ?? Date.now;
  const idleTimeoutMs = options.idleTimeoutMs ?? 5_000;
  const maxQueueWaitMs = options.maxQueueWaitMs ?? 60_000;
  const globalTls = options.tls ?? "opportunistic";
  const logger = options.logger;
  const limits =
    options.limits ??
    openDestinationLimits({ file: null, defaults: { maxConnections: options.maxConnectionsPerDestination, maxMessagesPerConnection: options.maxMessagesPerConnection } });
  const mtaSts =
    options.mtaSts === undefined && !options.relay && options.resolver.resolveTxt
      ? createMtaStsResolver({
          resolveTxt: options.resolver.resolveTxt.bind(options.resolver),
          resolveHostAddresses: options.resolver.resolveHostAddresses.bind(options.resolver),
          ca: options.tlsCa,
          logger,
        })
      : (options.mtaSts ?? null);
  const place = createDestinationRouter({ relay: options.relay, port: options.port, resolver: options.resolver, mtaSts, limits, tls: globalTls });
  const connector = createConnector({ hostname: options.hostname, resolver: options.resolver, unreachableMemoryMs: options.unreachableMemoryMs ?? 60_000, tlsCa: options.tlsCa, logger });
  const unreachable = new UnreachableDestinations(options.unreachableRetryMs ?? 60_000, options.maxUnreachableRetryMs ?? 10 * 60_000, now);
  const shapings = new Map<string, DestinationShaping>();
  const sites = new Map<string, Site>();
  const inFlight = new Set<Promise<AttemptResult>>();
  const slots = createSlotKeeper({
    store: options.slots ?? new MemorySlotStore(now),
    owner: `${options.hostname}/${process.pid}/${randomHex(4)}`,
    leaseMs: options.slotLeaseMs ?? 60_000,
    logger,
    onFreed: (capKey) => shapings.get(capKey)?.sites.forEach((queue) => queue.wake()),
  });
  let closing = false;

  function shapingFor(placement: Placement): DestinationShaping {
    let shaping = shapings.get(placement.capKey);
    if (!shaping) {
      // Caps without queues are kept while they are throttled; past a bound, forget those that
      // are not paused (a lowered cap nobody sends to has nothing left to protect).
      if (shapings.size >= MAX_REMEMBERED_CAPS) {
        for (const [key, idle] of shapings) if (idle.sites.size === 0 && idle.throttle.pausedUntil === null) shapings.delete(key);
      }
      shaping = new DestinationShaping(placement.capKey, placement.entry, placement.limits, now, options.throttleCooldownMs ?? 1_000);
      shapings.set(placement.capKey, shaping);
    }
    shaping.update(placement.limits);
    return shaping;
  }

  function siteFor(placement: Placement): Site {
    const shaping = shapingFor(placement);
    const existing = sites.get(placement.siteKey);
    if (existing) {
      existing.target = placement.target; // the latest route: current MX order and shuffle
      return existing;
    }
    const site: Site = {
      key: placement.siteKey,
      label: placement.label,
      target: placement.target,
      shaping,
      pool: new DestinationPool<SmtpSession, Need>({
        connect: (need) => connectSite(site, need),
        serves: (session, need) => need === "any" || (need === "encrypt" ? session.tls : session.tlsVerified),
        maxConnections: () => shaping.connectionLimit(),
        maxMessagesPerConnection: () => shaping.limits.maxMessagesPerConnection,
        idleTimeoutMs,
        claimSlot: () => slots.claim(shaping.key, shaping.connectionLimit()),
        slotRetryMs: options.slotRetryMs,
        onEmpty: () => {
          if (sites.get(site.key) !== site) return;
          sites.delete(site.key);
          shaping.sites.delete(site.key);
          if (shaping.isIdle && shapings.get(shaping.key) === shaping) shapings.delete(shaping.key);
        },
      }),
    };
    sites.set(site.key, site);
    shaping.sites.set(site.key, site.pool);
    return site;
  }

  function throttled(shaping: DestinationShaping, kind: { kind: ThrottleKind; rule: string }, reply: SmtpReply, host: string): void {
    const { limits: l } = shaping;
    const change = shaping.throttle.onThrottle(kind.kind, kind.rule, l.throttle, l.maxConnections, shaping.inUse());
    if (!change) return;
    shaping.lastThrottleReply = reply.text;
    logger?.warn({ event: "mta.destination.slowed", destination: shaping.key, host, rule: kind.rule, connectionLimit: change.limit, pausedUntil: change.pausedUntil }, `destination asked us to slow down: ${reply.text}`);
    for (const queue of shaping.sites.values()) {
      if (change.pausedUntil) queue.failWaiting(new NotNow(pausedReason(shaping, change.pausedUntil)));
      queue.trim();
    }
  }

  function pausedReason(shaping: DestinationShaping, until: number): string {
    return `sending to ${shaping.entry ?? shaping.key} is paused until ${iso(until)} after it asked us to slow down: ${shaping.lastThrottleReply}`;
  }

  async function connectSite(site: Site, need: Need): Promise<SmtpSession> {
    const tls: TlsPolicy = need === "verify" ? "verify" : need === "encrypt" ? "encrypt" : globalTls === "none" ? "none" : "opportunistic";
    const timeouts = { ...site.shaping.limits.timeouts, ...options.timeouts };
    const onRefusal = (reply: SmtpReply, host: string) => {
      const kind = throttleKindOf(reply);
      if (kind) throttled(site.shaping, kind, reply, host);
    };
    try {
      const session = await connector.connect(site.target, { tls, timeouts, onRefusal });
      unreachable.clear(site.key);
      return session;
    } catch (err) {
      if (!(err instanceof DestinationUnreachable) || site.pool.openSessions > 0) throw err;
      if (err.reply && throttleKindOf(err.reply)) {
        // Every host refused us for our volume: that is a pause, not an outage.
        const until = site.shaping.throttle.pause(site.shaping.limits.throttle);
        site.shaping.lastThrottleReply = err.reply.text;
        for (const queue of site.shaping.sites.values()) queue.failWaiting(new NotNow(pausedReason(site.shaping, until), err));
      } else if (!(err.code === "ETLS" && need !== "any")) {
        // A TLS policy failure says nothing about reachability for jobs that do not need it.
        const state = unreachable.mark(site.key, err);
        logger?.warn({ event: "mta.destination.unreachable", destination: site.key, until: iso(state.until) }, `destination unreachable: ${err.message}`);
      }
      throw err;
    }
  }

  /** Why a job for this site is not tried now, or null. */
  function blocked(site: Site): NotNow | null {
    const down = unreachable.get(site.key);
    if (down) {
      return new NotNow(`${site.label} is unreachable until ${iso(down.until)} (RFC 5321 §4.5.4.1); last failure: ${down.failure.message}`, down.failure);
    }
    const pausedUntil = site.shaping.throttle.pausedUntil;
    return pausedUntil ? new NotNow(pausedReason(site.shaping, pausedUntil)) : null;
  }

  function sessionResult(session: SmtpSession, outcomes: AttemptResult["outcomes"]): AttemptResult {
    return { outcomes, remoteHost: session.host, remoteIp: session.remoteIp, tls: session.tls, dsn: session.extensions.dsn };
  }

  /** Adaptive throttling from the replies of a transaction, and recovery from its deliveries. */
  function learn(site: Site, host: string, replies: readonly RecipientReply[], outcomes: AttemptResult["outcomes"]): void {
    for (const { reply } of replies) {
      const kind = throttleKindOf(reply);
      if (kind) {
        throttled(site.shaping, kind, reply, host);
        return;
      }
    }
    if (outcomes.some((o) => o.outcome.kind === "delivered")) site.shaping.throttle.onDelivered(site.shaping.limits.throttle, site.shaping.limits.maxConnections);
  }

  async function deliverOnce(job: DeliveryJob): Promise<AttemptResult> {
    const placed = await place(job);
    if ("outcomes" in placed) return placed;
    const started = now();
    let site = siteFor(placed);
    const early = blocked(site);
    if (early) return deferredAll(job, early.message, early.failure);
    const rateWaitMs = site.shaping.reserveMessage(maxQueueWaitMs);
    if (rateWaitMs === null) return deferredAll(job, `message rate cap of ${site.shaping.entry ?? site.label} reached; more than ${maxQueueWaitMs} ms to wait`);
    if (rateWaitMs > 0) {
      await sleep(rateWaitMs);
      site = siteFor(placed);
      const late = blocked(site);
      if (late) return deferredAll(job, late.message, late.failure);
    }

    // At most two tries: the second only when a reused session failed before any byte of the
    // message was sent, which is how a server closing an idle connection looks. Nothing can be
    // duplicated by it, and the job should not pay for the pool's stale connection.
    for (let attemptNo = 1; ; attemptNo += 1) {
      site = siteFor(placed); // an emptied site is dropped; this finds or makes the current one
      let lease;
      try {
        lease = await site.pool.acquire(placed.need, Math.max(1, started + maxQueueWaitMs - now()));
      } catch (err) {
        if (err instanceof DestinationUnreachable) return deferredAll(job, `all hosts failed; last: ${err.message}`, err);
        if (err instanceof NotNow) return deferredAll(job, err.message, err.failure);
        if (err instanceof QueueWaitExpired) {
          return deferredAll(job, `waited ${err.waitedMs} ms for a connection to ${site.label} (${site.shaping.connectionLimit()} at most, all busy); will retry`);
        }
        return deferredAll(job, (err as Error).message);
      }
      const { session, reused } = lease;
      // What this hop can take is known now, after its EHLO (RFC 6152, RFC 6531).
      const content = contentForHop(job, session.extensions, session.host);
      if (content.kind === "refused") {
        site.pool.release(session, true);
        return sessionResult(session, everyRecipient(job, outcomeOf(content.reply)));
      }
      const sendable = job.recipients.filter((r) => !content.refused.has(r));
      let replies: RecipientReply[];
      try {
        if (session.needsReset) await session.reset();
        const sent = sendable.length > 0 ? await session.send(job.envelopeFrom, sendable, content.raw, content.options) : [];
        if (content.refused.size === 0) {
          replies = sent;
        } else {
          const byRecipient = new Map(sent.map((r) => [r.recipient, r.reply]));
          replies = job.recipients.map((recipient) => ({ recipient, reply: content.refused.get(recipient) ?? byRecipient.get(recipient)! }));
        }
      } catch (err) {
        if (!(err instanceof SmtpSessionError)) {
          site.pool.release(session, false);
          throw err;
        }
        const kind = throttleKindOf(err.reply);
        if (kind && err.reply) throttled(site.shaping, kind, err.reply, session.host);
        site.pool.release(session, false);
        // A 421 that asks us to slow down is not an idle timeout: no immediate second try.
        if (!kind && reused && !err.bodySent && attemptNo === 1) continue;
        logger?.warn({ event: "mta.session.failed", host: session.host, address: session.remoteIp, phase: err.phase, code: err.code, bodySent: err.bodySent }, `SMTP session failed: ${err.message}`);
        const reason = `${session.host} [${session.remoteIp}]: ${err.message}`;
        return sessionResult(session, everyRecipient(job, { kind: "deferred", reply: err.reply, reason }));
      }
      const outcomes = replies.map(({ recipient, reply }) => ({ recipient, outcome: outcomeOf(reply) }));
      // Learn before the session goes back, so a pause is in force before anyone else sends.
      learn(site, session.host, replies, outcomes);
      site.pool.release(session, true);
      return sessionResult(session, outcomes);
    }
  }

  return {
    deliver(job: DeliveryJob): Promise<AttemptResult> {
      if (job.recipients.length === 0) return Promise.resolve(noConnection(job, { kind: "deferred", reply: null, reason: "" }));
      if (closing) return Promise.resolve(noConnection(job, { kind: "deferred", reply: null, reason: "transport is closing" }));
      const delivery = deliverOnce(job).finally(() => inFlight.delete(delivery));
      inFlight.add(delivery);
      return delivery;
    },

    async openConnections() {
      const open = new Map<string, number>();
      for (const site of sites.values()) open.set(site.shaping.key, (open.get(site.shaping.key) ?? 0) + site.pool.openSessions);
      return [...open].map(([destination, n]) => ({ destination, open: n }));
    },
    status(): TransportStatus {
      return {
        caps: [...shapings.values()].map((s) => ({
          key: s.key,
          entry: s.entry,
          maxConnections: s.limits.maxConnections,
          connectionLimit: s.connectionLimit(),
          inUse: s.inUse(),
          pausedUntil: s.throttle.pausedUntil,
        })),
        sites: [...sites.values()].map((s) => ({ key: s.key, cap: s.shaping.key, hosts: s.target.hosts.map((h) => h.host), open: s.pool.openSessions, waiting: s.pool.waiting })),
        unreachable: unreachable.list().map((u) => ({ key: u.key, until: u.until, reason: u.failure.message })),
      };
    },

    async close(): Promise<void> {
      closing = true;
      await Promise.allSettled([...inFlight]);
      await Promise.all([...sites.values()].map(({ pool }) => pool.close()));
      sites.clear();
      await slots.close();
      limits.close();
    },
  };
}
