// The domains no workspace may take as its inbound domain, because mail to them is the server's
// own: its host name (mailer-daemon@, the Message-ID domain), its return-path domain (VERP
// bounces, postmaster@, abuse@, fbl@), the shared inbound domain, and every sending domain and
// return-path domain registered (a sending domain's replies are its owner's; use a subdomain such
// as reply.example.com for inbound mail).
import type { SendingDomainsService } from "../sending-domains/sending-domains.service.js";

export function reservedDomains(deps: {
  hostname: string;
  returnPathDomain: string;
  inboundDomain: string;
  domains: Pick<SendingDomainsService, "isSendingOrReturnPath">;
}): (domain: string) => Promise<string | null> {
  const own = new Map<string, string>([
    [deps.inboundDomain.toLowerCase(), "it is the shared inbound domain; use the inbound address instead"],
    [deps.returnPathDomain.toLowerCase(), "it is this server's return-path domain"],
    [deps.hostname.toLowerCase(), "it is this server's host name"],
  ]);
  return async (domain) => {
    const name = domain.toLowerCase().replace(/\.$/, "");
    return own.get(name) ?? ((await deps.domains.isSendingOrReturnPath(name)) ? "it is a sending or return-path domain of this server" : null);
  };
}
