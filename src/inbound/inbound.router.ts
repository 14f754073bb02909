// Routing of the inbound MX listener: which recipients are ours, and where their copy goes.
// Reports (bounces and complaints) come to VERP return paths, or to postmaster@/abuse@/fbl@ of a
// return-path domain (feedback loops often use a fixed address); inbound streams are reached at
// <hash>[+mailbox]@<shared inbound domain> or at a workspace's own inbound domain; the mailto:
// form of an unsubscribe link, unsub+<signed token>@<return-path domain>, unsubscribes its
// recipient (the token's MAC is the proof: a forged one is refused at RCPT like any unknown
// address). Everything else is not ours.
import type { Workspace } from "../workspaces/workspaces.service.js";
import type { SendingDomainsService } from "../sending-domains/sending-domains.service.js";
import type { BounceIntakeService } from "../bounces/bounce-intake.service.js";
import type { InboundService } from "./inbound.service.js";
import type { Authenticator } from "./authentication.js";

export type InboundRouteKind = { kind: "report" } | { kind: "unsubscribe" } | { kind: "inbound"; workspace: Workspace };

/** The mailto: form of one-click unsubscribe links (src/tracking/): a signed token as the local part. */
export interface MailUnsubscriber {
  isUnsubscribeMailbox(localPart: string): boolean;
  unsubscribeByMail(localPart: string): Promise<unknown>;
}

/** What the MX listener asks of the domain: whether a recipient is ours, and where its copy goes. */
export interface ReceivedMailRouter {
  /** The route for an envelope recipient, or null when the address is not ours. */
  route(recipient: string): Promise<InboundRouteKind | null>;
  /** Stores the message for each accepted recipient; resolves once all are committed. */
  deliver(input: { raw: Buffer; mailFrom: string; recipients: Array<{ address: string; route: InboundRouteKind }>; remoteAddress: string; helo: string }): Promise<void>;
}

/** Mailboxes of a return-path domain that take reports without a VERP address. */
const REPORT_MAILBOXES = new Set(["postmaster", "abuse", "fbl"]);

export function createInboundRouter(deps: {
  /** Return-path domains of the installation itself (POSTHORN_RETURN_PATH_DOMAIN, POSTHORN_HOSTNAME). */
  ownReturnPathDomains: string[];
  domains: Pick<SendingDomainsService, "isReturnPathDomain">;
  bounceIntake: BounceIntakeService;
  inbound: InboundService;
  authenticator: Authenticator;
  unsubscriber?: MailUnsubscriber;
}): ReceivedMailRouter {
  const { domains, bounceIntake, inbound, authenticator, unsubscriber } = deps;
  const ownDomains = new Set(deps.ownReturnPathDomains.map((d) => d.toLowerCase()));
  const isReturnPathDomain = async (domain: string) => ownDomains.has(domain) || (await domains.isReturnPathDomain(domain));

  return {
    async route(recipient) {
      const at = recipient.lastIndexOf("@");
      if (at <= 0) return null;
      const local = recipient.slice(0, at).toLowerCase();
      const domain = recipient.slice(at + 1).toLowerCase();
      if ((bounceIntake.isVerpAddress(recipient) || REPORT_MAILBOXES.has(local)) && (await isReturnPathDomain(domain))) return { kind: "report" };
      if (unsubscriber?.isUnsubscribeMailbox(local) && (await isReturnPathDomain(domain))) return { kind: "unsubscribe" };
      const workspace = await inbound.route(recipient);
      return workspace ? { kind: "inbound", workspace } : null;
    },

    async deliver({ raw, mailFrom, recipients, remoteAddress, helo }) {
      // SPF, DKIM and DMARC once per message, and only when a copy goes to an inbound stream.
      const auth = recipients.some((r) => r.route.kind === "inbound") ? await authenticator.check({ raw, ip: remoteAddress, helo, sender: mailFrom }) : null;
      for (const { address, route } of recipients) {
        if (route.kind === "report") await bounceIntake.receive(raw, address);
        else if (route.kind === "unsubscribe") await unsubscriber!.unsubscribeByMail(address.slice(0, address.lastIndexOf("@")));
        else await inbound.receive({ workspace: route.workspace, mailFrom, recipient: address, raw, auth: auth! });
      }
    },
  };
}
