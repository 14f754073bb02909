// The process's Prometheus metrics: one registry per running app (built by src/app/, passed to
// what counts), so two apps in one test process never mix their counts. Every label set is
// bounded: routes are the route patterns, destinations and workspaces go through BoundedLabels,
// the rest are closed sets. The list with meanings is docs/metrics.md; a test there checks that
// every metric registered here is listed.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { BoundedLabels, Children } from "./bounded-labels.js";

import type { Door } from "../messages/accept/submission.js";

/** How a message came in: the Postmark API (and the bulk API), SMTP submission, outreach to people (journeys, broadcasts, the App API's sends), or Posthorn's own system mail. */
export type { Door };

/** The outcomes a delivery row is written with. */
export type DeliveryOutcome = "delivered" | "deferred" | "bounced" | "expired" | "suppressed";

/** Workspaces that keep a label of their own; an installation with more sums the rest as "other". */
const MOST_WORKSPACES = 200;

/** HTTP methods Node parses are a closed set, but a route may be asked with any; others are "other". */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Seconds: API calls take ~1 ms to seconds (a 500-message batch). */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds: an attempt is a connection (or a reused one), a transaction, and the remote's answer, up to the SMTP timeouts. */
const ATTEMPT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Seconds: a journey timer is claimed within the runtime's poll (~1 s) when all is well; minutes mean a backlog or no worker. */
const LATENESS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** How a webhook attempt ended: posted (2xx), retrying (failed, to be tried again), failed (failed for good). */
export type WebhookAttemptOutcome = "posted" | "retrying" | "failed";

export class Metrics {
  readonly registry = new Registry();
  private readonly destinations: BoundedLabels;
  private readonly workspaces = new BoundedLabels(MOST_WORKSPACES);

  private readonly httpRequests = new Counter({ name: "posthorn_http_requests_total", help: "HTTP requests answered, by route pattern, method and status code.", labelNames: ["route", "method", "status"], registers: [this.registry] });
  private readonly httpSeconds = new Histogram({ name: "posthorn_http_request_duration_seconds", help: "Time from a request's arrival to its answer, by route pattern and method.", labelNames: ["route", "method"], buckets: HTTP_BUCKETS, registers: [this.registry] });
  private readonly accepted = new Counter({ name: "posthorn_messages_accepted_total", help: "Messages accepted (committed and answered 200/250), by door and workspace id.", labelNames: ["door", "workspace"], registers: [this.registry] });
  private readonly deliveries = new Counter({ name: "posthorn_deliveries_total", help: "Delivery outcomes recorded, by outcome and destination (recipient domain; the first ones seen, the rest \"other\").", labelNames: ["outcome", "destination"], registers: [this.registry] });
  private readonly attemptSeconds = new Histogram({ name: "posthorn_delivery_attempt_duration_seconds", help: "Time of one delivery attempt (one SMTP transaction to a destination, connection included), from the transport's call to its result.", buckets: ATTEMPT_BUCKETS, registers: [this.registry] });

  private readonly retentionRemoved = new Counter({ name: "posthorn_retention_removed_total", help: "Rows removed by retention, by kind: bodies (a message's body removed, its row kept), bounce_dumps (raw bounce reports of those messages), inbound_bodies (an inbound message's content removed, its row kept), events (event log rows every consumer had read), webhook_records (webhook posts deleted with their attempts).", labelNames: ["kind"], registers: [this.registry] });
  private readonly webhookAttempts = new Counter({ name: "posthorn_webhook_attempts_total", help: "Webhook posts made (outcome recorded), by kind and outcome: posted (2xx), retrying (failed, tried again later), failed (failed for good).", labelNames: ["kind", "outcome"], registers: [this.registry] });
  private readonly peopleOperations = new Counter({ name: "posthorn_people_operations_total", help: "People operations applied and committed (Track API, Pipeline API, App API), by op (track: an event) and workspace id.", labelNames: ["op", "workspace"], registers: [this.registry] });
  private readonly timerLateness = new Histogram({ name: "posthorn_journey_timer_lateness_seconds", help: "How long after its due time a journey run waiting on the clock (a delay, a window, a timeout) was claimed.", buckets: LATENESS_BUCKETS, registers: [this.registry] });

  private readonly httpChildren = new Children((route, method, status) => this.httpRequests.labels(route, method, status));
  private readonly httpTimeChildren = new Children((route, method) => this.httpSeconds.labels(route, method));
  private readonly acceptedChildren = new Children((door, workspace) => this.accepted.labels(door, workspace));
  private readonly deliveryChildren = new Children((outcome, destination) => this.deliveries.labels(outcome, destination));
  private readonly webhookChildren = new Children((kind, outcome) => this.webhookAttempts.labels(kind, outcome));
  private readonly peopleChildren = new Children((op, workspace) => this.peopleOperations.labels(op, workspace));
  /** Connection caps keep their own bounded set: their names (a limits entry, an MX host set, the relay) are not recipient domains. */
  private readonly connectionDestinations: BoundedLabels;

  constructor(options: { topDestinations: number }) {
    this.destinations = new BoundedLabels(options.topDestinations);
    this.connectionDestinations = new BoundedLabels(options.topDestinations);
    // Node's and the process's own: CPU, memory, event-loop lag, GC, handles (prom-client's names).
    collectDefaultMetrics({ register: this.registry });
  }

  /** One answered HTTP request; `route` is the route's pattern (never the raw URL), null when no route matched. */
  httpRequest(route: string | null, method: string, status: number, seconds: number): void {
    const r = route ?? "unmatched";
    const m = METHODS.has(method) ? method : "other";
    this.httpChildren.of(r, m, String(status)).inc();
    this.httpTimeChildren.of(r, m).observe(seconds);
  }

  /** `count` messages of one workspace accepted through `door`. */
  messagesAccepted(door: Door, workspaceId: string, count = 1): void {
    this.acceptedChildren.of(door, this.workspaces.of(workspaceId)).inc(count);
  }

  /** One delivery's outcome written, to a recipient `domain`. */
  deliveryRecorded(outcome: DeliveryOutcome, domain: string): void {
    this.deliveryChildren.of(outcome, this.destinations.of(domain)).inc();
  }

  /** One attempt's duration. */
  attemptTook(seconds: number): void {
    this.attemptSeconds.observe(seconds);
  }

  /** `count` rows of one kind removed by retention (src/retention/). */
  retentionRemovedRows(kind: "bodies" | "bounce_dumps" | "inbound_bodies" | "events" | "webhook_records", count: number): void {
    this.retentionRemoved.labels(kind).inc(count);
  }

  /** One webhook post whose outcome was recorded; `kind` is the webhook source's kind (a closed set). */
  webhookAttempted(kind: string, outcome: WebhookAttemptOutcome): void {
    this.webhookChildren.of(kind, outcome).inc();
  }

  /** `count` people operations of kind `op` committed for a workspace. */
  peopleApplied(op: string, workspaceId: string, count = 1): void {
    this.peopleChildren.of(op, this.workspaces.of(workspaceId)).inc(count);
  }

  /** A journey run waiting on the clock was claimed `seconds` after it was due. */
  journeyTimerLate(seconds: number): void {
    this.timerLateness.observe(Math.max(0, seconds));
  }

  /**
   * The SMTP connections this process has open, per connection cap, read from the transport when
   * scraped (it lives in the transport thread). Caps beyond the bound are summed as "other".
   */
  smtpConnections(read: () => Promise<ReadonlyArray<{ destination: string; open: number }>>): void {
    const bound = this.connectionDestinations;
    this.gauge({
      name: "posthorn_smtp_connections_open",
      help: "Outbound SMTP connections open in this process, by destination (a connection cap: a limits entry, an MX host set or the relay; the first ones seen, the rest \"other\").",
      labelNames: ["destination"] as const,
      async collect() {
        this.reset();
        const open = await read().catch(() => null);
        if (!open) return;
        const summed = new Map<string, number>();
        for (const c of open) {
          const label = bound.of(c.destination);
          summed.set(label, (summed.get(label) ?? 0) + c.open);
        }
        for (const [destination, n] of summed) this.set({ destination }, n);
      },
    });
  }

  /** A gauge read when scraped (the backlog gauges, backlog.gauges.ts). */
  gauge<L extends string>(options: { name: string; help: string; labelNames?: readonly L[]; collect: (this: Gauge<L>) => Promise<void> }): Gauge<L> {
    return new Gauge<L>({ ...options, registers: [this.registry] });
  }

  /** The exposition text (Prometheus text format 0.0.4) and its content type. */
  async scrape(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
