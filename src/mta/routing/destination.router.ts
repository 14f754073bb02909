// Where a delivery goes and on what terms: the relay, or the recipient domain's MX hosts (RFC 5321
// §5.1) narrowed by its MTA-STS policy (RFC 8461); the limits entry that applies; and what the job
// needs of a session (TLS, verified TLS). Domains whose route cannot be used end here with their
// outcome: null MX and NXDOMAIN bounce, DNS trouble defers.
import type { AttemptResult, DeliveryJob, RecipientOutcome, SmtpReply } from "../mta.types.js";
import type { MxResolver } from "./mx.resolver.js";
import { mxMatchesPolicy, type MtaStsResolver } from "./mta-sts.js";
import type { DestinationLimits } from "../shaping/destination-limits.js";
import type { DestinationLimitsSource } from "../shaping/destination-limits.loader.js";
import { classifyReply } from "../../bounces/reply.classifier.js";
import type { ConnectTarget, DestinationUnreachable } from "../smtp-client/smtp.connector.js";
import type { TlsPolicy } from "../smtp-client/smtp.session.js";

/** What a job needs of a session: any, TLS (requireTls), or TLS verified for the MX (MTA-STS). */
export type Need = "any" | "encrypt" | "verify";

export interface Placement {
  /** The ready queue: one per cap and MX host set (or the relay). */
  siteKey: string;
  /** The hosts, for messages. */
  label: string;
  target: ConnectTarget;
  /** What the connection cap, rate and throttle belong to: "limits:<entry>", or the host set. */
  capKey: string;
  entry: string | null;
  limits: DestinationLimits;
  need: Need;
}

export interface RouterOptions {
  relay: { host: string; port: number } | null;
  port: number;
  resolver: MxResolver;
  mtaSts: MtaStsResolver | null;
  limits: DestinationLimitsSource;
  /** The transport-wide TLS policy, the floor of every job's need. */
  tls: TlsPolicy;
}

const NEED_RANK: Record<Need, number> = { any: 0, encrypt: 1, verify: 2 };
const stronger = (a: Need, b: Need): Need => (NEED_RANK[a] >= NEED_RANK[b] ? a : b);

export function everyRecipient(job: DeliveryJob, outcome: RecipientOutcome): AttemptResult["outcomes"] {
  return job.recipients.map((recipient) => ({ recipient, outcome }));
}

export function noConnection(job: DeliveryJob, outcome: RecipientOutcome): AttemptResult {
  return { outcomes: everyRecipient(job, outcome), remoteHost: null, remoteIp: null, tls: false };
}

/** Every recipient deferred without a session, with the last connection failure if there was one. */
export function deferredAll(job: DeliveryJob, reason: string, failure: DestinationUnreachable | null = null): AttemptResult {
  return {
    outcomes: everyRecipient(job, { kind: "deferred", reply: failure?.reply ?? null, reason }),
    remoteHost: failure?.host ?? null,
    remoteIp: failure?.address ?? null,
    tls: false,
  };
}

export function outcomeOf(reply: SmtpReply): RecipientOutcome {
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

/** Returns place(job): where the job goes, or the outcome when it goes nowhere. */
export function createDestinationRouter(options: RouterOptions): (job: DeliveryJob) => Promise<Placement | AttemptResult> {
  const baseNeed: Need = options.tls === "verify" ? "verify" : options.tls === "encrypt" ? "encrypt" : "any";

  return async function place(job: DeliveryJob): Promise<Placement | AttemptResult> {
    const table = options.limits.current();
    if (options.relay) {
      // The smarthost is the destination: default limits, no MX, no MTA-STS (the relay applies it).
      const { host, port } = options.relay;
      const key = `relay ${host}:${port}`;
      const need = stronger(baseNeed, table.defaults.requireTls ? "encrypt" : "any");
      return { siteKey: key, label: key, target: { hosts: [{ host, priority: 0 }], port, viaRelay: true }, capKey: key, entry: null, limits: table.defaults, need };
    }
    const [route, policy] = await Promise.all([options.resolver.resolve(job.domain), options.mtaSts ? options.mtaSts.policyFor(job.domain) : null]);
    switch (route.kind) {
      case "null-mx":
        // RFC 7505 §4.2: 5.1.10, "recipient address has null MX".
        return noConnection(job, { kind: "bounced", reply: null, reason: "domain does not accept mail (null MX, RFC 7505)", bounceType: "BadEmailAddress", status: "5.1.10" });
      case "nxdomain":
        return noConnection(job, {
          kind: "bounced",
          reply: null,
          reason: `domain ${job.domain} does not exist or has no MX or address record (RFC 5321 §5.1)`,
          bounceType: "DnsError",
          // RFC 3463 X.1.2, "bad destination system address": what Postfix reports for it too.
          status: "5.1.2",
        });
      case "temp-fail":
        // RFC 3463 X.4.3, "directory server failure" (DNS).
        return noConnection(job, { kind: "deferred", reply: null, reason: route.reason, status: "4.4.3" });
      case "hosts":
        break;
    }
    let hosts = route.hosts;
    let need = baseNeed;
    if (policy?.mode === "enforce") {
      // RFC 8461 §4.1: only MX hosts the policy names are candidates, and only over TLS with a
      // certificate valid for the MX name (§4.2).
      hosts = hosts.filter((h) => mxMatchesPolicy(h.host, policy.mx));
      if (hosts.length === 0) {
        const all = route.hosts.map((h) => h.host).join(", ");
        return deferredAll(job, `no MX host of ${job.domain} (${all}) matches its MTA-STS policy (mx: ${policy.mx.join(", ")}), RFC 8461 §4.1`);
      }
      need = "verify";
    }
    const applied = table.lookup(job.domain, hosts.map((h) => h.host));
    if (applied.limits.requireTls) need = stronger(need, "encrypt");
    const hostSet = `${hosts.map((h) => h.host).sort().join(",")}:${options.port}`;
    // Domains sharing an MX host set share a ready queue; under a limits entry, the entry's cap
    // spans all its host sets, so the queue is per entry and host set.
    const capKey = applied.entry ? `limits:${applied.entry}` : `mx ${hostSet}`;
    return {
      siteKey: applied.entry ? `${capKey} mx ${hostSet}` : capKey,
      label: hosts.map((h) => h.host).join(", "),
      target: { hosts, port: options.port, viaRelay: false },
      capKey,
      entry: applied.entry,
      limits: applied.limits,
      need,
    };
  };
}
