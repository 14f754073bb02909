// The outbound SMTP transport: from "this message, these recipients at this domain" to each
// recipient's outcome. It routes (relay or MX), keeps a pool of sessions per destination, tries
// MX hosts in preference order, and classifies every reply with the rules in bounce-rules.ts.
//
// Delivery is at least once. A connection that drops after the message was sent but before the
// server answered the end of DATA defers every recipient, though the server may already have
// the message: RFC 5321 §3.8 tells the client to treat that as a temporary failure, and the retry
// can duplicate it (RFC 1047). Losing mail would be worse than a rare duplicate.
import { lookup } from "node:dns/promises";
import net from "node:net";
import type { AttemptResult, DeliveryJob, RecipientOutcome, SmtpReply, Transport } from "./mta.types.js";
import type { MxHost, MxResolver, Route } from "./mx.resolver.js";
import { classifyReply } from "./reply.classifier.js";
import { DestinationPool } from "./destination.pool.js";
import {
  openSmtpSession,
  SmtpSessionError,
  type RecipientReply,
  type SmtpSession,
  type SmtpTimeouts,
  type TlsPolicy,
} from "./smtp.session.js";

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
  resolver: MxResolver;
  /** Sessions open or opening per destination. Default 10 (ZoneMTA 5 per domain, Postfix 20). */
  maxConnectionsPerDestination?: number;
  /** Messages per session before it retires. Default 100 (ZoneMTA's reuseCount). */
  maxMessagesPerConnection?: number;
  /** An idle session quits after this long. Default 5 s (ZoneMTA 5 s, Postfix 2 s): servers
   *  drop idle clients anyway, and an idle connection holds a slot on the server. */
  idleTimeoutMs?: number;
  timeouts?: Partial<SmtpTimeouts>;
  tls?: TlsPolicy;
  /** How long an address that refused or timed out is tried after the others. Default 60 s. */
  unreachableMemoryMs?: number;
  logger?: TransportLogger;
}

/** Postfix's smtp_mx_address_limit: addresses tried for one connection before giving up. */
const MAX_ADDRESSES_PER_CONNECT = 5;
/** Bound on remembered unreachable addresses. */
const MAX_REMEMBERED_UNREACHABLE = 10_000;

interface Destination {
  key: string;
  hosts: MxHost[];
  port: number;
  /** The relay is resolved with the system resolver (/etc/hosts included), MX hosts through DNS. */
  viaRelay: boolean;
}

interface PoolEntry {
  pool: DestinationPool<SmtpSession>;
  /** The latest route seen, so new sessions follow the current MX order and shuffle. */
  destination: Destination;
}

/** No host of the destination could be reached; carries the last failure. */
class DestinationUnreachable extends Error {
  constructor(
    message: string,
    readonly reply: SmtpReply | null,
    readonly host: string | null,
    readonly address: string | null,
  ) {
    super(message);
  }
}

function everyRecipient(job: DeliveryJob, outcome: RecipientOutcome): AttemptResult["outcomes"] {
  return job.recipients.map((recipient) => ({ recipient, outcome }));
}

function noConnection(job: DeliveryJob, outcome: RecipientOutcome): AttemptResult {
  return { outcomes: everyRecipient(job, outcome), remoteHost: null, remoteIp: null, tls: false };
}

function outcomeOf(reply: SmtpReply): RecipientOutcome {
  const verdict = classifyReply(reply);
  switch (verdict.kind) {
    case "delivered":
      return { kind: "delivered", reply };
    case "deferred":
      return { kind: "deferred", reply, reason: reply.text };
    case "bounced":
      return { kind: "bounced", reply, reason: reply.text, bounceType: verdict.bounceType };
  }
}

export function createSmtpTransport(options: SmtpTransportOptions): Transport {
  const maxConnections = options.maxConnectionsPerDestination ?? 10;
  const maxMessages = options.maxMessagesPerConnection ?? 100;
  const idleTimeoutMs = options.idleTimeoutMs ?? 5_000;
  const unreachableMemoryMs = options.unreachableMemoryMs ?? 60_000;
  const tls = options.tls ?? "opportunistic";
  const logger = options.logger;

  const pools = new Map<string, PoolEntry>();
  const inFlight = new Set<Promise<AttemptResult>>();
  /** "address:port" → until when it counts as unreachable. */
  const unreachableUntil = new Map<string, number>();
  let closing = false;

  function markUnreachable(address: string, port: number): void {
    const key = `${address}:${port}`;
    unreachableUntil.delete(key);
    unreachableUntil.set(key, Date.now() + unreachableMemoryMs);
    if (unreachableUntil.size > MAX_REMEMBERED_UNREACHABLE) {
      const oldest = unreachableUntil.keys().next().value;
      if (oldest !== undefined) unreachableUntil.delete(oldest);
    }
  }

  function isUnreachable(address: string, port: number): boolean {
    const until = unreachableUntil.get(`${address}:${port}`);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    unreachableUntil.delete(`${address}:${port}`);
    return false;
  }

  async function addressesOf(host: string, viaRelay: boolean): Promise<{ addresses: string[]; failure: string | null }> {
    if (net.isIP(host)) return { addresses: [host], failure: null };
    if (viaRelay) {
      try {
        const found = await lookup(host, { all: true });
        // IPv4 first, for the reasons given at MxResolver.resolveHostAddresses.
        return { addresses: found.sort((a, b) => a.family - b.family).map((a) => a.address), failure: null };
      } catch (err) {
        return { addresses: [], failure: `cannot resolve relay ${host}: ${(err as Error).message}` };
      }
    }
    const found = await options.resolver.resolveHostAddresses(host);
    if (found.kind === "addresses") return { addresses: found.addresses, failure: null };
    return { addresses: [], failure: found.kind === "none" ? `MX host ${host} has no address` : found.reason };
  }

  /**
   * Opens a session to the first host of the destination that answers, in MX preference order
   * (RFC 5321 §5.1). Addresses that failed lately are tried after all the others, not skipped:
   * a dead primary then costs nothing per connection, and is still used once it is the only one.
   */
  async function connect(destination: Destination): Promise<SmtpSession> {
    const later: Array<{ host: string; address: string }> = [];
    let attempts = 0;
    let last: DestinationUnreachable | null = null;

    const attempt = async (host: string, address: string): Promise<SmtpSession | null> => {
      attempts += 1;
      try {
        const session = await openSmtpSession({ host, address, port: destination.port, hostname: options.hostname, timeouts: options.timeouts, tls });
        logger?.debug({ host, address, port: destination.port, tls: session.tls }, "SMTP session opened");
        return session;
      } catch (err) {
        if (!(err instanceof SmtpSessionError)) throw err;
        markUnreachable(address, destination.port);
        logger?.warn({ host, address, port: destination.port, phase: err.phase, code: err.code }, `SMTP connection failed: ${err.message}`);
        last = new DestinationUnreachable(`${host} [${address}]:${destination.port}: ${err.message}`, err.reply, err.reply ? host : null, err.reply ? address : null);
        return null;
      }
    };

    for (const { host } of destination.hosts) {
      if (attempts >= MAX_ADDRESSES_PER_CONNECT) break;
      const { addresses, failure } = await addressesOf(host, destination.viaRelay);
      if (failure) last = new DestinationUnreachable(failure, null, null, null);
      for (const address of addresses) {
        if (isUnreachable(address, destination.port)) {
          later.push({ host, address });
          continue;
        }
        if (attempts >= MAX_ADDRESSES_PER_CONNECT) break;
        const session = await attempt(host, address);
        if (session) return session;
      }
    }
    for (const { host, address } of later) {
      if (attempts >= MAX_ADDRESSES_PER_CONNECT) break;
      const session = await attempt(host, address);
      if (session) return session;
    }
    const failure: DestinationUnreachable | null = last;
    const tried = destination.hosts.map((h) => h.host).join(", ");
    throw failure ?? new DestinationUnreachable(`no address to try for ${tried}`, null, null, null);
  }

  function destinationOf(route: Extract<Route, { kind: "hosts" }> | null): Destination {
    if (options.relay) {
      const { host, port } = options.relay;
      return { key: `relay ${host}:${port}`, hosts: [{ host, priority: 0 }], port, viaRelay: true };
    }
    const hosts = route?.hosts ?? [];
    // The host set names the destination: domains sharing MX hosts (every Google Workspace
    // domain, say) share one pool and its connection cap.
    const key = `mx ${hosts.map((h) => h.host).sort().join(",")}:${options.port}`;
    return { key, hosts, port: options.port, viaRelay: false };
  }

  function poolFor(destination: Destination): DestinationPool<SmtpSession> {
    const existing = pools.get(destination.key);
    if (existing) {
      existing.destination = destination;
      return existing.pool;
    }
    const entry: PoolEntry = {
      destination,
      pool: new DestinationPool<SmtpSession>({
        connect: () => connect(entry.destination),
        maxConnections,
        maxMessagesPerConnection: maxMessages,
        idleTimeoutMs,
        onEmpty: () => {
          if (pools.get(destination.key) === entry) pools.delete(destination.key);
        },
      }),
    };
    pools.set(destination.key, entry);
    return entry.pool;
  }

  function sessionResult(session: SmtpSession, outcomes: AttemptResult["outcomes"]): AttemptResult {
    return { outcomes, remoteHost: session.host, remoteIp: session.remoteIp, tls: session.tls };
  }

  async function deliverOnce(job: DeliveryJob): Promise<AttemptResult> {
    let route: Extract<Route, { kind: "hosts" }> | null = null;
    if (!options.relay) {
      const found = await options.resolver.resolve(job.domain);
      switch (found.kind) {
        case "null-mx":
          return noConnection(job, {
            kind: "bounced",
            reply: null,
            reason: "domain does not accept mail (null MX, RFC 7505)",
            bounceType: "BadEmailAddress",
          });
        case "nxdomain":
          return noConnection(job, {
            kind: "bounced",
            reply: null,
            reason: `domain ${job.domain} does not exist or has no MX or address record (RFC 5321 §5.1)`,
            bounceType: "DnsError",
          });
        case "temp-fail":
          return noConnection(job, { kind: "deferred", reply: null, reason: found.reason });
        case "hosts":
          route = found;
      }
    }
    const destination = destinationOf(route);

    // At most two tries: the second only when a reused session failed before any byte of the
    // message was sent, which is how a server closing an idle connection looks. Nothing can be
    // duplicated by it, and the job should not pay for the pool's stale connection.
    for (let attemptNo = 1; ; attemptNo += 1) {
      // Looked up on each try: a pool that emptied after the failed try has been dropped.
      const pool = poolFor(destination);
      let lease;
      try {
        lease = await pool.acquire();
      } catch (err) {
        const failure = err instanceof DestinationUnreachable ? err : null;
        const reason = failure ? `all hosts failed; last: ${failure.message}` : (err as Error).message;
        return {
          outcomes: everyRecipient(job, { kind: "deferred", reply: failure?.reply ?? null, reason }),
          remoteHost: failure?.host ?? null,
          remoteIp: failure?.address ?? null,
          tls: false,
        };
      }
      const { session, reused } = lease;
      let replies: RecipientReply[];
      try {
        if (session.needsReset) await session.reset();
        replies = await session.send(job.envelopeFrom, job.recipients, job.raw);
      } catch (err) {
        pool.release(session, false);
        if (!(err instanceof SmtpSessionError)) throw err;
        if (reused && !err.bodySent && attemptNo === 1) continue;
        logger?.warn({ host: session.host, address: session.remoteIp, phase: err.phase, code: err.code, bodySent: err.bodySent }, `SMTP session failed: ${err.message}`);
        const reason = `${session.host} [${session.remoteIp}]: ${err.message}`;
        return sessionResult(session, everyRecipient(job, { kind: "deferred", reply: err.reply, reason }));
      }
      pool.release(session, true);
      return sessionResult(session, replies.map(({ recipient, reply }) => ({ recipient, outcome: outcomeOf(reply) })));
    }
  }

  return {
    deliver(job: DeliveryJob): Promise<AttemptResult> {
      if (job.recipients.length === 0) return Promise.resolve(noConnection(job, { kind: "deferred", reply: null, reason: "" }));
      if (closing) {
        return Promise.resolve(noConnection(job, { kind: "deferred", reply: null, reason: "transport is closing" }));
      }
      const delivery = deliverOnce(job).finally(() => inFlight.delete(delivery));
      inFlight.add(delivery);
      return delivery;
    },

    async close(): Promise<void> {
      closing = true;
      await Promise.allSettled([...inFlight]);
      await Promise.all([...pools.values()].map(({ pool }) => pool.close()));
      pools.clear();
    },
  };
}
