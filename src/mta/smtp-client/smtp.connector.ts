// Opening one SMTP session to a destination: its hosts in MX preference order (RFC 5321 §5.1),
// each host's addresses, and a memory of addresses that failed lately so a dead primary costs
// nothing per connection. What to do when every host fails is the transport's business; this
// only reports the failure (DestinationUnreachable) and each refusal that came with a reply.
import { lookup } from "node:dns/promises";
import net from "node:net";
import type { SmtpReply } from "../mta.types.js";
import type { MxHost, MxResolver } from "../routing/mx.resolver.js";
import { openSmtpSession, SmtpSessionError, type SmtpSession, type SmtpTimeouts, type TlsPolicy } from "./smtp.session.js";

export interface ConnectorLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface ConnectorOptions {
  hostname: string;
  resolver: MxResolver;
  /** How long an address that refused or timed out is tried after the others. */
  unreachableMemoryMs: number;
  /** Trust anchors replacing the system's CAs in certificate checks; tests only. */
  tlsCa?: string | Buffer | Array<string | Buffer>;
  logger?: ConnectorLogger;
}

/** Where to connect: the hosts of a route (or the relay), in the order to try them. */
export interface ConnectTarget {
  hosts: MxHost[];
  port: number;
  /** The relay is resolved with the system resolver (/etc/hosts included), MX hosts through DNS. */
  viaRelay: boolean;
}

export interface ConnectRequest {
  tls: TlsPolicy;
  timeouts: SmtpTimeouts;
  /** Told of each host that answered with a refusal (a 421 greeting, say), before the next is tried. */
  onRefusal?: (reply: SmtpReply, host: string) => void;
}

/** No host of the destination could be reached; carries the last failure. */
export class DestinationUnreachable extends Error {
  constructor(
    message: string,
    readonly reply: SmtpReply | null,
    readonly host: string | null,
    readonly address: string | null,
    /** The last session error's code (ECONNREFUSED, ETIMEDOUT, ETLS...), null for DNS failures. */
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = "DestinationUnreachable";
  }
}

/** Postfix's smtp_mx_address_limit: addresses tried for one connection before giving up. */
const MAX_ADDRESSES_PER_CONNECT = 5;
/** Bound on remembered unreachable addresses. */
const MAX_REMEMBERED_UNREACHABLE = 10_000;

export function createConnector(options: ConnectorOptions) {
  /** "address:port" → until when it counts as unreachable. */
  const unreachableUntil = new Map<string, number>();

  function markUnreachable(address: string, port: number): void {
    const key = `${address}:${port}`;
    unreachableUntil.delete(key);
    unreachableUntil.set(key, Date.now() + options.unreachableMemoryMs);
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
   * Opens a session to the first host that answers, in preference order. Addresses that failed
   * lately are tried after all the others, not skipped: a dead primary then costs nothing per
   * connection, and is still used once it is the only one left.
   */
  async function connect(target: ConnectTarget, request: ConnectRequest): Promise<SmtpSession> {
    const later: Array<{ host: string; address: string }> = [];
    let attempts = 0;
    let last: DestinationUnreachable | null = null;

    const attempt = async (host: string, address: string): Promise<SmtpSession | null> => {
      attempts += 1;
      try {
        const session = await openSmtpSession({
          host,
          address,
          port: target.port,
          hostname: options.hostname,
          timeouts: request.timeouts,
          tls: request.tls,
          ca: options.tlsCa,
        });
        options.logger?.debug({ event: "mta.session.opened", host, address, port: target.port, tls: session.tls, verified: session.tlsVerified }, "SMTP session opened");
        return session;
      } catch (err) {
        if (!(err instanceof SmtpSessionError)) throw err;
        markUnreachable(address, target.port);
        options.logger?.warn({ event: "mta.connection.failed", host, address, port: target.port, phase: err.phase, code: err.code }, `SMTP connection failed: ${err.message}`);
        last = new DestinationUnreachable(`${host} [${address}]:${target.port}: ${err.message}`, err.reply, err.reply ? host : null, err.reply ? address : null, err.code);
        if (err.reply) request.onRefusal?.(err.reply, host);
        return null;
      }
    };

    for (const { host } of target.hosts) {
      if (attempts >= MAX_ADDRESSES_PER_CONNECT) break;
      const { addresses, failure } = await addressesOf(host, target.viaRelay);
      if (failure) last = new DestinationUnreachable(failure, null, null, null);
      for (const address of addresses) {
        if (isUnreachable(address, target.port)) {
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
    const tried = target.hosts.map((h) => h.host).join(", ");
    throw failure ?? new DestinationUnreachable(`no address to try for ${tried}`, null, null, null);
  }

  return { connect };
}
