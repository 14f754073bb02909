// The dashboard's sending domains. Domains belong to the account (src/sending-domains/), not to a
// workspace, so they are served under /api/app/domains to admins only: a viewer, who is granted
// workspaces, is refused (403). "Verify now" runs the domains service's own checks, which look
// up only the names the domain's records are published at: nothing here takes a host from the
// request.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { SendingDomain, SendingDomainsService } from "../../sending-domains/sending-domains.service.js";
import { NotPermitted } from "../../users/users.errors.js";
import { readInput } from "./dashboard.input.js";
import { DASHBOARD_BODY_LIMIT, sessionOfRequest } from "./dashboard.family.js";
import { DomainParams, type DomainRecordView, type DomainView, type DomainsAnswer } from "./domains.contract.js";

export interface DomainsRoutesDeps {
  domains: Pick<SendingDomainsService, "list" | "verifyAll">;
}

/** Every domain of the account on one page: accounts hold a handful. */
const LISTED = 500;

export function domainsRoutes(deps: DomainsRoutesDeps) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.get("/domains", async (request) => {
      requireAdmin(request);
      const page = await deps.domains.list({ count: LISTED, offset: 0 });
      const answer: DomainsAnswer = { domains: page.domains.map(toView) };
      return answer;
    });

    app.post("/domains/:id/verify", { bodyLimit: DASHBOARD_BODY_LIMIT }, async (request) => {
      requireAdmin(request);
      const { id } = readInput(DomainParams, request.params, "path");
      const answer: DomainView = toView(await deps.domains.verifyAll(id));
      return answer;
    });
  };
}

function requireAdmin(request: FastifyRequest): void {
  if (sessionOfRequest(request).user.role !== "admin") throw NotPermitted("Sending domains belong to the account: only admins see them.");
}

function toView(d: SendingDomain): DomainView {
  const records: DomainRecordView[] = [];
  if (d.activeKey) records.push({ purpose: "DKIM", ...d.activeKey.record, verified: d.activeKey.rsaVerifiedAt !== null });
  if (d.pendingKey) records.push({ purpose: "DKIM (pending)", ...d.pendingKey.record, verified: d.pendingKey.rsaVerifiedAt !== null });
  if (d.ed25519Enabled && d.activeKey) records.push({ purpose: "DKIM Ed25519", ...d.activeKey.ed25519Record, verified: d.activeKey.ed25519VerifiedAt !== null });
  records.push({ purpose: "SPF", ...d.records.spf, verified: d.spfVerifiedAt !== null });
  records.push({ purpose: "Return-Path", ...d.records.returnPath, verified: d.returnPathVerifiedAt !== null });
  records.push({ purpose: "DMARC", ...d.records.dmarc, verified: null });
  return {
    id: d.id,
    name: d.name,
    returnPathDomain: d.returnPathDomain,
    dkimVerified: d.dkimVerified,
    spfVerified: d.spfVerifiedAt !== null,
    returnPathVerified: d.returnPathVerifiedAt !== null,
    dkimUpdateStatus: d.dkimUpdateStatus,
    lastCheckedAt: d.lastCheckedAt,
    createdAt: d.createdAt,
    records,
  };
}
