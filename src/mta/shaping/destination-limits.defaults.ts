// The limits Posthorn ships for the big mailbox providers, in the same form as the operator's
// POSTHORN_DESTINATIONS_FILE (which merges over these, field by field, by entry name).
//
// Where the numbers come from. No provider publishes a connection count or a rate; they publish
// what they refuse (the 421 / 4.7.x texts in throttle.ts). The values below are the ones the
// KumoMTA project ships in assets/policy-extras/shaping.toml, collected from the providers'
// postmaster pages and, where marked there, given by the provider itself. They are deliberately
// modest: a new sending IP's reputation is built by sending steadily, not by opening many
// connections, and the adaptive throttle (throttle.ts) lowers them further when told to.
//
// MX patterns make every domain hosted at a provider share its entry: a Workspace domain whose MX
// is aspmx.l.google.com counts against "google" together with gmail.com. Such an entry's
// connection cap is one cap for all of them (the connection slots are keyed by entry name).
import type { LimitsSpec } from "./destination-limits.js";

export const SHIPPED_DESTINATION_LIMITS: LimitsSpec = {
  destinations: {
    // Gmail and Google Workspace share MX hosts and filtering infrastructure
    // (support.google.com/mail/answer/81126). KumoMTA: 5 connections for the provider, 50
    // messages per connection. Gmail answers "421-4.7.28 ... unusual rate" when pushed.
    google: {
      domains: ["gmail.com", "googlemail.com"],
      mx: ["*.google.com", "*.googlemail.com"],
      maxConnections: 5,
      maxMessagesPerConnection: 50,
    },
    // Outlook.com consumer mailboxes (hotmail, live, msn), served by the olc edge
    // (sendersupport.olc.protection.outlook.com/pm/Policies). KumoMTA: 5 and 50.
    outlook: {
      domains: ["outlook.com", "hotmail.com", "live.com", "msn.com"],
      mx: ["*.olc.protection.outlook.com"],
      maxConnections: 5,
      maxMessagesPerConnection: 50,
    },
    // Microsoft 365 tenants: a separate edge from the consumer one, hence a separate cap;
    // *.mx.microsoft is the DANE-enabled MX set Microsoft introduced in 2024. KumoMTA: 5 and 50.
    office365: {
      mx: ["*.mail.protection.outlook.com", "*.mx.microsoft"],
      maxConnections: 5,
      maxMessagesPerConnection: 50,
    },
    // Yahoo, AOL and their domains, all behind *.yahoodns.net (senders.yahooinc.com/best-practices).
    // 20 messages per connection was given by Yahoo to KumoMTA. A "[TSS04] temporarily deferred
    // due to unexpected volume or user complaints" asks for hours, not minutes: KumoMTA suspends
    // the destination for 2 hours, so the pause here starts at 30 minutes and grows to 2 hours.
    yahoo: {
      domains: ["yahoo.com", "ymail.com", "rocketmail.com", "aol.com"],
      mx: ["*.yahoodns.net"],
      maxMessagesPerConnection: 20,
      throttle: { pause: "30m", maxPause: "2h" },
    },
    // iCloud (support.apple.com/en-us/102322). KumoMTA: 10 connections, 5 messages each.
    apple: {
      domains: ["icloud.com", "me.com", "mac.com"],
      mx: ["*.icloud.com"],
      maxConnections: 10,
      maxMessagesPerConnection: 5,
    },
    // Comcast, as provided by Comcast to KumoMTA (spa.xfinity.com/postmaster): 25 connections,
    // 1,000 messages each, and TLS required.
    "comcast.net": { maxConnections: 25, maxMessagesPerConnection: 1000, requireTls: true },
    // Orange (messagerie.orange.fr/postmaster.html): 3 connections.
    "orange.fr": { domains: ["orange.fr", "wanadoo.fr"], maxConnections: 3 },
  },
};
